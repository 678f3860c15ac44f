"""Every exception gradcheck raises on purpose, in one place.

Each is shown as ``gradcheck.<Name>`` in tracebacks, where users meet it, and each is an
``AssertionError`` or a ``TypeError`` so that code (and pytest) already catching those
keeps working:

* ``GradientMismatch``: a finite-difference check failed; its message is the report.
* ``GradientShapeError``: gradients that do not have their parameters' keys or shapes.
* ``AnnotationMismatch``: an argument or a return value that does not fit its
  jaxtyping annotation.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal, NamedTuple

import jaxtyping

from gradcheck._shapes.rule import ShapeSlip

if TYPE_CHECKING:
    from gradcheck._check.report import GradientReport

__all__ = ["AnnotationMismatch", "GradientMismatch", "GradientShapeError", "ShapeProblem"]


class GradientMismatch(AssertionError):  # noqa: N818 (a fixed public name)
    """Raised by ``GradientReport.assert_passed`` and by a ``@checked_backward``
    function whose check did not pass: a gradient was wrong, or could not be checked. Its
    message is the report; when nothing was wrong but something could not be checked, a
    first line says that an unchecked gradient is not a passed one.

    Attributes:
        report: the ``GradientReport`` that did not pass.
    """

    def __init__(self, report: GradientReport) -> None:
        text = str(report)
        if not report.failed and report.inconclusive:
            text = (
                "no gradient was found wrong, but not every one could be checked, and a "
                "gradient that was not checked does not pass (why, and what to do, below)\n" + text
            )
        super().__init__(text)
        self.report = report


ShapeProblemKind = Literal[
    ShapeSlip,
    "missing",
    "extra",
    "notarray",
    "structure",
    "length",
]


class ShapeProblem(NamedTuple):
    """One way gradients do not fit their parameters (an item of
    ``GradientShapeError.problems``).

    Attributes:
        name: the parameter (``"W2"``, ``"params[1]"``), or ``"(all)"`` for a problem of
            the whole structure (``"structure"``, ``"length"``).
        param_shape: the parameter's shape (``None`` for ``"extra"`` and whole-structure
            problems).
        grad_shape: the gradient's shape (``None`` for ``"missing"``, ``"notarray"`` and
            whole-structure problems).
        kind: ``"transposed"`` (axes reversed), ``"keepdims"`` (an axis of size 1 missing
            or extra), ``"batch"`` (the batch axis not summed out), ``"other"`` (any other
            shape), ``"missing"`` (no gradient for the parameter), ``"extra"`` (a gradient
            for no parameter), ``"notarray"`` (a gradient that is not an array),
            ``"structure"`` (e.g. a list of gradients for a dict of parameters) or
            ``"length"`` (a list of gradients of the wrong length).
    """

    name: str
    param_shape: tuple[int, ...] | None
    grad_shape: tuple[int, ...] | None
    kind: ShapeProblemKind


class GradientShapeError(AssertionError):
    """Gradients that do not have their parameters' structure or shapes.

    Raised by a ``checked_backward`` function on the call that returned them.
    The message has one line per wrong gradient, naming the parameter, showing both shapes
    and saying what the difference looks like, e.g.::

        backward() returned gradients that do not fit its parameters:
        - dW2 has shape (2, 1000) but W2 has shape (1000, 2): the axes are reversed, ...

    Attributes:
        function: the decorated function's name.
        problems: one ``ShapeProblem`` per misfit, in the order of the message.
    """

    def __init__(self, message: str, *, function: str, problems: tuple[ShapeProblem, ...]):
        super().__init__(message)
        self.function = function
        self.problems = problems


class AnnotationMismatch(jaxtyping.TypeCheckError):
    """An argument or a return value does not fit the function's jaxtyping annotation.

    It is a ``jaxtyping.TypeCheckError``, hence a ``TypeError``: code that already catches
    jaxtyping's error keeps working. The message says which argument (or which item of the
    return value), its shape, which axis and which dimension name disagree, and where that
    name got its size, e.g.::

        backward(): argument X has shape (800, 3), which does not fit its annotation
        Float[ndarray, 'batch d_in'].
        Axis 1 is d_in = 3 here, but d_in = 2 in params['W1'] (axis 0 of shape (2, 1000)).

    Attributes:
        function: the function's name.
        where: the argument or returned item, e.g. ``"X"``, ``"params['W1']"``,
            ``"return value['W1']"``.
        dimension: the dimension name that disagrees (``"d_in"``, ``"*batch"``), or ``None``
            when the problem is not one dimension (a dtype, a number of axes, a type).
    """

    def __init__(self, message: str, *, function: str, where: str, dimension: str | None):
        super().__init__(message)
        self.function = function
        self.where = where
        self.dimension = dimension


# Shown as gradcheck.<Name> in tracebacks, where users meet them (gradcheck exports them).
for _error in (GradientMismatch, GradientShapeError, AnnotationMismatch):
    _error.__module__ = "gradcheck"
