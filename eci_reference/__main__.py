"""``python -m eci_reference`` and the ``eci-reference`` console script (see ``eci_reference.app``)."""

from __future__ import annotations

import sys

from eci_reference.app import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
