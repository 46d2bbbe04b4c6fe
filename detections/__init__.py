"""Detection engine: a CloudWatch Logs filter-pattern evaluator, the catalogue and a CloudTrail replay.

Pure standard library, so the stacks, the forwarder Lambda and the tests can all import it.
"""
