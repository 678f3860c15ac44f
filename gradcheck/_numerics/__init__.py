"""Finite differences that know nothing of users or reports.

* :mod:`.scales`: how far a step moves each entry, and the precision a gradient carries.
* :mod:`.noise`: the loss's rounding noise σ, from a difference table on a short line.
* :mod:`.stencil`: five loss values along a line -> five derivative estimates -> a verdict.
* :mod:`.steps`: which step to try next, and one verdict from several attempts.
* :mod:`.probe`: a line through the parameters (one entry, or a direction) probed at the
  steps :mod:`.steps` picks.

Every rule is derived in docs/how-it-decides.md.
"""
