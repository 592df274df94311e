"""tinygrad_edu: a scalar autograd engine for learning backpropagation."""

from tinygrad_edu.engine import Value, dot, mean, sum, topological_order

__all__ = ["Value", "dot", "mean", "sum", "topological_order"]
__version__ = "0.1.0"
