"""``@checked_backward``: check a hand-written backward where it is called.

The decorator wraps a function that returns gradients. Every call checks, cheaply, that
the gradients have the parameters' keys and shapes; some calls (the first, by default)
also compare them with finite differences of the loss and enforce the function's jaxtyping
annotations. See :func:`checked_backward`.

Process-wide switch: the environment variable ``GRADCHECK`` (``never``, ``first``,
``always`` or a number N) overrides every decorator's ``when``. It is read once, when
gradcheck is imported; :func:`_refresh_env_override` reads it again. A pytest plugin (or a
test) sets a stronger override with :func:`_set_policy_override`.
"""

from __future__ import annotations

import ast
import functools
import inspect
import os
import textwrap
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, ParamSpec, Protocol, TypeVar, cast

import numpy as np

from gradcheck._annotations import _annotation_checker, _AnnotationChecker
from gradcheck._report import GradientMismatch, GradientReport
from gradcheck._structure import _check_structure, _fits

__all__ = ["CheckState", "CheckedFunction", "checked_backward"]

_P = ParamSpec("_P")
_R = TypeVar("_R")

Policy = str | int
"""``"first"``, ``"always"``, ``"never"``, or an int N >= 1 (check every N-th call)."""

# Policies as ints, so that the per-call test is one comparison:
# 0 = never, 1 = always, -1 = first, N > 1 = calls 1, N + 1, 2N + 1, ...
_NEVER = 0
_ALWAYS = 1
_FIRST = -1
_ENV_VAR = "GRADCHECK"


def _parse_policy(value: object, *, source: str) -> int:
    """Turn a ``when`` value (or the environment variable's text) into the int code."""
    if isinstance(value, bool):
        raise TypeError(
            f"{source}={value!r} is not a policy: use 'first', 'always', 'never' or an int N "
            "(check every N-th call)"
        )
    if isinstance(value, int):
        if value < 1:
            raise ValueError(
                f"{source}={value} is not a policy: an every-N policy needs N >= 1 "
                "(use 'never' to switch the finite-difference check off)"
            )
        return value
    if isinstance(value, str):
        text = value.strip().lower()
        named = {"never": _NEVER, "always": _ALWAYS, "first": _FIRST}
        if text in named:
            return named[text]
        if text.isdigit() and int(text) >= 1:
            return int(text)
    raise ValueError(
        f"{source}={value!r} is not a policy: use 'first', 'always', 'never' "
        "or a whole number N >= 1 (check every N-th call)"
    )


def _policy_text(code: int) -> Policy:
    return {_NEVER: "never", _ALWAYS: "always", _FIRST: "first"}.get(code, code)


def _read_env() -> int | None:
    text = os.environ.get(_ENV_VAR, "").strip()
    if not text:
        return None
    return _parse_policy(text, source=_ENV_VAR)


_env_override: int | None = _read_env()
_explicit_override: int | None = None
# The override in force, read by every call: the explicit one, else the environment's.
_OVERRIDE: int | None = _env_override


def _set_policy_override(value: Policy | None) -> None:
    """Override every ``@checked_backward``'s ``when`` in this process (``None``: stop).

    This override wins over the ``GRADCHECK`` environment variable, which wins over each
    decorator's own ``when``. ``"never"`` turns every decorated function into a plain call:
    no shape check, no annotation check, no finite differences.

    Raises:
        ValueError: if ``value`` is not ``"first"``, ``"always"``, ``"never"``, an int
            N >= 1 or ``None``.
    """
    global _explicit_override, _OVERRIDE
    _explicit_override = None if value is None else _parse_policy(value, source="override")
    _OVERRIDE = _explicit_override if _explicit_override is not None else _env_override


def _get_policy_override() -> Policy | None:
    """The override in force (from :func:`_set_policy_override` or ``GRADCHECK``), or None."""
    return None if _OVERRIDE is None else _policy_text(_OVERRIDE)


def _refresh_env_override() -> None:
    """Read the ``GRADCHECK`` environment variable again (it is read once at import).

    Raises:
        ValueError: if the variable holds something other than ``never``, ``first``,
            ``always`` or a whole number N >= 1.
    """
    global _env_override, _OVERRIDE
    _env_override = _read_env()
    _OVERRIDE = _explicit_override if _explicit_override is not None else _env_override


class CheckState:
    """What a ``@checked_backward`` function has done so far: ``backward.gradcheck``.

    Attributes:
        calls: how many times it was called (not counting calls under ``GRADCHECK=never``).
        checks: how many of those ran the finite-difference check.
        last_report: the :class:`~gradcheck.GradientReport` of the last check, or ``None``.
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


class CheckedFunction(Protocol, Generic[_P, _R]):
    """A function decorated by :func:`checked_backward`: call it like the original."""

    gradcheck: CheckState
    __wrapped__: Callable[_P, _R]

    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _R: ...


def _is_scalar(value: object) -> bool:
    if isinstance(value, float | int | np.floating | np.integer):
        return True
    return isinstance(value, np.ndarray) and value.ndim == 0


def _unpacked_names(fn: Callable[..., Any], arg_name: str | None) -> list[str] | None:
    """Names from ``W1, b1, W2 = parameters`` in ``fn``'s body, if it unpacks its params."""
    if arg_name is None:
        return None
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Name)
            and node.value.id == arg_name
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Tuple | ast.List)
            and all(isinstance(elt, ast.Name) for elt in node.targets[0].elts)
        ):
            found = [cast(ast.Name, elt).id for elt in node.targets[0].elts]
            if len(set(found)) == len(found) and "_" not in found:
                return found
    return None


def _check_options_valid(check_options: dict[str, Any]) -> None:
    """Fail at decoration, not at the first check, when an option is misspelt."""
    if not check_options:
        return
    try:
        from gradcheck._check import check_gradients
    except ImportError:  # the numeric core is not there: the first check will say so
        return
    signature = inspect.signature(check_gradients)
    accepts_any = any(p.kind is p.VAR_KEYWORD for p in signature.parameters.values())
    # The decorator supplies these itself, from each call.
    reserved = ("loss", "grads", "params", "args", "kwargs", "names")
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
    when: Policy = "first",
    params_arg: int | str = 0,
    names: Sequence[str] | None = None,
    **check_options: Any,
) -> Callable[[Callable[_P, _R]], CheckedFunction[_P, _R]]:
    """Decorate a hand-written backward so that its gradients are checked where it runs.

    Three shapes of code are supported:

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

       The rule behind all three: **the loss takes exactly the arguments of the decorated
       function, with the parameters replaced by perturbed copies**. When the other
       arguments were computed from the parameters (activations), the loss must redo that
       computation from the parameters it is given, or the finite differences would not
       see the change.

    Parameters are a dict name -> array, or a list/tuple of arrays. A list's names come from
    ``names=``, else from an unpacking ``W1, b1, ... = parameters`` in the function's body,
    else they are ``parameters[0]``, ``parameters[1]``, ... (after the argument's name).
    Gradients have the parameters' structure: the same keys, or the same order.

    On every call (cheap: a few tuple comparisons) the gradients' keys and shapes must
    equal the parameters'; otherwise :class:`GradientShapeError` (an ``AssertionError``)
    names the parameter, shows both shapes and says what the slip looks like (transposed,
    keepdims, not summed over the batch).

    On the calls that ``when`` selects, the gradients are also compared with finite
    differences of the loss by :func:`gradcheck.check_gradients`; a wrong one raises
    :class:`gradcheck.GradientMismatch` with the report (e.g. ``W2 ... negated``). The report
    of the last check is ``backward.gradcheck.last_report``. If the function has jaxtyping
    annotations (``Float[np.ndarray, "batch d_in"]``), they are enforced on those calls and
    on the first call, with dimension names bound across arguments and return value; a
    misfit raises :class:`AnnotationMismatch` (a ``TypeError``) naming the argument or
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
        params_arg: which argument holds the parameters: its position (default 0) or name.
        names: names for a list/tuple of parameters, in order (ignored for a dict).
        **check_options: passed to :func:`gradcheck.check_gradients` (e.g. ``seed=1``,
            ``full=True``).

    Returns:
        A decorator. The decorated function takes and returns exactly what the original
        does, and has ``.gradcheck`` (a :class:`CheckState`) and ``.__wrapped__``.

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
    period = _parse_policy(when, source="when")
    if names is not None:
        if isinstance(names, str) or not all(isinstance(n, str) for n in names):
            raise TypeError("names= must be a list of strings, one per parameter, in order")
        names = list(names)
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
        return _wrap(fn, loss, period, params_arg, names, check_options)

    return decorate


def _resolve_params_arg(
    fn: Callable[..., Any], params_arg: int | str
) -> tuple[int | None, str | None]:
    """(position, name) of the parameters argument; either may be None."""
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        parameters = []
    positional = [p for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    fn_name = getattr(fn, "__name__", "the function")
    if isinstance(params_arg, bool) or not isinstance(params_arg, int | str):
        raise TypeError(f"params_arg must be a position (int) or a name (str), got {params_arg!r}")
    if isinstance(params_arg, int):
        if params_arg < 0:
            raise ValueError(f"params_arg={params_arg}: give a position counted from 0")
        if params_arg < len(positional):
            return params_arg, positional[params_arg].name
        if parameters and not any(p.kind is p.VAR_POSITIONAL for p in parameters):
            raise TypeError(
                f"params_arg={params_arg}, but {fn_name}() has {len(positional)} positional "
                f"arguments ({', '.join(p.name for p in positional)})"
            )
        return params_arg, None
    names = [p.name for p in parameters]
    if (
        parameters
        and params_arg not in names
        and not any(p.kind is p.VAR_KEYWORD for p in parameters)
    ):
        raise TypeError(
            f"params_arg={params_arg!r}, but {fn_name}() has no argument of that name; "
            f"it has {', '.join(names)}"
        )
    for index, p in enumerate(positional):
        if p.name == params_arg:
            return index, params_arg
    return None, params_arg


def _wrap(
    fn: Callable[_P, _R],
    loss: Callable[..., Any] | None,
    period: int,
    params_arg: int | str,
    names: list[str] | None,
    check_options: dict[str, Any],
) -> CheckedFunction[_P, _R]:
    fn_name = getattr(fn, "__name__", "function")
    position, arg_name = _resolve_params_arg(fn, params_arg)
    # Built on the first call, so that annotations may name classes defined after fn.
    annotation_checkers: list[_AnnotationChecker | None] = []
    state = CheckState()
    # Resolved on the first call: the names of a list of parameters.
    resolved_names: list[list[str] | None] = []
    pair = loss is None
    pos = -1 if position is None else position

    def find_params(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if 0 <= pos < len(args):
            return args[pos]
        if arg_name is not None and arg_name in kwargs:
            return kwargs[arg_name]
        raise TypeError(
            f"{fn_name}() was called without its parameters argument "
            f"({arg_name or f'position {pos}'}): pass it, or set params_arg= to the argument "
            "that holds the parameters"
        )

    def split_result(result: Any) -> Any:
        """The gradients in the function's result."""
        if pair:
            if type(result) is tuple and len(result) == 2:
                return result[1]
            raise TypeError(
                f"{fn_name}() returned a {type(result).__name__}, but @checked_backward() "
                "without a loss expects (loss, grads): return both, or pass the loss, "
                "@checked_backward(loss)"
            )
        if type(result) is tuple and len(result) == 2 and _is_scalar(result[0]):
            return result[1]
        return result

    def list_names(params: Any) -> list[str] | None:
        if isinstance(params, Mapping):
            return None
        if not resolved_names:
            chosen = names
            if chosen is None:
                inferred = _unpacked_names(fn, arg_name)
                if inferred is not None and len(inferred) == len(params):
                    chosen = inferred
            if chosen is None:
                base = arg_name or "params"
                chosen = [f"{base}[{i}]" for i in range(len(params))]
            resolved_names.append(chosen)
        found = resolved_names[0]
        if found is not None and len(found) != len(params):
            raise TypeError(
                f"names= has {len(found)} names but {fn_name}() got {len(params)} parameters: "
                "give one name per parameter, in order"
            )
        return found

    def checked_call(args: tuple[Any, ...], kwargs: dict[str, Any], due: bool) -> Any:
        __tracebackhide__ = True
        params = find_params(args, kwargs)
        if not isinstance(params, Mapping) and (
            not isinstance(params, Sequence) or isinstance(params, str)
        ):
            raise TypeError(
                f"{fn_name}()'s parameters ({arg_name or f'argument {pos}'}) are a "
                f"{type(params).__name__}: they must be a dict name -> array or a list of "
                "arrays (set params_arg= if they are another argument)"
            )
        labels = list_names(params)

        def check_shapes(result: Any) -> None:
            __tracebackhide__ = True
            _check_structure(fn_name, params, split_result(result), labels)

        if not annotation_checkers:
            annotation_checkers.append(_annotation_checker(fn))
        annotations = annotation_checkers[0]
        if annotations is None:
            result = fn(*args, **kwargs)
            check_shapes(result)
        else:  # the gradients' shapes are checked before the return annotation
            result = annotations.call(args, kwargs, check_shapes)
        grads = split_result(result)
        if due:
            run_check(args, kwargs, params, grads, labels)
        return result

    def run_check(
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        params: Any,
        grads: Any,
        labels: list[str] | None,
    ) -> None:
        __tracebackhide__ = True
        from gradcheck._check import check_gradients

        if labels is None:
            named_params = dict(params)
            named_grads = dict(grads)
        else:
            named_params = dict(zip(labels, params, strict=True))
            named_grads = dict(zip(labels, grads, strict=True))
        container = type(params)

        def loss_of(perturbed: dict[str, Any]) -> Any:
            if labels is None:
                new_params: Any = perturbed
            else:
                items = [perturbed[label] for label in labels]
                new_params = items if container is list else container(items)
            new_args = list(args)
            new_kwargs = dict(kwargs)
            if 0 <= pos < len(args):
                new_args[pos] = new_params
            else:
                new_kwargs[cast(str, arg_name)] = new_params
            out = (fn if loss is None else loss)(*new_args, **new_kwargs)
            if type(out) is tuple:
                return out[0]
            return out

        report = check_gradients(loss_of, named_grads, named_params, **check_options)
        state.checks += 1
        state.last_report = report
        if not report.passed:
            error = GradientMismatch(report)
            error.add_note(
                f"Checked by @checked_backward on call {state.calls} of {fn_name}() "
                f"(when={_policy_text(_OVERRIDE if _OVERRIDE is not None else period)!r}); "
                f"the report is also {fn_name}.gradcheck.last_report."
            )
            raise error

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        __tracebackhide__ = True
        override = _OVERRIDE
        if override == _NEVER:
            return fn(*args, **kwargs)
        calls = state.calls = state.calls + 1
        code = period if override is None else override
        if code == _ALWAYS:
            due = True
        elif code == _FIRST:
            due = calls == 1
        else:
            due = code > 1 and (calls - 1) % code == 0
        if due or calls == 1:
            return cast(_R, checked_call(args, kwargs, due))
        result = fn(*args, **kwargs)
        params = args[pos] if 0 <= pos < len(args) else find_params(args, kwargs)
        grads = split_result(result)
        if not _fits(params, grads):
            _check_structure(fn_name, params, grads, list_names(params))
        return result

    checked = cast(CheckedFunction[_P, _R], wrapper)
    checked.gradcheck = state
    return checked
