"""gradcheck: trustworthy, readable checks for hand-written NumPy backpropagation.

>>> import gradcheck
>>> report = gradcheck.check_gradients(loss, grads, params)   # doctest: +SKIP
>>> print(report)                                             # doctest: +SKIP

Public names:

* :func:`check_gradients`: compare gradients with finite differences; name what is wrong.
* :func:`check_layer`: the same for a ``forward -> (out, cache)`` / ``backward(dout, cache)``
  layer.
* :func:`checked_backward`: a decorator that checks a backward function's gradient shapes
  on every call and its values by finite differences when its policy says so.
* :func:`shape_trace`: run a function once and show every array it makes, with shapes in
  named dimensions, next to the line that made it.
* :class:`GradientReport`, :class:`ParameterResult`, :class:`Diagnosis`: what a check
  returns. :class:`GradientMismatch`, :class:`GradientShapeError`,
  :class:`AnnotationMismatch`: what fails.

``gradcheck.strategies`` (hypothesis) is imported on its own, so hypothesis stays optional.
"""

import sys as _sys
from importlib import import_module as _import_module
from typing import TYPE_CHECKING as _TYPE_CHECKING

if _TYPE_CHECKING:
    from gradcheck._check.check import check_gradients
    from gradcheck._check.layer import check_layer
    from gradcheck._check.report import (
        DIAGNOSIS_KINDS,
        Diagnosis,
        DiagnosisKind,
        GradientReport,
        ParameterResult,
    )
    from gradcheck._integrations.decorator import CheckedFunction, CheckState, checked_backward
    from gradcheck._shapes.trace import ShapeTrace, TraceLine, shape_trace
    from gradcheck.errors import AnnotationMismatch, GradientMismatch, GradientShapeError

# Names load on first use (PEP 562), so `import gradcheck` and the pytest plugin, which
# pytest imports in every run where gradcheck is installed, cost nothing until used.
_HOME = {
    "check_gradients": "gradcheck._check.check",
    "check_layer": "gradcheck._check.layer",
    "DIAGNOSIS_KINDS": "gradcheck._check.report",
    "Diagnosis": "gradcheck._check.report",
    "DiagnosisKind": "gradcheck._check.report",
    "GradientReport": "gradcheck._check.report",
    "ParameterResult": "gradcheck._check.report",
    "CheckedFunction": "gradcheck._integrations.decorator",
    "CheckState": "gradcheck._integrations.decorator",
    "checked_backward": "gradcheck._integrations.decorator",
    "ShapeTrace": "gradcheck._shapes.trace",
    "TraceLine": "gradcheck._shapes.trace",
    "shape_trace": "gradcheck._shapes.trace",
    "AnnotationMismatch": "gradcheck.errors",
    "GradientMismatch": "gradcheck.errors",
    "GradientShapeError": "gradcheck.errors",
}


def __getattr__(name: str) -> object:
    if name in ("errors", "strategies"):  # submodules, loaded on first use too
        return _import_module(f"gradcheck.{name}")
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'gradcheck' has no attribute {name!r}")
    # Not cached in this module: after a reload of gradcheck's modules (autoreload in a
    # notebook, pytest's in-process runs) the name gives the class now in use.
    return getattr(_sys.modules.get(home) or _import_module(home), name)


def __dir__() -> list[str]:
    """The public names only: the API, ``errors`` and ``strategies``, ``__version__``."""
    return sorted([*__all__, "__version__", "errors", "strategies"])


__all__ = [
    "DIAGNOSIS_KINDS",
    "AnnotationMismatch",
    "CheckState",
    "CheckedFunction",
    "Diagnosis",
    "DiagnosisKind",
    "GradientMismatch",
    "GradientReport",
    "GradientShapeError",
    "ParameterResult",
    "ShapeTrace",
    "TraceLine",
    "check_gradients",
    "check_layer",
    "checked_backward",
    "shape_trace",
]
__version__ = "0.1.0"
