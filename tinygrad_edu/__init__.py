"""tinygrad_edu: a scalar autograd engine for learning backpropagation."""

from tinygrad_edu.engine import Value, dot, grad, mean, sum, topological_order  # noqa: F401
from tinygrad_edu.gradient_check import GradcheckError, gradcheck

# sum, mean and dot are importable by name, but `from tinygrad_edu import *` leaves
# Python's builtin sum alone.
__all__ = ["GradcheckError", "Value", "grad", "gradcheck", "topological_order"]
__version__ = "0.1.0"
