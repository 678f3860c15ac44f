"""The demo (``make demo``, ``python -m reference_nets``): train the nets, catch the slips.

:func:`main` trains the forum question's two-layer ReLU net (source 000) in both layouts,
the course's three-class net the same way and the Code Review's three-layer sigmoid net
(source 003) in its own layout, each with plain gradient descent and one progress bar (on a
terminal only, see :mod:`reference_nets._progress`). Then it checks each net's
hand-written gradients with :func:`gradcheck.check_gradients`, at the start and at the end
(one line when they pass), plants one classic slip of the source threads (a transposed
``dW2``, a forgotten ``1/N``, a ``keepdims`` slip, a forgotten ``reg·W2``, the Code
Review's norm over the wrong axis; see :mod:`reference_nets._slips`) and shows what
gradcheck names it, in three lines. It ends with a summary table and, when matplotlib is
installed, the paths of the loss curves and decision regions it wrote. The whole output
is about 70 lines.

By default the forum net takes 1000 steps so that the whole demo stays well under a
minute; ``--full`` takes the forum's 3000. The exit status is 1 if a correct gradient
failed its check or a slip was not caught and named as expected.

``python -m reference_nets`` runs :func:`main` with one BLAS thread (see ``__main__.py``).
"""

import argparse
import importlib.util
import time
from collections.abc import Sequence
from pathlib import Path

from reference_nets._demo_runs import DemoRun, code_review_run, spiral_run
from reference_nets._experiments import COURSE_NET, FORUM_NET
from reference_nets.data import Layout

LAYOUTS: tuple[Layout, ...] = ("row_major", "column_major")
DEFAULT_FORUM_STEPS = 1000
CODE_REVIEW_STEPS = 5000


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m reference_nets",
        description=(
            "Train the forum's and the course's two-layer ReLU nets in both layouts and the "
            "Code Review's sigmoid net, check every gradient with gradcheck, plant each "
            "thread's classic slip and show gradcheck naming it; plot the results."
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
    parser.add_argument(
        "--code-review-steps",
        type=int,
        default=CODE_REVIEW_STEPS,
        help=f"steps for the Code Review's net; 0 skips it (default: {CODE_REVIEW_STEPS})",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed for data and initial weights")
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("demo_output"),
        help="folder for the PNG plots (default: ./demo_output)",
    )
    parser.add_argument(
        "--log-every",
        type=int,
        default=100,
        help="record the loss every this many steps, for the loss curves (default: 100)",
    )
    args = parser.parse_args(argv)
    if args.steps is not None and args.steps < 1:
        parser.error("--steps must be at least 1")
    if min(args.course_steps, args.code_review_steps) < 0 or args.log_every < 1:
        parser.error("--course-steps and --code-review-steps must be at least 0, --log-every 1")
    return args


def forum_steps(args: argparse.Namespace) -> int:
    """How many steps the forum net takes: --steps, else 3000 with --full, else 1000."""
    if args.steps is not None:
        return int(args.steps)
    return FORUM_NET.steps if args.full else DEFAULT_FORUM_STEPS


def print_summary(runs: Sequence[DemoRun], seconds: float) -> None:
    """One row per net and check: the correct gradients (start and end) and the slip."""
    rows = [("net", "layout", "check", "verdict")]
    for demo in runs:
        start, end, slip = demo.outcomes
        correct = next((o for o in (start, end) if not o.as_expected), end)
        rows.append((demo.net, demo.layout, "correct", correct.verdict))
        rows.append((demo.net, demo.layout, slip.check.title, slip.verdict))
    widths = [max(len(row[column]) for row in rows) for column in range(3)]
    print("\n== summary ==")
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  " + "  ".join([*cells, row[3]]))
    slips = [demo.outcomes[2] for demo in runs]
    correct_checks = [outcome for demo in runs for outcome in demo.outcomes[:2]]
    caught = sum(outcome.as_expected for outcome in slips)
    false_alarms = sum(bool(outcome.report.failed) for outcome in correct_checks)
    unchecked = sum(not outcome.report.passed for outcome in correct_checks) - false_alarms
    not_checked = f", {unchecked} not fully checked" if unchecked else ""
    print(f"  planted slips: {caught} of {len(slips)} caught and named")
    print(
        f"  correct gradients: {false_alarms} false alarms{not_checked} in "
        f"{len(correct_checks)} checks (training and checks took {seconds:.0f} s)"
    )


def save_plots(runs: Sequence[DemoRun], out: Path) -> list[Path]:
    """Write each net's loss curves and each spiral net's decision regions into ``out``."""
    from reference_nets._plots import save_decision_regions, save_loss_curves

    out.mkdir(parents=True, exist_ok=True)
    written = []
    for net in dict.fromkeys(demo.net for demo in runs):
        same_net = [demo for demo in runs if demo.net == net]
        slug = net.replace(" ", "_")
        written.append(
            save_loss_curves(
                {demo.layout: demo.run for demo in same_net},
                out / f"{slug}_loss.png",
                title=f"{net}: training loss",
            )
        )
        for demo in same_net:
            if demo.problem is None:
                continue
            written.append(
                save_decision_regions(
                    demo.predict_rows,
                    demo.points_as_rows(),
                    demo.problem.y,
                    out / f"{slug}_{demo.layout}_regions.png",
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
    print(
        "gradcheck demo: train the source threads' nets and check their gradients, then\n"
        "plant each thread's classic slip and see gradcheck catch and name it."
    )
    runs = [
        spiral_run(experiment, layout, steps=steps, seed=args.seed, log_every=args.log_every)
        for experiment, steps in plan
        for layout in LAYOUTS
    ]
    if args.code_review_steps > 0:
        runs.append(
            code_review_run(steps=args.code_review_steps, seed=args.seed, log_every=args.log_every)
        )
    print_summary(runs, time.perf_counter() - started)

    if importlib.util.find_spec("matplotlib") is None:
        print("\nmatplotlib is not installed: no plots (pip install 'gradcheck[plot]').")
    else:
        print(f"\nplots written to {args.out}/:")
        for path in save_plots(runs, args.out):
            print(f"  {path}")
    return 0 if all(demo.as_expected for demo in runs) else 1
