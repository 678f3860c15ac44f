"""Finite differences that know nothing of users or reports.

* ``scales.py``: how far a step moves each entry, and the precision a gradient carries.
* ``noise.py``: the loss's rounding noise σ, from a difference table on a short line.
* ``stencil.py``: five loss values along a line -> five derivative estimates -> a verdict.
* ``steps.py``: which step to try next, and one verdict from several attempts.
* ``probe.py``: a line through the parameters (one entry, or a direction) probed at the
  steps ``steps.py`` picks.

Every rule is derived in docs/how-it-decides.md.
"""
