"""Gradient descent reproduces the sources' training accuracies.

Each experiment is set up here with the sources' own numbers, then trained exactly as the
sources did: full-batch gradient descent from 0.01·N(0, 1) weights and zero biases.
"""

import time

import numpy as np
import pytest

from reference_nets._experiments import (
    COURSE_NET,
    FORUM_NET,
    LINEAR_NET,
    SpiralExperiment,
    make_problem,
)
from reference_nets._training import train
from tests.reference_nets._problems import LAYOUTS, Array, Layout

# The sources' own numbers, restated here to check the demo's copies: title, points per
# class, classes, angle noise, hidden units (None: the linear classifier), reg, step size,
# steps. Source 000, the forum question: no regularisation.
FORUM = SpiralExperiment("forum net", 400, 2, 0.5, 1000, 0.0, 1.0, 3000)
# The course's case study that notebook 002 follows.
COURSE = SpiralExperiment("course net", 100, 3, 0.2, 100, 1e-3, 1.0, 10_000)
# Notebook 002's linear classifier; it prints a training accuracy of 0.51.
LINEAR = SpiralExperiment("linear softmax", 100, 3, 0.2, None, 1e-3, 1.0, 200)


def test_the_demo_uses_the_sources_settings() -> None:
    assert FORUM_NET == FORUM
    assert COURSE_NET == COURSE
    assert LINEAR_NET == LINEAR


# ----------------------------------------------------------------------- the loop itself


def quadratic_loss(params: dict[str, Array] | object) -> float:
    assert isinstance(params, dict)
    return float(0.5 * np.sum(params["w"] ** 2))


def quadratic_gradients(params: dict[str, Array] | object) -> dict[str, Array]:
    assert isinstance(params, dict)
    return {"w": params["w"].copy()}


def test_train_steps_downhill_records_the_schedule_and_leaves_the_start_alone() -> None:
    start = {"w": np.array([[4.0, -2.0]])}
    logged: list[tuple[int, float]] = []
    run = train(
        quadratic_loss,
        quadratic_gradients,
        start,
        steps=25,
        step_size=0.5,
        log_every=10,
        on_log=lambda step, loss: logged.append((step, loss)),
    )
    np.testing.assert_array_equal(start["w"], [[4.0, -2.0]])
    assert run.steps == [0, 10, 20, 25]
    assert logged == list(zip(run.steps, run.losses, strict=True))
    # w ← w − 0.5·w halves w each step: L = ½‖w‖² falls by 4 per step.
    np.testing.assert_allclose(run.params["w"], start["w"] * 0.5**25, rtol=1e-15)
    np.testing.assert_allclose(run.losses, [10.0 * 0.25**step for step in run.steps], rtol=1e-15)


def test_train_with_zero_steps_records_the_start() -> None:
    run = train(quadratic_loss, quadratic_gradients, {"w": np.ones((1, 2))}, steps=0, step_size=1.0)
    assert run.steps == [0]
    assert run.losses == [1.0]


@pytest.mark.parametrize(("steps", "log_every"), [(-1, 10), (5, 0)])
def test_train_refuses_nonsense(steps: int, log_every: int) -> None:
    with pytest.raises(ValueError, match="steps"):
        train(
            quadratic_loss,
            quadratic_gradients,
            {"w": np.ones((1, 2))},
            steps=steps,
            step_size=1.0,
            log_every=log_every,
        )


# -------------------------------------------------------------------- the sources' runs


# The issue measured 0.981–0.984 with three seeds; so did we (seeds 0, 1, 2 give 0.98375,
# 0.9825, 0.98125 in either layout). 0.975 leaves room for another platform's rounding
# without letting a broken net through: an untrained net scores about 0.5, and after 3000
# steps a net with one wrong gradient term stalls far lower. A run takes about 13 s on
# two cores, so each layout is trained once, with a different seed.
@pytest.mark.parametrize(("layout", "seed"), [("row_major", 0), ("column_major", 1)])
def test_forum_net_reaches_0_975(layout: Layout, seed: int) -> None:
    problem = make_problem(FORUM, layout=layout, seed=seed)
    started = time.perf_counter()
    run = problem.train()
    elapsed = time.perf_counter() - started
    accuracy = problem.accuracy(run.params)
    print(f"forum net {layout} seed {seed}: accuracy {accuracy:.5f} in {elapsed:.1f} s")
    assert run.steps[-1] == 3000
    assert accuracy >= 0.975
    assert run.losses[-1] < 0.1 < run.losses[0]


# Measured 0.983–0.99 over seeds 0–2 in both layouts.
@pytest.mark.parametrize(("layout", "seed"), [("row_major", 0), ("column_major", 1)])
def test_course_net_reaches_0_98(layout: Layout, seed: int) -> None:
    problem = make_problem(COURSE, layout=layout, seed=seed)
    run = problem.train()
    assert run.steps[-1] == 10_000
    assert problem.accuracy(run.params) >= 0.98


# A linear classifier cannot follow three interleaved arms: it cuts the plane into three
# wedges and gets about half the points right. The notebook printed 0.51; over seeds
# 0–199 we measured 0.473–0.563 (mean 0.525), in both layouts alike. The band 0.45–0.6
# holds all of them, and a broken gradient that leaves the classifier near chance (1/3)
# or a net that is not linear (the course net reaches 0.98) falls outside it.
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("seed", range(5))
def test_linear_classifier_gets_about_half_right(layout: Layout, seed: int) -> None:
    problem = make_problem(LINEAR, layout=layout, seed=seed)
    run = problem.train(log_every=10)
    # The notebook's loss: 1.0975 at the start (≈ log 3 = 1.0986) and 0.7607 at the end.
    assert run.losses[0] == pytest.approx(np.log(3), abs=0.01)
    assert 0.7 < run.losses[-1] < 0.8
    assert all(later <= earlier for earlier, later in zip(run.losses, run.losses[1:], strict=False))
    assert 0.45 <= problem.accuracy(run.params) <= 0.6
