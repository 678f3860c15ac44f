"""Trustworthy, readable checks for hand-written NumPy backpropagation.

    import gradcheck
    report = gradcheck.check_gradients(loss, grads, params)
    print(report)   # a row per parameter, then what is wrong, in words

Checking
    check_gradients     compare gradients with finite differences; say
                        which one is wrong and how
    check_layer         the same for a layer: forward -> (out, cache),
                        backward(dout, cache)
    checked_backward    a decorator: checks a backward's gradient shapes
                        on every call, its values when its policy says
                        so (when=, or the GRADCHECK variable)
    shape_trace         run a function once: every array it makes, with
                        its shape in named dimensions

What a check returns
    GradientReport      print(report), report.passed, report["W2"]
    ParameterResult     one parameter's verdict, worst entry, diagnosis
    Diagnosis           the kind of mistake (a DiagnosisKind, one of
                        DIAGNOSIS_KINDS) and a sentence about it
    CheckedFunction     a decorated function; .gradcheck is its CheckState
    ShapeTrace          what shape_trace returns, a TraceLine per line

What fails
    GradientMismatch    a check did not pass: a gradient wrong or not
                        checked (an AssertionError); its message is the
                        report
    GradientShapeError  a gradient's shape is not its parameter's
    AnnotationMismatch  an array does not fit its jaxtyping annotation

Also: gradcheck.strategies (hypothesis strategies, imported on its own)
and a pytest plugin (pytest --gradcheck=always).

Documentation: README.md (start there), docs/tutorial.md (fix a broken
backward in five minutes), docs/reference/api.md (every public name);
make docs builds the site. For one name: help(gradcheck.check_gradients).
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
