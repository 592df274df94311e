"""The lecture, runnable: one script per part (see README.md beside this file).

Installed as `tinygrad_edu.demos`; `tinygrad-edu demo NAME` runs one.
"""
