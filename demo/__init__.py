"""``make demo``: the pipeline synthesized, stood up on loopback and replaying an attack (see cli.py)."""
