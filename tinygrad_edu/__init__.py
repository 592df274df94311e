"""tinygrad_edu: a scalar autograd engine for learning backpropagation."""

from tinygrad_edu.engine import Value, dot, mean, sum, topological_order
from tinygrad_edu.gradient_check import GradcheckError, gradcheck

__all__ = ["GradcheckError", "Value", "dot", "gradcheck", "mean", "sum", "topological_order"]
__version__ = "0.1.0"
