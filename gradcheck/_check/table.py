"""The report's table as cells (one header and one row per parameter), its footnotes, its
headline, and its findings (what is wrong, in words, a diagnosis shared by several
parameters said once). Shared by the terminal (``render_text.py``) and the notebook
(``render_html.py``).

A row never contradicts its verdict: a failed row shows a failing comparison, or "-" where
none applies (a gradient of the wrong shape shows both shapes instead)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from gradcheck._shapes.rule import grad_label

if TYPE_CHECKING:
    from gradcheck._check.report import GradientReport, ParameterResult

HEADER = ("param", "shape", "verdict", "worst at", "analytic", "numeric", "err/tol")


def _number(value: float) -> str:
    return "-" if value != value else f"{value: .4e}"


def _shape(result: ParameterResult) -> str:
    """The parameter's shape, and after "≠" the gradient's when they differ: the evidence
    of a shape failure, whose values (a reading after the fix) the row leaves out."""
    if result.grad_shape is None or result.grad_shape == result.shape:
        return str(result.shape)
    return f"{result.shape} ≠ {result.grad_shape}"


def _worst_at(result: ParameterResult) -> str:
    if result.method == "none" or result.analytic != result.analytic:
        return "-"
    if result.method == "joint":
        return "joint"
    if result.worst_index is None:
        return "direction"
    return str(result.worst_index)


def _ratio(result: ParameterResult) -> str:
    """err/tol to two digits, more where rounding would carry it across 1: a failing
    1.004 reads "1.004", not "1"; "-" where nothing is compared."""
    if result.error != result.error or result.tolerance != result.tolerance:
        return "-"
    ratio = result.error_ratio
    for digits in range(2, 18):
        text = f"{ratio:.{digits}g}"
        if (float(text) > 1) == (ratio > 1):
            break
    return text


#: The verdict cell of a gradient that could not be checked: never "ok".
UNCHECKED = "unchecked"


def _verdict(result: ParameterResult) -> str:
    if result.outcome == "passed":
        return "ok"
    if result.outcome == "inconclusive":
        return UNCHECKED
    return result.diagnosis.kind


def _joint_groups(report: GradientReport) -> dict[frozenset[str], list[str]]:
    """The parameters checked only by joint probes, by group (all the parameters those
    probes moved), in ``params`` order: their rows share one set of numbers."""
    groups: dict[frozenset[str], list[str]] = {}
    for r in report.results:
        if r.method == "joint":
            groups.setdefault(frozenset((r.name, *r.together)), []).append(r.name)
    return groups


def rows(report: GradientReport) -> list[tuple[str, ...]]:
    """The header, then one row of cells per parameter. Parameters checked only by the
    same joint probes share their numbers: the first one's row shows them, the others
    "-" (``footnotes`` says so)."""
    repeated = {name for names in _joint_groups(report).values() for name in names[1:]}
    table: list[tuple[str, ...]] = [HEADER]
    for r in report.results:
        values = (_number(r.analytic), _number(r.numeric), _ratio(r))
        table.append(
            (
                r.name,
                _shape(r),
                _verdict(r),
                _worst_at(r),
                *(("-", "-", "-") if r.name in repeated else values),
            )
        )
    return table


def footnotes(report: GradientReport) -> list[str]:
    """Sentences about the table: which parameters joint probes checked together, and
    which row shows their numbers (docs/how-it-decides.md, "Directions or entries")."""
    said = []
    for group, joint in _joint_groups(report).items():
        names = [r.name for r in report.results if r.name in group]
        every = "both" if len(names) == 2 else f"all {_COUNTS.get(len(names), len(names))}"
        listed = ", ".join(names[:-1]) + " and " + names[-1]
        said.append(
            f"{listed} were checked together, to save loss calls: each probe moved {every} "
            f"at once, so their rows share one set of numbers, shown on {joint[0]}'s row "
            '(see "Directions or entries" in How it decides).'
        )
    return said


#: Group sizes said in words ("all three"); larger ones in digits ("all 7").
_COUNTS = {3: "three", 4: "four", 5: "five"}


def headline(report: GradientReport) -> str:
    """What the check found, wrong gradients first, then those it could not check; "all
    gradients ok" only when every one was checked and agrees."""
    bad, unseen, total = len(report.failed), len(report.inconclusive), len(report.results)
    if bad:
        verdict = f"{bad} of {total} gradients wrong"
        if unseen:
            verdict += f", {unseen} could not be checked"
    elif unseen:
        verdict = f"{unseen} of {total} gradients could not be checked"
    else:
        verdict = "all gradients ok"
    return f"gradcheck: {verdict} ({report.loss_calls} loss calls, noise ≈ {report.noise:.1e})"


class Finding(NamedTuple):
    """What is wrong with one parameter's gradient, or with several alike.

    Attributes:
        names: the parameters it is about, in ``params`` order.
        text: the diagnosis's message for one parameter; for several, one sentence that
            names them all ("all 4 gradients are 64× ...").
    """

    names: tuple[str, ...]
    text: str

    def said(self) -> str:
        """The finding as one sentence: led by the parameter's name unless the text starts
        with it already ("dW2 is transposed", not "W2: dW2 is transposed")."""
        if len(self.names) > 1 or self.text.startswith(grad_label(self.names[0]) + " "):
            return self.text
        return f"{self.names[0]}: {self.text}"


#: The diagnoses said once for several gradients, and the verb their messages start with
#: (singular, plural): "dW1 is 64× ..." becomes "all 4 gradients are 64× ...".
_SHARED_VERBS = {
    "scaled": (" is ", " are "),
    "negated": (" has ", " have "),
    "unchecked": (" could not be checked: ", " could not be checked: "),
    "quantised": (" could not be checked: ", " could not be checked: "),
    "swapped": (" does not match: ", " do not match: "),
}


def _predicate(result: ParameterResult) -> str | None:
    """The message after its subject and verb, when several gradients can share it."""
    verbs = _SHARED_VERBS.get(result.diagnosis.kind)
    head = grad_label(result.name) + (verbs[0] if verbs else "")
    message = result.diagnosis.message
    if verbs is None or not message.startswith(head):
        return None
    return message[len(head) :]


def _subject(names: list[str], total: int) -> str:
    if len(names) == total:
        return "both gradients" if total == 2 else f"all {total} gradients"
    listed = ", ".join(names[:-1]) + " and " + names[-1]
    return f"the gradients of {listed}"


def findings(report: GradientReport) -> list[Finding]:
    """The diagnoses of the parameters that did not pass (wrong, or not checked: why and
    what to do) in ``params`` order; one that several share word for word (one missing 1/N
    makes every gradient ``scaled`` by one factor) is said once, where its first parameter
    stands. Each result's own ``Diagnosis`` is left as it is."""
    groups: dict[tuple[str, str], list[ParameterResult]] = {}
    for r in report.results:
        if r.passed:
            continue
        predicate = _predicate(r)
        key = (r.diagnosis.kind, predicate) if predicate is not None else ("", r.name)
        groups.setdefault(key, []).append(r)
    said: list[Finding] = []
    for (kind, predicate), members in groups.items():
        if len(members) == 1:
            said.append(Finding((members[0].name,), members[0].diagnosis.message))
            continue
        names = [r.name for r in members]
        if kind == "negated":  # "... the wrong sign: it is −1 × ..." of each of them
            predicate = predicate.replace(": it is ", ": each is ", 1)
        elif kind == "unchecked":  # "... it is below what ..." of each of them
            predicate = predicate.replace("it is below", "each is below", 1)
        plural = _SHARED_VERBS[kind][1]
        said.append(Finding(tuple(names), _subject(names, len(report)) + plural + predicate))
    return said
