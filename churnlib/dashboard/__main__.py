"""``python -m churnlib.dashboard [--workdir DIR] [--host H] [--port N]``."""

import sys

from churnlib.dashboard._cli import main

sys.exit(main())
