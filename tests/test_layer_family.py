"""check_layer on the whole cs231n-style layer family (issue 15), through the public API.

Every correct layer of tests/layers passes at three seeds and leaves the caller's arrays
alone; every planted bug there (each says, next to its code, what it must be called) fails
on the right parameters with the right kinds, and the layer's other parameters pass.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import gradcheck
from tests.layers import basic
from tests.layers.cases import (
    LAYERS,
    LOSSES,
    PLANTED_BUGS,
    LayerCase,
    LossCase,
    checked_positions,
)
from tests.layers.planted import PlantedBug

SEEDS = (0, 1, 2)


def _inputs(case: LayerCase | LossCase, seed: int) -> tuple[Any, ...]:
    """The case's inputs drawn for ``seed``: each seed checks the layer somewhere else."""
    return case.make_inputs(np.random.default_rng(seed))


def _check_layer(case: LayerCase, backward: Callable[..., Any], seed: int) -> Any:
    """check_layer of ``case.forward`` with ``backward`` at the inputs for ``seed``."""
    inputs = _inputs(case, seed)
    return gradcheck.check_layer(case.forward, backward, *inputs, seed=seed, **case.options)


def _check_loss(case: LossCase, loss: Callable[..., Any], seed: int) -> Any:
    """check_gradients of ``loss(x, *data) -> (loss, dx)`` at the inputs for ``seed``."""
    x, *data = _inputs(case, seed)
    return gradcheck.check_gradients(lambda x: loss(x, *data), None, x, seed=seed)


def _checked_names(forward: Callable[..., Any], inputs: tuple[Any, ...]) -> list[str]:
    """forward's argument names at the floating-point inputs: the report's parameters."""
    names = list(inspect.signature(forward).parameters)
    return [names[i] for i in checked_positions(inputs)]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(LAYERS))
def test_correct_layer_passes_and_leaves_inputs_alone(name: str, seed: int) -> None:
    case = LAYERS[name]
    inputs = _inputs(case, seed)
    before = [value.copy() for value in inputs if isinstance(value, np.ndarray)]
    report = gradcheck.check_layer(case.forward, case.backward, *inputs, seed=seed, **case.options)
    assert report.passed, str(report)
    assert [r.name for r in report.results] == _checked_names(case.forward, inputs)
    after = [value for value in inputs if isinstance(value, np.ndarray)]
    assert all(np.array_equal(a, b) for a, b in zip(after, before, strict=True))


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", list(LOSSES))
def test_correct_loss_layer_passes(name: str, seed: int) -> None:
    report = _check_loss(LOSSES[name], LOSSES[name].loss, seed)
    assert report.passed, str(report)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("bug", PLANTED_BUGS, ids=lambda bug: bug.id)
def test_planted_bug_is_named_and_the_rest_pass(bug: PlantedBug, seed: int) -> None:
    if bug.layer in LOSSES:
        report = _check_loss(LOSSES[bug.layer], bug.wrong, seed)
    else:
        report = _check_layer(LAYERS[bug.layer], bug.wrong, seed)
    assert {r.name: r.diagnosis.kind for r in report.failed} == dict(bug.failing), str(report)
    if bug.factor is not None:
        (broken,) = bug.failing
        assert report[broken].diagnosis.factor == pytest.approx(bug.factor, rel=1e-3)
    for name, words in bug.where.items():  # the part of the tensor, as the report names it
        assert words in report[name].diagnosis.message, str(report)


def test_every_layer_and_loss_has_a_planted_bug() -> None:
    uncovered = (set(LAYERS) | set(LOSSES)) - {bug.layer for bug in PLANTED_BUGS}
    # Variants of a covered layer, and non-overlapping pooling, where = for += is harmless.
    assert uncovered == {
        "affine, dict of gradients",
        "conv, None for conv_param",
        "word embedding, None for x",
        "lstm step, outputs=2",
        "max pool 2x2, stride 2",
    }


def test_relu_masking_its_cache_in_place_is_mutated_and_callers_x_is_untouched() -> None:
    x = np.random.default_rng(0).standard_normal((10, 10))
    original = x.copy()
    report = gradcheck.check_layer(basic.relu_forward, basic.relu_backward_masks_cache_in_place, x)
    assert report["x"].diagnosis.kind == "mutated"
    assert "backward" in report["x"].diagnosis.message
    assert x.tobytes() == original.tobytes()


def test_dropout_without_a_seed_is_refused() -> None:
    x, options = _inputs(LAYERS["dropout"], 0)
    del options["seed"]
    with pytest.raises(ValueError, match="not deterministic"):
        gradcheck.check_layer(basic.dropout_forward, basic.dropout_backward, x, options)
