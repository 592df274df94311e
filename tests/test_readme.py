"""The README's REPL examples run, and print what the README says they print."""

import doctest
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def test_readme_examples_print_what_the_readme_shows():
    failures, attempted = doctest.testfile(str(README), module_relative=False,
                                           optionflags=doctest.ELLIPSIS)
    assert attempted > 0, "the README should have REPL examples"
    assert failures == 0
