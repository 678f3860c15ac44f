"""Listeners told about every finished gradient check (the pytest plugin counts them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from gradcheck._check.report import GradientReport

Listener = Callable[["GradientReport"], None]

_listeners: list[Listener] = []


def subscribe(listener: Listener) -> Callable[[], None]:
    """Call ``listener(report)`` after every check; returns a function that unsubscribes."""
    _listeners.append(listener)

    def unsubscribe() -> None:
        if listener in _listeners:
            _listeners.remove(listener)

    return unsubscribe


def notify_check(report: GradientReport) -> None:
    """Tell every listener that a check finished with ``report``."""
    for listener in tuple(_listeners):
        listener(report)
