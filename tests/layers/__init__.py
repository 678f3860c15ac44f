"""The cs231n-style layer family, written for gradcheck's own tests and benchmarks.

Each module holds correct NumPy layers (``*_forward(...) -> (out, cache)``, or several
outputs before the cache, and ``*_backward(dout, cache) -> gradients``) next to backward
functions with realistic planted bugs, named after the bug. ``cases.py`` lists every layer
with inputs at the course notebooks' sizes.
"""
