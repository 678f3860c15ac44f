"""gradcheck: trustworthy, readable checks for hand-written NumPy backpropagation.

>>> import gradcheck
>>> report = gradcheck.check_gradients(loss, grads, params)   # doctest: +SKIP
>>> print(report)                                             # doctest: +SKIP
"""

from gradcheck._check import check_gradients
from gradcheck._report import (
    DIAGNOSIS_KINDS,
    Diagnosis,
    DiagnosisKind,
    GradientMismatch,
    GradientReport,
    ParameterResult,
)

__all__ = [
    "DIAGNOSIS_KINDS",
    "Diagnosis",
    "DiagnosisKind",
    "GradientMismatch",
    "GradientReport",
    "ParameterResult",
    "check_gradients",
]
__version__ = "0.1.0"
