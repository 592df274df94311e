"""Shared test settings: a deterministic hypothesis profile, so CI never flakes on a new seed."""

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("ci")
