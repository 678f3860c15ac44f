"""gradcheck's pytest plugin, registered through the ``pytest11`` entry point.

What it adds to a pytest run:

* ``--gradcheck=never|first|always|N`` (or the ini option ``gradcheck``): the policy of
  every ``@checked_backward`` function for the whole run, e.g. ``--gradcheck=always`` in CI
  checks every call of every decorated backward. The command line wins over the
  ``GRADCHECK`` environment variable, which wins over the ini option; the decorators' own
  ``when=`` apply when none is set. The override is lifted when the run ends.
* Readable failures: when a test fails with ``GradientMismatch``,
  ``GradientShapeError`` or ``AnnotationMismatch``,
  gradcheck's own frames are cut from the traceback and the arguments of the frames left
  are not printed (they are arrays), so the failure shows where the test called the check
  and the report's table (``--fulltrace`` shows everything). When a test fails some other
  way (``assert report.passed``) after a check in it failed, that check's table is added
  as a section of the failure. A check that could not see every gradient (an
  inconclusive outcome) did not pass: it counts as failed here, as everywhere.
* A line in the terminal summary: how many gradient checks ran, how many failed, and how
  many of those only because a gradient could not be checked.

This module imports only pytest and the standard library. At run time it loads
gradcheck's ``events`` and ``policy`` modules, which import nothing more; NumPy and the
core are loaded only by the tests that use them.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from gradcheck._check.report import GradientReport
    from gradcheck._integrations.policy import Policy

__all__: list[str] = []

_ENV_VAR = "GRADCHECK"  # policy.ENV_VAR, which this module does not import at load
_INI = "gradcheck"


def _policy(text: str) -> str:
    """argparse ``type=`` for ``--gradcheck``: a policy name or a whole number N >= 1.

    Returns the text as the summary line shows it, which ``override.set`` parses again.
    """
    from gradcheck._integrations.policy import Policy

    try:
        Policy.parse(text, source="--gradcheck")
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a gradcheck policy: use never, first, always or a whole number "
            "N >= 1 (check every N-th call)"
        ) from None
    return text.strip().lower()


@dataclass
class _State:
    """One pytest run's counts and settings (kept in ``config.stash``)."""

    policy: str | None = None
    policy_source: str = ""
    #: The explicit override in force before this run set one (restored at the end).
    previous_override: Policy | None = None
    checks: int = 0
    failed: int = 0
    #: Of the failed checks, those with nothing wrong but a gradient not checked.
    unchecked: int = 0
    #: Failed checks in the current test phase (setup, call or teardown), and the last one.
    phase_failed: int = 0
    phase_last_failure: GradientReport | None = None
    unsubscribe: Callable[[], None] | None = field(default=None, repr=False)

    def on_check(self, report: GradientReport) -> None:
        self.checks += 1
        if not report.passed:
            self.failed += 1
            self.unchecked += not report.failed
            self.phase_failed += 1
            self.phase_last_failure = report

    def subscribe_if_imported(self) -> None:
        """Listen to gradcheck's checks (idempotent)."""
        if self.unsubscribe is not None:
            return
        # events imports nothing, and `import gradcheck` loads nothing until used: no cost.
        from gradcheck._integrations import events

        self.unsubscribe = events.subscribe(self.on_check)

    def start_phase(self) -> None:
        self.subscribe_if_imported()
        self.phase_failed = 0
        self.phase_last_failure = None


_STATE = pytest.StashKey[_State]()


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--gradcheck`` and the ini option ``gradcheck``."""
    group = parser.getgroup("gradcheck", "gradcheck: checks of hand-written gradients")
    group.addoption(
        "--gradcheck",
        dest="gradcheck_policy",
        default=None,
        type=_policy,
        metavar="never|first|always|N",
        help=(
            "which calls of every @checked_backward function get the finite-difference "
            "check in this run: never, first, always, or every N-th call. Overrides each "
            "decorator's when= and the GRADCHECK environment variable."
        ),
    )
    parser.addini(
        _INI,
        type="string",
        default="",
        help=(
            "default for --gradcheck (never, first, always or N); the GRADCHECK "
            "environment variable and --gradcheck win over it"
        ),
    )


def pytest_configure(config: pytest.Config) -> None:
    """Set the policy override for the run and start counting checks."""
    if os.environ.get(_ENV_VAR, "").strip():
        from gradcheck._integrations.policy import override

        try:  # a bad GRADCHECK said once for the run, not by every test that uses it
            override.reload_environment()
        except ValueError as error:
            raise pytest.UsageError(str(error)) from None
    state = _State()
    config.stash[_STATE] = state
    option: str | None = config.getoption("gradcheck_policy")
    ini = str(config.getini(_INI)).strip()
    if option is not None:
        state.policy, state.policy_source = option, "--gradcheck"
    elif ini and not os.environ.get(_ENV_VAR, "").strip():
        try:
            state.policy = _policy(ini)
        except argparse.ArgumentTypeError as error:
            raise pytest.UsageError(f"ini option {_INI} = {ini!r}: {error}") from None
        state.policy_source = f"ini option {_INI}"
    if state.policy is not None:
        from gradcheck._integrations.policy import override

        state.previous_override = override.explicit
        override.set(state.policy)
    state.subscribe_if_imported()


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop counting and put back the policy override that was in force before the run."""
    state = config.stash.get(_STATE, None)
    if state is None:
        return
    if state.unsubscribe is not None:
        state.unsubscribe()
        state.unsubscribe = None
    if state.policy is not None:
        from gradcheck._integrations.policy import override

        override.set(state.previous_override)
    del config.stash[_STATE]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start counting if the collected test modules imported gradcheck."""
    state = session.config.stash.get(_STATE, None)
    if state is not None:
        state.subscribe_if_imported()


# ----------------------------------------------------------------- readable failures


#: gradcheck's verdicts on user code: exceptions whose message is the whole story.
_VERDICTS = (
    "gradcheck.GradientMismatch",
    "gradcheck.GradientShapeError",
    "gradcheck.AnnotationMismatch",
)


def _is_verdict(error: BaseException) -> bool:
    """Known by the name gradcheck shows (``gradcheck.errors`` sets it), not by class
    identity: a class from an earlier import of gradcheck (pytest's in-process runs unload
    the modules a run imported) is still a verdict."""
    kind = type(error)
    return f"{kind.__module__}.{kind.__qualname__}" in _VERDICTS


def _package_dir(module: ModuleType) -> str | None:
    path = getattr(module, "__file__", None)
    return None if path is None else os.path.dirname(os.path.abspath(path)) + os.sep


def _related(error: BaseException) -> Generator[BaseException, None, None]:
    """``error``, the exceptions of an exception group (hypothesis raises those), and
    its causes and contexts, each once."""
    seen: set[int] = set()
    pending = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        if isinstance(current, BaseExceptionGroup):
            pending.extend(current.exceptions)
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)


def _contains_verdict(error: BaseException) -> bool:
    return any(_is_verdict(e) for e in _related(error))


def _cut_library_frames(tb: TracebackType | None, library: str) -> TracebackType | None:
    """The traceback ``tb`` with the frames of files under ``library`` unlinked."""
    kept: list[TracebackType] = []
    while tb is not None:
        if not os.path.abspath(tb.tb_frame.f_code.co_filename).startswith(library):
            kept.append(tb)
        tb = tb.tb_next
    for outer, inner in itertools.pairwise(kept):
        outer.tb_next = inner
    if kept:
        kept[-1].tb_next = None
    return kept[0] if kept else None


def _hide_library_frames(error: BaseException) -> None:
    """Cut gradcheck's frames from the tracebacks of the verdicts in ``error``."""
    gradcheck = sys.modules.get("gradcheck")
    library = None if gradcheck is None else _package_dir(gradcheck)
    if library is None:
        return
    for e in _related(error):
        if _is_verdict(e):
            e.with_traceback(_cut_library_frames(e.__traceback__, library))


def _watch_phase(item: pytest.Item) -> Generator[None, object, object]:
    """Body of the setup, call and teardown wrappers."""
    state = item.config.stash.get(_STATE, None)
    if state is not None:
        state.start_phase()
    try:
        return (yield)
    except BaseException as error:
        if not item.config.getoption("fulltrace", False):
            _hide_library_frames(error)
        raise
    finally:
        if state is not None:
            state.subscribe_if_imported()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, object, object]:
    """Watch the setup phase (see ``_watch_phase``)."""
    return (yield from _watch_phase(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    """Watch the test itself (see ``_watch_phase``)."""
    return (yield from _watch_phase(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(
    item: pytest.Item, nextitem: pytest.Item | None
) -> Generator[None, object, object]:
    """Watch the teardown phase (see ``_watch_phase``)."""
    return (yield from _watch_phase(item))


def _drop_function_arguments(longrepr: object) -> None:
    """Remove the ``name = value`` argument lines of every traceback entry in ``longrepr``.

    pytest's long style prints each frame's arguments; in a gradient failure they are the
    parameters and data, many lines of array digits that bury the report. ``--showlocals``
    still shows them.
    """
    for reprtraceback, _crash, _description in getattr(longrepr, "chain", ()):
        for entry in getattr(reprtraceback, "reprentries", ()):
            if getattr(entry, "reprfuncargs", None) is not None:
                entry.reprfuncargs = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Make gradient failures readable (see the module docstring)."""
    report = yield
    state = item.config.stash.get(_STATE, None)
    if state is None or not report.failed or call.excinfo is None:
        return report
    if _contains_verdict(call.excinfo.value):
        if not item.config.getoption("fulltrace", False):
            _drop_function_arguments(report.longrepr)
    elif state.phase_last_failure is not None:
        text = str(state.phase_last_failure)
        message = str(call.excinfo.value)
        if " ".join(text.split()) in " ".join(message.split()):
            return report  # ``assert report.passed, str(report)`` shows it already
        if state.phase_failed > 1:
            text += f"\n({state.phase_failed} checks failed in this {call.when}; this is the last)"
        report.sections.append((f"gradcheck: failed check in {call.when}", text))
    return report


# ----------------------------------------------------------------------- summary


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    """One line: how many gradient checks ran, how many failed, and the policy if set."""
    state = config.stash.get(_STATE, None)
    if state is None or (state.checks == 0 and state.policy is None):
        return
    plural = "" if state.checks == 1 else "s"
    line = f"gradcheck: {state.checks} gradient check{plural} ran, {state.failed} failed"
    if state.unchecked:
        line += f" ({state.unchecked} of them could not check every gradient)"
    if state.policy is not None:
        line += f" (policy {state.policy} from {state.policy_source})"
    terminalreporter.ensure_newline()
    terminalreporter.write_sep("-", line)
