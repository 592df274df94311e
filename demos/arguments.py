"""What the demos share: a parser whose errors are one line, named as the demo was run.

The demos sit on top of the library, beside the command line: they import the
library and this module, never the command line's internals.
"""

from __future__ import annotations

import argparse
from typing import Any, Optional

# The name a demo's parser shows in its usage line while `tinygrad-edu demo NAME` runs it
# (`tinygrad-edu demo two_paths`); None when the demo runs as a script of its own.
program_name: Optional[str] = None


class DemoParser(argparse.ArgumentParser):
    """An ArgumentParser for a demo: errors are one line (`... error: ...`), exit code 2."""

    def __init__(self, *args: Any, **options: Any) -> None:
        if program_name is not None and not args and "prog" not in options:
            options["prog"] = program_name
        super().__init__(*args, **options)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message}\n")


__all__ = ["DemoParser", "program_name"]
