"""The source threads' classic slips, planted into correct gradients for the demo.

Each slip is the gradient a backward pass with one wrong line would return, made from the
net's correct gradients (or, for the Code Review's slip, the loss its first revision
computed): a transposed ``dW2``, a forgotten ``1/N``, a forgotten ``keepdims=True``, a
forgotten ``reg·W2`` and the Code Review's norm over the wrong axis. A :class:`Check` pairs
a loss with the gradients to check and says what gradcheck should find; :func:`run` runs it
and :class:`Outcome` words the result in a few short lines.
"""

import re
import shutil
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

import gradcheck
from reference_nets._types import ParamDict, Params
from reference_nets.data import Layout

#: A planted slip: the correct gradients and the parameters in, the slipped gradients out.
Plant = Callable[[ParamDict, Params], ParamDict]


@dataclass(frozen=True)
class Slip:
    """One wrong line of a backward pass.

    Attributes:
        title: a short name ("transposed dW2"), the summary's check column.
        line: the wrong line and the right one, as the demo prints them.
        kind: the diagnosis gradcheck should give.
        names: the parameters it should name.
        plant: makes the slipped gradients from the correct ones.
    """

    title: str
    line: str
    kind: gradcheck.DiagnosisKind
    names: tuple[str, ...]
    plant: Plant


def transposed_dW2(layout: Layout) -> Slip:
    """The forum question's slip: the operands of dW2's product swapped and transposed."""
    wrong, right = {
        "row_major": ("dW2 = dscores.T @ hidden", "hidden.T @ dscores"),
        "column_major": ("dW2 = hidden @ dscores.T", "dscores @ hidden.T"),
    }[layout]
    return Slip(
        "transposed dW2",
        f"{wrong}   (right: {right})",
        "transposed",
        ("W2",),
        lambda grads, _: {**grads, "W2": grads["W2"].T},
    )


def forgotten_mean(batch: int) -> Slip:
    """The loss averages over the batch; the backward forgets to divide by N."""
    return Slip(
        "forgotten 1/N",
        "dscores = probs - onehot   (right: (probs - onehot) / N)",
        "scaled",
        ("W1", "b1", "W2", "b2"),
        lambda grads, _: {name: grad * batch for name, grad in grads.items()},
    )


def keepdims_db2(layout: Layout) -> Slip:
    """The bias gradient summed without ``keepdims=True``: (classes,) for (1, classes)."""
    axis = 0 if layout == "row_major" else 1
    return Slip(
        "keepdims slip, db2",
        f"db2 = np.sum(dscores, axis={axis})   (right: ..., keepdims=True)",
        "shape",
        ("b2",),
        lambda grads, _: {**grads, "b2": grads["b2"].reshape(-1)},
    )


def forgotten_reg(layout: Layout, reg: float) -> Slip:
    """The loss has ½·reg·ΣW2²; the backward forgets its gradient, reg·W2."""
    product = "hidden.T @ dscores" if layout == "row_major" else "dscores @ hidden.T"
    return Slip(
        "forgotten reg·W2",
        f"dW2 = {product}   (right: ... + reg * W2)",
        "regularisation",
        ("W2",),
        lambda grads, params: {**grads, "W2": grads["W2"] - reg * params["W2"]},
    )


#: The Code Review's first revision of its squared loss, as its line reads.
CODE_REVIEW_SLIP_LINE = "norm(P - T, axis=1) in the loss   (right: axis=0, per example)"


@dataclass(frozen=True)
class Check:
    """One gradient check of the demo: what is checked, and what gradcheck should find.

    Attributes:
        net, layout: which trained net.
        title: "correct gradients" or the slip's title.
        loss, gradients, params: the arguments of ``gradcheck.check_gradients``.
        expect: ``"ok"`` for correct gradients, else the diagnosis the slip should get.
        names: the parameters the slip should be named for.
        line: the slipped line, for a planted slip.
    """

    net: str
    layout: Layout
    title: str
    loss: Callable[[Params], float]
    gradients: ParamDict
    params: ParamDict
    expect: gradcheck.DiagnosisKind = "ok"
    names: tuple[str, ...] = ()
    line: str = ""

    @property
    def planted(self) -> bool:
        return self.expect != "ok"


def planted(check: Check, slip: Slip) -> Check:
    """``check`` (on correct gradients) with ``slip`` planted into its gradients."""
    return Check(
        check.net,
        check.layout,
        slip.title,
        check.loss,
        slip.plant(check.gradients, check.params),
        check.params,
        expect=slip.kind,
        names=slip.names,
        line=slip.line,
    )


@dataclass(frozen=True)
class Outcome:
    """A check and its report."""

    check: Check
    report: gradcheck.GradientReport

    @property
    def as_expected(self) -> bool:
        """Correct gradients passed, or the slip was caught and named as it should be."""
        if not self.check.planted:
            return self.report.passed
        failed = self.report.failed
        return {result.name for result in failed} == set(self.check.names) and all(
            result.diagnosis.kind == self.check.expect for result in failed
        )

    def findings(self, *, short: bool = False) -> list[str]:
        """The failed parameters grouped by diagnosis: "W2 transposed", "W1 b1 scaled ×800".

        ``short`` (for the summary table) says "all 4" for a group of every parameter and
        leaves out a regularisation coefficient.
        """
        groups: dict[str, list[str]] = {}
        for result in (r for r in self.report if not r.passed):
            groups.setdefault(_diagnosis_name(result.diagnosis, short=short), []).append(
                result.name
            )
        return [
            f"{_names(names, len(self.report), short=short)} {diagnosis}"
            for diagnosis, names in groups.items()
        ]

    @property
    def verdict(self) -> str:
        """The summary's verdict column."""
        named = "; ".join(self.findings(short=True))
        if not self.check.planted:
            if self.report.failed:
                return f"FALSE ALARM: {named}"
            return "ok" if self.report.passed else f"not checked: {named}"
        if self.report.passed:
            return "MISSED"
        if not self.report.failed:
            return f"not checked (neither caught nor missed): {named}"
        return f"caught: {named}" if self.as_expected else f"caught as {named}"

    def explanation(self, *, indent: str, max_lines: int = 3) -> list[str]:
        """The first parameter's diagnosis that did not pass (wrong, or not checked), its
        first sentence, wrapped to the terminal."""
        if self.report.passed:
            return []
        first = next(r for r in self.report if not r.passed)
        message = first_sentence(first.diagnosis.message)
        width = min(shutil.get_terminal_size((80, 24)).columns, 100)
        return textwrap.wrap(
            message,
            width=max(width, 40),
            initial_indent=indent,
            subsequent_indent=indent,
            max_lines=max_lines,
            placeholder=" …",
        )


#: A full stop followed by a space, not after an abbreviation.
_SENTENCE_END = re.compile(r"(?<!\be\.g)(?<!\bi\.e)\.(?=\s)")


def _names(names: list[str], parameters: int, *, short: bool) -> str:
    return f"all {parameters}" if short and 1 < len(names) == parameters else " ".join(names)


def _diagnosis_name(diagnosis: gradcheck.Diagnosis, *, short: bool) -> str:
    if diagnosis.factor is None or (short and diagnosis.kind == "regularisation"):
        return diagnosis.kind
    if diagnosis.kind == "regularisation":
        return f"{diagnosis.kind} (reg ≈ {diagnosis.factor:.3g})"
    return f"{diagnosis.kind} ×{diagnosis.factor:.3g}"


def first_sentence(message: str) -> str:
    """Up to the first full stop that ends a sentence (not in "0.4", "dW2.T" or "e.g.")."""
    match = _SENTENCE_END.search(message)
    return message if match is None else message[: match.start() + 1]


def run(check: Check) -> Outcome:
    """Run ``gradcheck.check_gradients`` on the check's loss, gradients and parameters."""
    return Outcome(check, gradcheck.check_gradients(check.loss, check.gradients, check.params))
