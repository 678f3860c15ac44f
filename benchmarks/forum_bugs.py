"""The forum net's correct gradients and six backprop bugs that bench_bugs.py gives every tool.

All at the initial weights: dW2 negated; every gradient 800× (the 1/N of the mean missing);
dW2 transposed; db1 without keepdims; dW1 without the ReLU mask; reg·W missing in dW1, dW2.
"""

from __future__ import annotations

# _common first: importing it pins BLAS to one thread before numpy loads.
from _common import ForumNet

# isort: split
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from reference_nets.two_layer_relu import row_major as net

REG = 1e-3


@dataclass(frozen=True)
class Bug:
    key: str
    label: str
    reg: float
    is_bug: bool
    make: Callable[[ForumNet, float], dict[str, NDArray[np.float64]]]


def _correct(p: ForumNet, reg: float) -> dict[str, NDArray[np.float64]]:
    return p.grads(reg)


def _negated_dW2(p: ForumNet, reg: float) -> dict[str, NDArray[np.float64]]:
    g = p.grads(reg)
    return {**g, "W2": -g["W2"]}


def _scaled_800(p: ForumNet, reg: float) -> dict[str, NDArray[np.float64]]:
    return {k: v * p.X.shape[0] for k, v in p.grads(reg).items()}


def _transposed_dW2(p: ForumNet, reg: float) -> dict[str, NDArray[np.float64]]:
    g = p.grads(reg)
    return {**g, "W2": np.ascontiguousarray(g["W2"].T)}


def _keepdims_db1(p: ForumNet, reg: float) -> dict[str, NDArray[np.float64]]:
    g = p.grads(reg)
    return {**g, "b1": g["b1"].reshape(-1)}


def _no_relu_mask_dW1(p: ForumNet, reg: float) -> dict[str, NDArray[np.float64]]:
    """The forum backward with dW1 = Xᵀ·∂L/∂H instead of Xᵀ·(∂L/∂H ⊙ 1[Z1 > 0])."""
    acts = net.forward(p.params, p.X)
    g = p.grads(reg)
    batch, classes = acts.scores.shape
    dscores = (np.exp(acts.log_probs) - np.eye(classes)[p.y]) / batch
    dhidden = dscores @ p.params["W2"].T
    return {**g, "W1": p.X.T @ dhidden + reg * p.params["W1"]}


def _no_reg_in_dW(p: ForumNet, reg: float) -> dict[str, NDArray[np.float64]]:
    return p.grads(0.0)  # the loss has reg; the weights' gradients lack reg·W


BUGS = (
    Bug("correct", "correct code", 0.0, False, _correct),
    Bug("correct_reg", f"correct code, reg = {REG:g}", REG, False, _correct),
    Bug("negated", "dW2 negated", 0.0, True, _negated_dW2),
    Bug("scaled", "all grads 800× (missing 1/N)", 0.0, True, _scaled_800),
    Bug("transposed", "dW2 transposed: (K, h), not (h, K)", 0.0, True, _transposed_dW2),
    Bug("keepdims", "db1 keepdims slip: (h,), not (1, h)", 0.0, True, _keepdims_db1),
    Bug("mask", "dW1 without the ReLU mask", 0.0, True, _no_relu_mask_dW1),
    Bug("reg", f"reg·W missing in dW1, dW2 (reg = {REG:g})", REG, True, _no_reg_in_dW),
)


def baseline(bug: Bug) -> Bug:
    """The correct-code row with the same loss (the same reg) as ``bug``."""
    return next(b for b in BUGS if not b.is_bug and b.reg == bug.reg)
