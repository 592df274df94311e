"""tinygrad_edu: a scalar autograd engine for learning backpropagation."""

from tinygrad_edu.engine import Value, dot, mean, sum, topological_order
from tinygrad_edu.gradient_check import GradcheckError, gradcheck
from tinygrad_edu.tracing import Program, TraceMismatch, trace

__all__ = ["GradcheckError", "Program", "TraceMismatch", "Value", "dot", "gradcheck", "mean",
           "sum", "topological_order", "trace"]
__version__ = "0.1.0"
