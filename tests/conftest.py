"""Shared test settings: a deterministic hypothesis profile, so CI never flakes on a new seed."""

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("ci")


def give_tensors_the_engines_functions(monkeypatch, torch) -> None:
    """Let testing.expressions() run on PyTorch tensors: every function of the engine's table
    that a tensor has no method for gets one, from torch.nn.functional by the same name or
    from TENSOR_FUNCTIONS; an op with neither fails here, by name, not silently."""
    from tinygrad_edu import engine

    for name in engine.FUNCTIONS:
        if hasattr(torch.Tensor, name):
            continue
        function = TENSOR_FUNCTIONS.get(name) or getattr(torch.nn.functional, name, None)
        assert function is not None, (f"the PyTorch cross-checks have no counterpart for the "
                                      f"engine's op {name!r}: add one to TENSOR_FUNCTIONS")
        # a plain function: as a method of the class it must take the tensor as its argument
        monkeypatch.setattr(torch.Tensor, name, lambda t, f=function: f(t), raising=False)


# The engine's functions that PyTorch spells otherwise: relu's derivative, `step`, is 1 for
# x > 0, else 0, with derivative 0 in both engines.
TENSOR_FUNCTIONS = {"step": lambda t: t * 0.0 + (t > 0).to(t.dtype)}
