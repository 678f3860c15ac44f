"""The demo (``make demo``, ``python -m reference_nets``): train and check the nets.

:func:`main` trains the forum question's two-layer ReLU net (source 000) in
both layouts on its own spiral data with plain gradient descent, then the course's
three-class net the same way. Around each training run it checks every hand-written
gradient with :func:`gradcheck.check_gradients`, at the start and at the end, and prints
the reports; then it prints the training accuracies and, when matplotlib is installed,
writes loss curves and decision regions as PNG files.

By default the forum net takes 1000 steps so that the whole demo stays well under a
minute; ``--full`` takes the forum's 3000. The exit status is 1 if any gradient check
failed.

``python -m reference_nets`` runs :func:`main` with one BLAS thread (see ``__main__.py``).
"""

import argparse
import importlib.util
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from jaxtyping import Float, Int

import gradcheck
from reference_nets._experiments import (
    COURSE_NET,
    FORUM_NET,
    SpiralExperiment,
    SpiralProblem,
    make_problem,
)
from reference_nets._training import TrainingRun
from reference_nets._types import ParamDict
from reference_nets.data import Layout

LAYOUTS: tuple[Layout, ...] = ("row_major", "column_major")
DEFAULT_FORUM_STEPS = 1000


@dataclass(frozen=True)
class DemoRun:
    """One net trained in one layout, and what the demo found."""

    problem: SpiralProblem
    run: TrainingRun
    accuracy: float
    checks_passed: bool
    seconds: float

    @property
    def name(self) -> str:
        return f"{self.problem.experiment.title}, {self.problem.layout}"

    def predict_rows(self, points: Float[np.ndarray, "n 2"]) -> Int[np.ndarray, " n"]:
        """The trained net's labels for points given one per row, whatever its layout."""
        inputs = points if self.problem.layout == "row_major" else points.T
        return self.problem.net.predict(self.run.params, inputs)

    def points_as_rows(self) -> Float[np.ndarray, "batch 2"]:
        """The training points, one per row."""
        X = self.problem.X
        return X if self.problem.layout == "row_major" else X.T


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m reference_nets",
        description=(
            "Train the forum's two-layer ReLU net and the course's three-class net in both "
            "layouts with gradient descent, check every gradient with gradcheck before and "
            "after training, and plot the results."
        ),
    )
    parser.add_argument(
        "--full",
        action="store_true",
        help=f"train the forum net for the forum's {FORUM_NET.steps} steps "
        f"(default: {DEFAULT_FORUM_STEPS})",
    )
    parser.add_argument(
        "--steps", type=int, default=None, help="steps for the forum net (overrides --full)"
    )
    parser.add_argument(
        "--course-steps",
        type=int,
        default=COURSE_NET.steps,
        help=f"steps for the course net; 0 skips it (default: {COURSE_NET.steps})",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for data and initial weights")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("demo_output"),
        help="folder for the PNG plots (default: ./demo_output)",
    )
    parser.add_argument(
        "--log-every", type=int, default=100, help="print the loss every this many steps"
    )
    args = parser.parse_args(argv)
    if args.steps is not None and args.steps < 1:
        parser.error("--steps must be at least 1")
    if args.course_steps < 0 or args.log_every < 1:
        parser.error("--course-steps must be at least 0 and --log-every at least 1")
    return args


def forum_steps(args: argparse.Namespace) -> int:
    """How many steps the forum net takes: --steps, else 3000 with --full, else 1000."""
    if args.steps is not None:
        return int(args.steps)
    return FORUM_NET.steps if args.full else DEFAULT_FORUM_STEPS


def train_and_check(
    experiment: SpiralExperiment, layout: Layout, *, steps: int, seed: int, log_every: int
) -> DemoRun:
    """Train one net in one layout; check its gradients at the start and at the end."""
    problem = make_problem(experiment, layout=layout, seed=seed)
    net, X, y, reg = problem.net, problem.X, problem.y, experiment.reg
    print(
        f"\n== {experiment.title}, {layout}: {experiment.classes} classes × "
        f"{experiment.points_per_class} points, noise {experiment.noise}, "
        f"hidden {experiment.hidden}, reg {experiment.reg:g}, step {experiment.step_size:g}, "
        f"{steps} steps =="
    )
    started = time.perf_counter()

    def check_gradients_at(when: str, params: ParamDict) -> bool:
        report = gradcheck.check_gradients(
            lambda p: net.loss(p, X, y, reg), net.gradients(params, X, y, reg), params
        )
        print(f"  gradient check {when}:")
        print("    " + str(report).replace("\n", "\n    "))
        return report.passed

    def show_progress(step: int, loss: float) -> None:
        print(f"  step {step:6d}   loss {loss:.6f}")

    passed_at_start = check_gradients_at("at the start", problem.initial_params)
    run = problem.train(steps=steps, log_every=log_every, on_log=show_progress)
    passed_at_end = check_gradients_at(f"after {steps} steps", run.params)
    accuracy = problem.accuracy(run.params)
    seconds = time.perf_counter() - started
    print(f"  training accuracy {accuracy:.4f}   ({seconds:.1f} s)")
    return DemoRun(problem, run, accuracy, passed_at_start and passed_at_end, seconds)


def save_plots(runs: Sequence[DemoRun], out: Path) -> list[Path]:
    """Write the loss curves and every net's decision regions into ``out``."""
    from reference_nets._plots import save_decision_regions, save_loss_curves

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for title in dict.fromkeys(demo.problem.experiment.title for demo in runs):
        same_net = [demo for demo in runs if demo.problem.experiment.title == title]
        slug = title.replace(" ", "_")
        written.append(
            save_loss_curves(
                {demo.problem.layout: demo.run for demo in same_net},
                out / f"{slug}_loss.png",
                title=f"{title}: training loss",
            )
        )
        for demo in same_net:
            written.append(
                save_decision_regions(
                    demo.predict_rows,
                    demo.points_as_rows(),
                    demo.problem.y,
                    out / f"{slug}_{demo.problem.layout}_regions.png",
                    title=f"{demo.name}: accuracy {demo.accuracy:.3f}",
                )
            )
    return written


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    plan = [(FORUM_NET, forum_steps(args))]
    if args.course_steps > 0:
        plan.append((COURSE_NET, args.course_steps))
    started = time.perf_counter()
    runs = [
        train_and_check(experiment, layout, steps=steps, seed=args.seed, log_every=args.log_every)
        for experiment, steps in plan
        for layout in LAYOUTS
    ]

    print("\n== summary ==")
    print(f"  {'net':<34} {'steps':>6} {'final loss':>11} {'accuracy':>9}  gradients")
    for demo in runs:
        verdict = "ok" if demo.checks_passed else "WRONG"
        print(
            f"  {demo.name:<34} {demo.run.steps[-1]:>6} {demo.run.losses[-1]:>11.6f} "
            f"{demo.accuracy:>9.4f}  {verdict}"
        )

    if importlib.util.find_spec("matplotlib") is None:
        print("\nmatplotlib is not installed: no plots (pip install 'gradcheck[plot]').")
    else:
        for path in save_plots(runs, args.out):
            print(f"  wrote {path}")
    print(f"\ndone in {time.perf_counter() - started:.1f} s")
    return 0 if all(demo.checks_passed for demo in runs) else 1
