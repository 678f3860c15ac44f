"""The demo's runs: train one net in one layout, then check it, correct and with a slip.

:func:`spiral_run` does this for the forum's and the course's two-layer ReLU nets,
:func:`code_review_run` for the Code Review's three-layer sigmoid net (its slip is in the
loss). Each prints a few lines: the training's result, the correct gradients' verdict, the
planted slip and what gradcheck named it.
"""

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
from jaxtyping import Float, Int

from reference_nets._code_review_losses import squared_loss_norm_axis1
from reference_nets._experiments import SpiralExperiment, SpiralProblem, make_problem
from reference_nets._progress import progress_bar
from reference_nets._slips import (
    CODE_REVIEW_SLIP_LINE,
    Check,
    Outcome,
    Slip,
    forgotten_mean,
    forgotten_reg,
    keepdims_db2,
    planted,
    run,
    transposed_dW2,
)
from reference_nets._training import TrainingRun, train
from reference_nets._types import Matrix, Params
from reference_nets.data import Layout
from reference_nets.three_layer_sigmoid import column_major as code_review_net

#: The Code Review's net and data (source 003): 3 → 4 → 4 → 2, a batch of 5 random
#: inputs in [0, 1) and standard normal targets, as its ``initialize`` draws them.
CODE_REVIEW_SIZES = {"d_in": 3, "hidden1": 4, "hidden2": 4, "d_out": 2}
CODE_REVIEW_BATCH = 5
CODE_REVIEW_STEP_SIZE = 0.9

#: Which slip the demo plants into which net: one thread's classic slip per run.
SPIRAL_SLIPS: dict[tuple[str, Layout], Callable[[SpiralProblem], Slip]] = {
    ("forum net", "row_major"): lambda problem: transposed_dW2(problem.layout),
    ("forum net", "column_major"): lambda problem: forgotten_mean(len(problem.y)),
    ("course net", "row_major"): lambda problem: keepdims_db2(problem.layout),
    ("course net", "column_major"): lambda problem: forgotten_reg(
        problem.layout, problem.experiment.reg
    ),
}


@dataclass(frozen=True)
class DemoRun:
    """One net trained in one layout, and its checks' outcomes.

    Attributes:
        net, layout: which net.
        run: the training run (its losses are the loss curve).
        outcomes: the correct gradients at the start and at the end, then the slip.
        seconds: how long training and checks took.
        problem: the spiral problem (for the decision regions), ``None`` for the Code Review.
        accuracy: the training accuracy, ``None`` for the Code Review's regression.
    """

    net: str
    layout: Layout
    run: TrainingRun
    outcomes: tuple[Outcome, ...]
    seconds: float
    problem: SpiralProblem | None = None
    accuracy: float | None = None

    @property
    def name(self) -> str:
        return f"{self.net}, {self.layout}"

    @property
    def as_expected(self) -> bool:
        """Correct gradients passed and the slip was caught and named."""
        return all(outcome.as_expected for outcome in self.outcomes)

    def predict_rows(self, points: Float[np.ndarray, "n 2"]) -> Int[np.ndarray, " n"]:
        """The trained net's labels for points given one per row, whatever its layout."""
        assert self.problem is not None, "only the spiral nets classify points"
        inputs = points if self.layout == "row_major" else points.T
        return self.problem.net.predict(self.run.params, inputs)

    def points_as_rows(self) -> Float[np.ndarray, "batch 2"]:
        """The training points, one per row."""
        assert self.problem is not None, "only the spiral nets have points"
        X = self.problem.X
        return X if self.layout == "row_major" else X.T


def train_with_progress(
    loss: Callable[[Params], float],
    gradients: Callable[[Params], Mapping[str, Matrix]],
    params: Params,
    *,
    steps: int,
    step_size: float,
    log_every: int,
    description: str,
) -> TrainingRun:
    """:func:`reference_nets._training.train` with one progress bar (on a terminal only)."""
    with progress_bar(steps, description) as bar:

        def gradients_and_tick(current: Params) -> Mapping[str, Matrix]:
            grads = gradients(current)
            bar.advance()
            return grads

        return train(
            loss,
            gradients_and_tick,
            params,
            steps=steps,
            step_size=step_size,
            log_every=log_every,
            on_log=lambda _, value: bar.show_loss(value),
        )


def check_and_show(correct_start: Check, correct_end: Check, slip: Check) -> tuple[Outcome, ...]:
    """Run the three checks of one net and print what they found, a few lines."""
    outcomes = (run(correct_start), run(correct_end), run(slip))
    start, end, slipped = outcomes
    if start.as_expected and end.as_expected:
        print(
            f"  correct gradients: ok at the start and after training "
            f"({start.report.loss_calls} + {end.report.loss_calls} loss calls)"
        )
    for when, outcome in (("at the start", start), ("after training", end)):
        if not outcome.as_expected:
            print(f"  correct gradients {when}: {outcome.verdict}")
            print("\n".join(outcome.explanation(indent="    ")))
    print(f"  planted slip: {slip.line}")
    named = "; ".join(slipped.findings()) or "all gradients ok: the slip was MISSED"
    print(f"  gradcheck: {named} ({slipped.report.loss_calls} loss calls)")
    explanation = slipped.explanation(indent="    ")
    if explanation:
        print("\n".join(explanation))
    return outcomes


def trained_line(run_: TrainingRun, seconds: float, accuracy: float | None) -> str:
    """``1000 steps in 11.9 s: loss 0.6930 → 0.0734, training accuracy 0.9750``."""
    losses = f"loss {run_.losses[0]:.4f} → {run_.losses[-1]:.4f}"
    line = f"  {run_.steps[-1]} steps in {seconds:.1f} s: {losses}"
    return line if accuracy is None else f"{line}, training accuracy {accuracy:.4f}"


def spiral_run(
    experiment: SpiralExperiment, layout: Layout, *, steps: int, seed: int, log_every: int
) -> DemoRun:
    """Train a two-layer ReLU net on its spiral, check it, plant its slip and check again."""
    problem = make_problem(experiment, layout=layout, seed=seed)
    print(
        f"\n== {experiment.title}, {layout} ({experiment.classes} classes × "
        f"{experiment.points_per_class} points, hidden {experiment.hidden}, "
        f"reg {experiment.reg:g}) =="
    )
    started = time.perf_counter()
    training = train_with_progress(
        problem.loss,
        problem.gradients,
        problem.initial_params,
        steps=steps,
        step_size=experiment.step_size,
        log_every=log_every,
        description=f"{experiment.title}, {layout}",
    )
    accuracy = problem.accuracy(training.params)
    print(trained_line(training, time.perf_counter() - started, accuracy))

    def correct(params: Params) -> Check:
        own = dict(params)
        return Check(
            experiment.title, layout, "correct gradients", problem.loss,
            problem.gradients(own), own,
        )  # fmt: skip

    end = correct(training.params)
    slip = planted(end, SPIRAL_SLIPS[experiment.title, layout](problem))
    outcomes = check_and_show(correct(problem.initial_params), end, slip)
    seconds = time.perf_counter() - started
    return DemoRun(experiment.title, layout, training, outcomes, seconds, problem, accuracy)


def code_review_run(*, steps: int, seed: int, log_every: int) -> DemoRun:
    """Train the Code Review's net, then check its gradients against both loss revisions."""
    rng = np.random.default_rng(seed)
    params = code_review_net.init_params(**CODE_REVIEW_SIZES, rng=rng)
    X = rng.random((CODE_REVIEW_SIZES["d_in"], CODE_REVIEW_BATCH))
    targets = rng.standard_normal((CODE_REVIEW_SIZES["d_out"], CODE_REVIEW_BATCH))
    sizes = " → ".join(str(size) for size in CODE_REVIEW_SIZES.values())
    print(f"\n== code review net, column_major ({sizes}, a batch of {CODE_REVIEW_BATCH}) ==")

    def loss(p: Params) -> float:  # the second revision: the norm over axis 0
        return code_review_net.loss(p, X, targets)

    def first_revision_loss(p: Params) -> float:  # the norm over axis 1
        return squared_loss_norm_axis1(code_review_net.forward(p, X).predictions, targets)

    def gradients(p: Params) -> dict[str, Matrix]:
        return code_review_net.gradients(p, X, targets)

    started = time.perf_counter()
    training = train_with_progress(
        loss, gradients, params, steps=steps, step_size=CODE_REVIEW_STEP_SIZE,
        log_every=log_every, description="code review net, column_major",
    )  # fmt: skip
    print(trained_line(training, time.perf_counter() - started, None))
    net: tuple[str, Layout] = ("code review net", "column_major")
    end_params = dict(training.params)
    start = Check(*net, "correct gradients", loss, gradients(params), params)
    end = Check(*net, "correct gradients", loss, gradients(end_params), end_params)
    slip = Check(
        *net, "loss over axis=1", first_revision_loss, end.gradients, end_params,
        expect="scaled", names=tuple(end_params), line=CODE_REVIEW_SLIP_LINE,
    )  # fmt: skip
    outcomes = check_and_show(start, end, slip)
    return DemoRun(*net, training, outcomes, time.perf_counter() - started)
