"""The lecture's worked example (§5), shared by the tests that draw it."""

from tinygrad_edu import Value


def lecture_graph() -> Value:
    """d = 2b, e = a + d, L = c·e with a = 3, b = 1, c = -2; all labelled, before backward."""
    a, b, c = Value(3.0, label="a"), Value(1.0, label="b"), Value(-2.0, label="c")
    d = 2 * b
    d.label = "d"
    e = a + d
    e.label = "e"
    L = c * e
    L.label = "L"
    return L
