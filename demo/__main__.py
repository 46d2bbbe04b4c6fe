"""``python -m demo`` (``make demo``): synthesize, then replay the attack through the pipeline on loopback."""

from __future__ import annotations

import sys

from demo.cli import main

if __name__ == "__main__":
    sys.exit(main())
