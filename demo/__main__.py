"""``python -m demo`` (what ``scripts/demo`` runs)."""

import sys

from .launcher import main

if __name__ == "__main__":
    sys.exit(main())
