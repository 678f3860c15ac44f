"""Where a decorated backward's parameters are among its arguments, and what they are called.

The parameters are one argument (a dict or a list/tuple of arrays), or the ``params.py`` of
one: a model's ``self.params`` when the backward is a method.
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

__all__ = ["ParamsArgument", "by_name", "checked_names"]

_NONE = object()  # no .params at all


def checked_names(names: Sequence[str] | None) -> list[str] | None:
    """``names=`` as a list, after checking that it is one string per parameter."""
    if names is None:
        return None
    if isinstance(names, str) or not all(isinstance(n, str) for n in names):
        raise TypeError("names= must be a list of strings, one per parameter, in order")
    return list(names)


def by_name(values: Any, names: list[str] | None) -> dict[str, Any]:
    """Parameters (or gradients) as a dict name -> array: a dict as it is, a list named."""
    return dict(values) if names is None else dict(zip(names, values, strict=True))


def _resolve(fn: Callable[..., Any], params_arg: int | str) -> tuple[int | None, str | None]:
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


def _is_container(value: object) -> bool:
    return isinstance(value, Mapping) or (
        isinstance(value, Sequence) and not isinstance(value, str)
    )


def _reads(node: ast.expr, arg_name: str, model: bool) -> bool:
    """Whether ``node`` is the parameters: ``parameters``, or a model's ``self.params``."""
    if model:
        return (
            isinstance(node, ast.Attribute)
            and node.attr == "params"
            and isinstance(node.value, ast.Name)
            and node.value.id == arg_name
        )
    return isinstance(node, ast.Name) and node.id == arg_name


def _unpacked_names(fn: Callable[..., Any], arg_name: str, model: bool) -> list[str] | None:
    """Names from ``W1, b1, W2 = parameters`` (or ``= self.params``) in ``fn``'s body."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and _reads(node.value, arg_name, model)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Tuple | ast.List)
            and all(isinstance(elt, ast.Name) for elt in node.targets[0].elts)
        ):
            found = [cast(ast.Name, elt).id for elt in node.targets[0].elts]
            if len(set(found)) == len(found) and "_" not in found:
                return found
    return None


class ParamsArgument:
    """The argument of a decorated backward that holds the parameters (or the model).

    Attributes:
        position: its position in a call (-1 when it can only be passed by keyword).
        name: its name (``None`` when it is one of ``*args``).
    """

    def __init__(
        self, fn: Callable[..., Any], params_arg: int | str, names: list[str] | None
    ) -> None:
        position, self.name = _resolve(fn, params_arg)
        self.position = -1 if position is None else position
        self._fn = fn
        self._fn_name = getattr(fn, "__name__", "function")
        self._given_names = names
        self._list_names: list[str] | None = None  # fixed by the first list of parameters

    def _where(self, noun: str) -> str:
        return self.name or f"{noun} {self.position}"

    def find(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """The parameters in a call's arguments."""
        if 0 <= self.position < len(args):
            return args[self.position]
        if self.name is not None and self.name in kwargs:
            return kwargs[self.name]
        raise TypeError(
            f"{self._fn_name}() was called without its parameters argument "
            f"({self._where('position')}): pass it, or set params_arg= to the argument "
            "that holds the parameters"
        )

    def find_container(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, bool]:
        """The parameters (a dict or a list/tuple), and whether they are a model's.

        The argument holds them itself, or it is a model (``self`` on a method) whose
        ``params.py`` holds them; then the second item is ``True``.
        """
        given = self.find(args, kwargs)
        if _is_container(given):
            return given, False
        own = getattr(given, "params", _NONE)
        if _is_container(own):
            return own, True
        what = f"a {type(given).__name__}, " + (
            "which has no .params" if own is _NONE else f"whose .params is a {type(own).__name__}"
        )
        raise TypeError(
            f"{self._fn_name}()'s parameters ({self._where('argument')}) are {what}: they "
            "must be a dict name -> array or a list of arrays, or an object whose .params "
            "is one (on a model's method: keep the parameters in self.params); set "
            "params_arg= if the parameters are another argument"
        )

    def names_for(self, params: Any, model: bool = False) -> list[str] | None:
        """The names of a list of parameters (``None`` for a dict, which has its own).

        From ``names=``, else from an unpacking in the function's body, else
        ``parameters[0]``, ``parameters[1]``, ... (after the argument's name; for a
        model's, ``self.params[0]``, ...).
        """
        if isinstance(params, Mapping):
            return None
        if self._list_names is None:
            chosen = self._given_names
            if chosen is None and self.name is not None:
                inferred = _unpacked_names(self._fn, self.name, model)
                if inferred is not None and len(inferred) == len(params):
                    chosen = inferred
            if chosen is None:
                prefix = self.name or "params"
                prefix = f"{prefix}.params" if model else prefix
                chosen = [f"{prefix}[{i}]" for i in range(len(params))]
            self._list_names = chosen
        if len(self._list_names) != len(params):
            raise TypeError(
                f"names= has {len(self._list_names)} names but {self._fn_name}() got "
                f"{len(params)} parameters: give one name per parameter, in order"
            )
        return self._list_names

    def replaced(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        named: dict[str, Any],
        names: list[str] | None,
    ) -> tuple[list[Any], dict[str, Any]]:
        """Copies of a call's arguments with the parameters ``named`` in place of its own.

        ``named`` is a dict name -> array; it goes in as a dict, or, when the call's
        parameters are a list or tuple (``names`` not ``None``), as one of those, in order.
        """
        params: Any = named
        if names is not None:
            container = type(self.find(args, kwargs))
            items = [named[name] for name in names]
            params = items if container is list else container(items)
        new_args = list(args)
        new_kwargs = dict(kwargs)
        if 0 <= self.position < len(args):
            new_args[self.position] = params
        else:
            new_kwargs[cast(str, self.name)] = params
        return new_args, new_kwargs
