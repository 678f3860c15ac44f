"""``@checked_backward``: check a hand-written backward where it is called.

The decorator wraps a function that returns gradients. Every call checks, cheaply, that
the gradients have the parameters' keys and shapes; the calls its policy selects (the first,
by default) also compare them with finite differences of the loss and enforce the function's
jaxtyping annotations. See ``checked_backward``; the policy and its process-wide override
(``GRADCHECK``, pytest's ``--gradcheck``) are in ``gradcheck._integrations.policy``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, Protocol, TypeVar, cast, overload

import numpy as np

from gradcheck._integrations.arguments import ParamsArgument, by_name, checked_names
from gradcheck._integrations.policy import Policy, override
from gradcheck._shapes.annotations import annotation_checker
from gradcheck._shapes.structure import check_structure, fits
from gradcheck.errors import GradientMismatch

if TYPE_CHECKING:
    from gradcheck._check.report import GradientReport
    from gradcheck._shapes.annotations import AnnotationChecker

__all__ = ["CheckState", "CheckedFunction", "CheckedMethod", "checked_backward"]

_P = ParamSpec("_P")
_R = TypeVar("_R")
_R_co = TypeVar("_R_co", covariant=True)


class CheckState:
    """What a ``@checked_backward`` function has done so far: ``backward.gradcheck``.

    Attributes:
        calls: how many times it was called (not counting calls under ``GRADCHECK=never``,
            nor calls that returned a prediction instead of ``(loss, grads)``).
        checks: how many of those ran the finite-difference check.
        last_report: the ``GradientReport`` of the last check, or ``None``.
    """

    __slots__ = ("calls", "checks", "last_report")

    def __init__(self) -> None:
        self.calls = 0
        self.checks = 0
        self.last_report: GradientReport | None = None

    def reset(self) -> None:
        """Forget the calls, so that ``when="first"`` checks the next call again."""
        self.calls = 0
        self.checks = 0
        self.last_report = None

    def __repr__(self) -> str:
        passed = None if self.last_report is None else self.last_report.passed
        return f"<CheckState calls={self.calls} checks={self.checks} last passed={passed}>"


class CheckedMethod(Protocol[_R_co]):
    """A ``CheckedFunction`` method, bound to its instance: ``net.backward``."""

    gradcheck: CheckState

    def __call__(self, *args: Any, **kwargs: Any) -> _R_co: ...


class CheckedFunction(Protocol, Generic[_P, _R]):
    """A function decorated by ``checked_backward``: call it like the original.

    On a class it is a method, like the original: ``net.backward(X, y)`` passes ``net``.
    """

    gradcheck: CheckState
    __wrapped__: Callable[_P, _R]

    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _R: ...

    @overload
    def __get__(
        self, instance: None, owner: type[Any] | None = None
    ) -> CheckedFunction[_P, _R]: ...
    @overload
    def __get__(self, instance: object, owner: type[Any] | None = None) -> CheckedMethod[_R]: ...


def _check_options_valid(check_options: dict[str, Any]) -> None:
    """Fail at decoration, not at the first check, when an option is misspelt."""
    if not check_options:
        return
    from gradcheck._check.check import check_gradients

    signature = inspect.signature(check_gradients)
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    # The decorator supplies these itself, from each call.
    reserved = ("loss", "grads", "params", "args", "kwargs", "names", "inplace")
    unknown = [
        name
        for name in check_options
        if name in reserved or (not accepts_any and name not in signature.parameters)
    ]
    if unknown:
        known = [name for name, p in signature.parameters.items() if p.kind is p.KEYWORD_ONLY]
        raise TypeError(
            f"checked_backward() got options that check_gradients does not take: "
            f"{', '.join(unknown)}; it takes {', '.join(known)}"
        )


def checked_backward(
    loss: Callable[..., Any] | None = None,
    *,
    when: str | int = "first",
    params_arg: int | str = 0,
    names: Sequence[str] | None = None,
    **check_options: Any,
) -> Callable[[Callable[_P, _R]], CheckedFunction[_P, _R]]:
    """Decorate a hand-written backward so that its gradients are checked where it runs.

    Four shapes of code are supported:

    1. A backward with a separate loss, both taking the same arguments::

           def loss(params, X, y):  # -> float
               ...

           @gradcheck.checked_backward(loss)
           def backward(params, X, y):  # -> {"W1": dW1, "b1": db1, ...}
               ...

    2. A function that returns ``(loss, grads)`` together (the cs231n style). It is its own
       loss, so write the parentheses with nothing in them::

           @gradcheck.checked_backward()
           def loss_and_grads(params, X, y):  # -> (loss, {"W1": dW1, ...})
               ...

       (A bare ``@checked_backward`` would take the function for the loss; the first call
       then raises a ``TypeError`` that says so.)

    3. A backward whose parameters are not the first argument, and whose other arguments
       are the forward pass's activations (the Code Review layout)::

           def loss(activations, targets, parameters):
               # the loss as a function of the parameters: redo the forward pass
               X = activations[0]
               return squared_loss(forward(parameters, X)[-1], targets)

           @gradcheck.checked_backward(loss, params_arg="parameters")
           def backward(activations, targets, parameters):  # -> [dW1, db1, ...]
               W1, b1, W2, b2, W3, b3 = parameters
               ...

       The rule behind these three: **the loss takes exactly the arguments of the decorated
       function, with the parameters replaced by perturbed copies**. When the other
       arguments were computed from the parameters (activations), the loss must redo that
       computation from the parameters it is given, or the finite differences would not
       see the change.

    4. A method of a model that keeps its parameters in ``self.params`` (a dict or a list),
       with the loss another method, passed unbound, or the method returning
       ``(loss, grads)`` itself (cs231n's ``model.loss(X, y)``)::

           class TwoLayerNet:
               def loss(self, X, y):  # reads self.params; -> float
                   ...

               @gradcheck.checked_backward(loss)
               def backward(self, X, y):  # -> {"W1": dW1, ...}, keys of self.params
                   ...

       The gradients must have the keys and shapes of ``self.params``. The loss is called
       as ``loss(self, X, y)`` while the check perturbs ``self.params``' arrays in place;
       they are restored bit for bit after every call, also when the loss raises. A call
       of a ``(loss, grads)`` method that returns an array instead (``model.loss(X)``: the
       scores, at test time) is passed through, neither checked nor counted.

    Parameters are a dict name -> array, or a list/tuple of arrays, or an object whose
    ``params.py`` is one. A list's names come from ``names=``, else from an unpacking
    ``W1, b1, ... = parameters`` (or ``= self.params``) in the function's body, else they
    are ``parameters[0]``, ``parameters[1]``, ... (after the argument's name). Gradients
    have the parameters' structure: the same keys, or the same order.

    On every call (cheap: a few tuple comparisons) the gradients' keys and shapes must
    equal the parameters'; otherwise ``GradientShapeError`` (an ``AssertionError``)
    names the parameter, shows both shapes and says what the slip looks like (transposed,
    keepdims, not summed over the batch).

    On the calls that ``when`` selects, the gradients are also compared with finite
    differences of the loss by ``check_gradients``; a wrong one raises
    ``GradientMismatch`` with the report (e.g. ``W2 ... negated``). The report
    of the last check is ``backward.gradcheck.last_report``. If the function has jaxtyping
    annotations (``Float[np.ndarray, "batch d_in"]``), they are enforced on those calls and
    on the first call, with dimension names bound across arguments and return value; a
    misfit raises ``AnnotationMismatch`` (a ``TypeError``) naming the argument or
    returned item, the axis and the dimension. They are not checked on other calls: that
    check costs tens of microseconds per call.

    Args:
        loss: the loss, called with the decorated function's arguments (parameters
            replaced); returns a float (or ``(loss, grads)``, whose loss is used). ``None``
            when the function itself returns ``(loss, grads)``.
        when: which calls get the finite-difference check. ``"first"`` (default): the first
            call; ``"always"``: every call; ``"never"``: none (the shape check still runs on
            every call and the annotations on the first); an int ``N >= 1``: calls 1,
            N + 1, 2N + 1, ... (every N-th call, starting with the first). The environment
            variable ``GRADCHECK`` (same values) overrides ``when`` for the whole process;
            ``GRADCHECK=never`` turns the wrapper into a plain call with no checks at all.
        params_arg: which argument holds the parameters (or the model whose ``params.py``
            hold them): its position (default 0, ``self`` on a method) or name.
        names: names for a list/tuple of parameters, in order (ignored for a dict).
        **check_options: passed to ``check_gradients`` (e.g. ``seed=1``,
            ``full=True``).

    Returns:
        A decorator. The decorated function takes and returns exactly what the original
        does, and has ``gradcheck.py`` (a ``CheckState``) and ``__wrapped__.py``.

    Raises:
        TypeError: at decoration, if ``loss`` is not callable, an option is unknown, or
            ``params_arg`` names no argument.
        ValueError: at decoration, if ``when`` is not a policy.
    """
    if loss is not None and not callable(loss):
        raise TypeError(
            f"checked_backward(loss) needs a callable loss, got {type(loss).__name__}; "
            "use @checked_backward() when the function returns (loss, grads)"
        )
    policy = Policy.parse(when, source="when")
    list_names = checked_names(names)
    _check_options_valid(check_options)

    def decorate(fn: Callable[_P, _R], *extra: Any, **extra_kw: Any) -> CheckedFunction[_P, _R]:
        if extra or extra_kw or not callable(fn):
            raise TypeError(
                f"checked_backward({getattr(loss, '__name__', loss)}) was called with the "
                "arguments of a backward: it looks like @checked_backward was written "
                "without parentheses, so the decorated function became the loss. Write "
                "@checked_backward() for a function that returns (loss, grads), or "
                "@checked_backward(loss) with a separate loss."
            )
        params = ParamsArgument(fn, params_arg, list_names)
        return _CheckedBackward(fn, loss, policy, params, check_options).function()

    return decorate


def _is_scalar(value: object) -> bool:
    if isinstance(value, float | int | np.floating | np.integer):
        return True
    return isinstance(value, np.ndarray) and value.ndim == 0


class _CheckedBackward:
    """One decorated backward: its settings, its ``CheckState``, and its checks."""

    def __init__(
        self,
        fn: Callable[..., Any],
        loss: Callable[..., Any] | None,
        policy: Policy,
        params: ParamsArgument,
        check_options: dict[str, Any],
    ) -> None:
        self.fn = fn
        self.name = getattr(fn, "__name__", "function")
        self.returns_loss_too = loss is None
        self.loss = fn if loss is None else loss
        self.policy = policy
        self.params = params
        self.check_options = check_options
        self.state = CheckState()

    def function(self) -> CheckedFunction[Any, Any]:
        """The function that replaces the decorated one: the per-call fast path.

        Each call reads the override once, then either runs ``checked_call`` (the calls
        the policy selects, and the first) or only compares the gradients' shapes.
        """
        fn, state, params, gradients = self.fn, self.state, self.params, self.gradients
        position = params.position

        @functools.wraps(fn)
        def checked(*args: Any, **kwargs: Any) -> Any:
            __tracebackhide__ = True
            policy = override.current
            if policy is None:
                policy = self.policy
            elif policy.never:
                return fn(*args, **kwargs)
            calls = state.calls = state.calls + 1
            due = policy.due(calls)
            if due or calls == 1:
                return self.checked_call(args, kwargs, due)
            result = fn(*args, **kwargs)
            grads = gradients(result)
            if grads is None:  # a prediction, not a backward: not counted
                state.calls -= 1
                return result
            given = args[position] if 0 <= position < len(args) else params.find(args, kwargs)
            if not fits(given, grads):  # or the parameters are a model's .params
                given, model = params.find_container(args, kwargs)
                if not fits(given, grads):
                    check_structure(self.name, given, grads, params.names_for(given, model))
            return result

        wrapper = cast(CheckedFunction[Any, Any], checked)
        wrapper.gradcheck = state
        return wrapper

    @functools.cached_property
    def annotations(self) -> AnnotationChecker | None:
        """Built on the first call, so that annotations may name classes defined after fn."""
        return annotation_checker(self.fn)

    def checked_call(self, args: tuple[Any, ...], kwargs: dict[str, Any], due: bool) -> Any:
        """A call with the shape and annotation checks, and the finite differences if due."""
        __tracebackhide__ = True
        params, model = self.params.find_container(args, kwargs)
        labels = self.params.names_for(params, model)
        check_shapes = functools.partial(self.check_shapes, params, labels)
        annotations = self.annotations
        if annotations is None:
            result = self.fn(*args, **kwargs)
            check_shapes(result)
        else:  # the gradients' shapes are checked before the return annotation
            result = annotations.call(args, kwargs, check_shapes)
        grads = self.gradients(result)
        if grads is None:  # a prediction, not a backward: not counted, so not the first
            self.state.calls -= 1
        elif due:
            self.run_check(args, kwargs, (params, model), grads, labels)
        return result

    def check_shapes(self, params: Any, labels: list[str] | None, result: Any) -> None:
        __tracebackhide__ = True
        grads = self.gradients(result)
        if grads is not None:
            check_structure(self.name, params, grads, labels)

    def gradients(self, result: Any) -> Any:
        """The gradients in the function's result; ``None`` for a prediction.

        A function that returns ``(loss, grads)`` may also return an array: cs231n's
        ``model.loss(X)`` without labels returns the scores. Such a call is no backward.
        """
        if self.returns_loss_too:
            if type(result) is tuple and len(result) == 2:
                return result[1]
            if isinstance(result, np.ndarray):
                return None
            raise TypeError(
                f"{self.name}() returned a {type(result).__name__}, but @checked_backward() "
                "without a loss expects (loss, grads): return both, or pass the loss, "
                "@checked_backward(loss)"
            )
        if type(result) is tuple and len(result) == 2 and _is_scalar(result[0]):
            return result[1]
        return result

    def run_check(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        params: tuple[Any, bool],
        grads: Any,
        labels: list[str] | None,
    ) -> None:
        """Compare the gradients with finite differences of the loss; raise if they differ.

        ``params`` is (the parameters, whether they are a model's ``params.py``).
        """
        __tracebackhide__ = True
        from gradcheck._check.check import check_gradients

        container, model = params
        named_grads, named_params = by_name(grads, labels), by_name(container, labels)
        if model:  # our copies: a model may reuse its gradient arrays from call to call
            named_grads = {
                k: np.copy(g) if isinstance(g, np.ndarray) else g for k, g in named_grads.items()
            }
        loss = self.loss_of(args, kwargs, labels, model)
        report = check_gradients(
            loss, named_grads, named_params, inplace=model, **self.check_options
        )
        self.state.checks += 1
        self.state.last_report = report
        if not report.passed:
            raise self.mismatch(report)

    def loss_of(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], labels: list[str] | None, model: bool
    ) -> Callable[..., Any]:
        """The loss as check_gradients calls it.

        With a model's parameters, ``loss(model, *args)`` with no arguments of its own: the
        check perturbs the model's arrays in place and restores them bit for bit after every
        call. Otherwise ``loss(perturbed)``: this call's arguments with the parameters
        replaced by the check's copies.
        """

        def value(out: Any) -> Any:
            return out[0] if type(out) is tuple else out

        if model:
            return lambda: value(self.loss(*args, **kwargs))

        def loss_of(perturbed: dict[str, Any]) -> Any:
            new_args, new_kwargs = self.params.replaced(args, kwargs, perturbed, labels)
            return value(self.loss(*new_args, **new_kwargs))

        return loss_of

    def mismatch(self, report: GradientReport) -> GradientMismatch:
        """The error for a failed check, with a note that says which call it was."""
        when = (override.current or self.policy).text
        error = GradientMismatch(report)
        error.add_note(
            f"Checked by @checked_backward on call {self.state.calls} of {self.name}() "
            f"(when={when!r}); the report is also {self.name}.gradcheck.last_report."
        )
        return error
