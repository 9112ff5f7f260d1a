"""``python -m exactseq.cli``: the same as the ``exactseq`` command."""
import sys

from . import main

if __name__ == "__main__":
    sys.exit(main())
