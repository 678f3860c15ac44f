"""Imported first by the sweep scripts: one BLAS thread, this checkout on sys.path, and a
line saying which ``gradcheck`` and ``reference_nets`` run.

A checkout given in PYTHONPATH (a worktree with a change) comes before this one.
"""

import os

for _var in (
    "OPENBLAS_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
):
    os.environ[_var] = "1"

# _common puts this checkout on sys.path, after anything on PYTHONPATH (a worktree).
import _common  # noqa: E402, F401

# isort: split
import gradcheck  # noqa: E402

print(f"gradcheck.__file__ = {gradcheck.__file__}", flush=True)

import reference_nets  # noqa: E402

print(f"reference_nets.__file__ = {reference_nets.__file__}", flush=True)
