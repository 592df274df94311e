"""`python -m tinygrad_edu` runs the command line, the same as `tinygrad-edu`."""

import sys

from tinygrad_edu.cli import main

sys.exit(main())
