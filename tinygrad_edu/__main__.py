"""`python -m tinygrad_edu` runs the command line, the same as `tinygrad-edu`."""

from tinygrad_edu.cli import entry

entry()
