"""Which calls of a ``@checked_backward`` function get the finite-difference check.

One ``Policy`` type, parsed by ``Policy.parse`` from the three places a policy is
written (a decorator's ``when=``, the ``GRADCHECK`` environment variable and pytest's
``--gradcheck`` option), and ``override``, the process-wide policy that beats every
decorator's own. Standard library only, so that the pytest plugin may import it cheaply.
"""

from __future__ import annotations

import os
from typing import Literal, cast

__all__ = ["ENV_VAR", "Override", "Policy", "PolicyText", "override"]

ENV_VAR = "GRADCHECK"

PolicyText = Literal["first", "always", "never"] | int
"""How a policy is written: ``"first"``, ``"always"``, ``"never"`` or an int N >= 2."""

_EVERY = {"first": 0, "always": 1, "never": 0}


class Policy:
    """A policy: which calls of a decorated backward get the finite-difference check.

    Make one with ``parse``. ``"first"`` checks call 1, ``"always"`` every call,
    ``"never"`` none, and N calls 1, N + 1, 2N + 1, ...

    Attributes:
        text: the policy as written, normalised: ``"first"``, ``"always"``, ``"never"`` or
            N >= 2 (N = 1 is ``"always"``).
        never: whether it is ``"never"``; as an override, that turns every decorated
            function into a plain call.
    """

    __slots__ = ("_every", "never", "text")

    def __init__(self, text: PolicyText) -> None:
        self.text: PolicyText = text
        self.never = text == "never"
        # Calls 1, 1 + every, 1 + 2 * every, ... are due; 0: call 1 only, or none if never.
        self._every = text if isinstance(text, int) else _EVERY[text]

    @classmethod
    def parse(cls, value: object, *, source: str) -> Policy:
        """The policy ``value`` stands for: a name (any case) or a whole number N >= 1.

        ``source`` names where the value was written (``"when"``, ``"GRADCHECK"``, ...); the
        error messages start with it.

        Raises:
            TypeError: if ``value`` is a bool.
            ValueError: if ``value`` is neither a policy name nor a whole number N >= 1.
        """
        if isinstance(value, Policy):
            return value
        if isinstance(value, bool):
            raise TypeError(
                f"{source}={value!r} is not a policy: use 'first', 'always', 'never' or an int "
                "N (check every N-th call)"
            )
        if isinstance(value, int):
            if value < 1:
                raise ValueError(
                    f"{source}={value} is not a policy: an every-N policy needs N >= 1 "
                    "(use 'never' to switch the finite-difference check off)"
                )
            return cls("always" if value == 1 else value)
        if isinstance(value, str):
            text = value.strip().lower()
            if text in _EVERY:
                return cls(cast(PolicyText, text))
            if text.isdigit() and int(text) >= 1:
                return cls.parse(int(text), source=source)
        raise ValueError(
            f"{source}={value!r} is not a policy: use 'first', 'always', 'never' "
            "or a whole number N >= 1 (check every N-th call)"
        )

    def due(self, call_number: int) -> bool:
        """Whether call ``call_number`` (counted from 1) gets the check."""
        if self._every:
            return (call_number - 1) % self._every == 0
        return call_number == 1 and not self.never

    def __repr__(self) -> str:
        return f"Policy({self.text!r})"


def _from_environment() -> Policy | None:
    """The policy in ``GRADCHECK``, or ``None`` when it is unset or empty.

    Raises:
        ValueError: one line naming the variable, its value and the values it may take
            (not chained to ``Policy.parse``'s error, which is worded for ``when=``).
    """
    text = os.environ.get(ENV_VAR, "").strip()
    if not text:
        return None
    try:
        return Policy.parse(text, source=ENV_VAR)
    except ValueError:
        pass
    raise ValueError(
        f"the environment variable {ENV_VAR}={os.environ[ENV_VAR]!r} is not a policy: use "
        f"{ENV_VAR}=first, always, never or a whole number N >= 1 (check every N-th call), or "
        "unset it"
    )


class Override:
    """The process-wide policy that beats every decorator's ``when=``.

    An explicit one (``set``: the pytest option, or a test) wins over the ``GRADCHECK``
    environment variable. The variable is read when first needed (the first call of a
    decorated function), not at import, so that a bad value is one clear ``ValueError``
    where gradcheck is used rather than an error inside ``import``; while it stays bad,
    each use raises it again (nothing runs with a policy the user did not write), and once
    read it is not read again until ``reload_environment``.

    Attributes:
        explicit: the one given to ``set``, or ``None``.
    """

    __slots__ = ("_environment", "_environment_read", "explicit")

    def __init__(self) -> None:
        self.explicit: Policy | None = None
        self._environment: Policy | None = None
        self._environment_read = False

    @property
    def current(self) -> Policy | None:
        """The override in force (explicit, else the environment's), or ``None``.

        Raises:
            ValueError: if no override is set and ``GRADCHECK`` holds something other
                than a policy.
        """
        if self.explicit is not None:
            return self.explicit
        if not self._environment_read:
            try:
                self.reload_environment()
            except ValueError as error:  # the user's mistake: no frames of ours below this
                raise error.with_traceback(None) from None
        return self._environment

    def set(self, value: Policy | str | int | None) -> None:
        """Override every decorator's ``when`` in this process (``None``: stop overriding).

        ``"never"`` turns every decorated function into a plain call: no shape check, no
        annotation check, no finite differences.

        Raises:
            ValueError: if ``value`` is not a policy (see ``Policy.parse``) or ``None``.
        """
        self.explicit = None if value is None else Policy.parse(value, source="override")

    def reload_environment(self) -> None:
        """Read the ``GRADCHECK`` environment variable again.

        Raises:
            ValueError: if it holds something other than a policy (it is then read again
                on the next use).
        """
        self._environment_read = False
        self._environment = _from_environment()
        self._environment_read = True


override = Override()
"""The process's override, read by every ``@checked_backward`` call."""
