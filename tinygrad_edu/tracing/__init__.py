"""Trace and replay: a graph recorded once, then run again from new leaf values, fast.

- `recording`: a graph written down as steps that name their inputs by position
- `program`: the front end, `trace()`, `Program` (call, check, feed), the backends' registry
- `python_backend`: the graph as one straight-line Python function (readable: `program.source`)
- `tape`: nodes as a list of entries run with floats (a big graph before it is compiled, and
  the numpy backend's nodes that share no array operation)
- `numpy_backend`: the graph grouped into array operations (the only module that imports numpy)
- `torch_source`: the forward pass written as a PyTorch function (`program.torch_source`),
  one line per array operation of the numpy backend; it writes text and imports no torch

Every backend reads each op's forward and derivative from the engine's table of
primitives; none has code of its own for an op.
"""

from tinygrad_edu.tracing.program import BACKENDS, Program, TraceMismatch, trace
from tinygrad_edu.tracing.python_backend import literal, python_source, variable_names
from tinygrad_edu.tracing.recording import Recording, Step, record

# Shown where they are imported from, as in a traceback: tinygrad_edu.tracing.TraceMismatch.
TraceMismatch.__module__ = Program.__module__ = __name__

__all__ = ["BACKENDS", "Program", "Recording", "Step", "TraceMismatch", "literal",
           "python_source", "record", "trace", "variable_names"]
