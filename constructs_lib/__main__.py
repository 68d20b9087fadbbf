"""``python -m constructs_lib ...``: see ``constructs_lib.cli``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
