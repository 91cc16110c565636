"""`python -m eci_reference.runtime`: run the reference implementation."""

import sys

from eci_reference.runtime.app import main

if __name__ == "__main__":
    sys.exit(main())
