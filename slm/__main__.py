"""python -m slm: the command line (see slm.cli)."""
import sys

from .cli import main

sys.exit(main())
