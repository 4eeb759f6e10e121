"""``python -m churnlib.serve MODEL_REF ...``: the same as ``churnlib serve``."""

from __future__ import annotations

import sys

from churnlib.serve._cli import main

if __name__ == "__main__":
    sys.exit(main())
