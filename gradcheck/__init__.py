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

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gradcheck._annotations import AnnotationMismatch
    from gradcheck._check import check_gradients
    from gradcheck._decorator import CheckedFunction, CheckState, checked_backward
    from gradcheck._layer import check_layer
    from gradcheck._report import (
        DIAGNOSIS_KINDS,
        Diagnosis,
        DiagnosisKind,
        GradientMismatch,
        GradientReport,
        ParameterResult,
    )
    from gradcheck._structure import GradientShapeError
    from gradcheck._trace import ShapeTrace, TraceLine, shape_trace

# Names load on first use (PEP 562), so `import gradcheck` and the pytest plugin, which
# pytest imports in every run where gradcheck is installed, cost nothing until used.
_HOME = {
    "AnnotationMismatch": "gradcheck._annotations",
    "check_gradients": "gradcheck._check",
    "CheckedFunction": "gradcheck._decorator",
    "CheckState": "gradcheck._decorator",
    "checked_backward": "gradcheck._decorator",
    "check_layer": "gradcheck._layer",
    "DIAGNOSIS_KINDS": "gradcheck._report",
    "Diagnosis": "gradcheck._report",
    "DiagnosisKind": "gradcheck._report",
    "GradientMismatch": "gradcheck._report",
    "GradientReport": "gradcheck._report",
    "ParameterResult": "gradcheck._report",
    "GradientShapeError": "gradcheck._structure",
    "ShapeTrace": "gradcheck._trace",
    "TraceLine": "gradcheck._trace",
    "shape_trace": "gradcheck._trace",
}


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'gradcheck' has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOME])


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
