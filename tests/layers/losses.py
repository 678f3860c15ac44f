"""Loss layers, ``loss(x, y) -> (loss, dx)``: SVM, softmax and temporal softmax."""

from __future__ import annotations

import numpy as np

from tests.layers.planted import planted_bug

Array = np.ndarray


def svm_loss(x: Array, y: Array) -> tuple[float, Array]:
    """Multiclass hinge loss with margin 1, averaged over the N examples."""
    n = x.shape[0]
    rows = np.arange(n)
    margins = np.maximum(0.0, x - x[rows, y][:, None] + 1.0)
    margins[rows, y] = 0.0
    active = (margins > 0).astype(x.dtype)
    dx = active
    dx[rows, y] -= active.sum(axis=1)
    return float(margins.sum() / n), dx / n


@planted_bug("svm loss", x="mismatch")
def svm_loss_forgets_correct_class(x: Array, y: Array) -> tuple[float, Array]:
    """Bug: dx has the +1 of every active margin but not the -count on the correct class."""
    n = x.shape[0]
    rows = np.arange(n)
    margins = np.maximum(0.0, x - x[rows, y][:, None] + 1.0)
    margins[rows, y] = 0.0
    return float(margins.sum() / n), (margins > 0) / n


def _log_softmax(scores: Array) -> Array:
    """log of the softmax of each row, shifted by the row's maximum for stability."""
    shifted = scores - scores.max(axis=1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax_loss(x: Array, y: Array) -> tuple[float, Array]:
    """Cross-entropy of the softmax of x's rows against the labels y, averaged over N."""
    n = x.shape[0]
    rows = np.arange(n)
    log_probs = _log_softmax(x)
    dx = np.exp(log_probs)
    dx[rows, y] -= 1.0
    return float(-log_probs[rows, y].sum() / n), dx / n


@planted_bug("softmax loss", factor=50.0, x="scaled")
def softmax_loss_no_mean(x: Array, y: Array) -> tuple[float, Array]:
    """Bug: the loss is averaged over N but dx is not divided by N."""
    loss, dx = softmax_loss(x, y)
    return loss, dx * x.shape[0]


def temporal_softmax_loss(x: Array, y: Array, mask: Array) -> tuple[float, Array]:
    """Softmax loss at every time step of x (N, T, V), counted where mask is True, over N."""
    n, steps, vocab = x.shape
    scores, labels, weights = x.reshape(-1, vocab), y.reshape(-1), mask.reshape(-1)
    rows = np.arange(len(labels))
    log_probs = _log_softmax(scores)
    loss = -(weights * log_probs[rows, labels]).sum() / n
    dscores = np.exp(log_probs)
    dscores[rows, labels] -= 1.0
    dscores *= weights[:, None] / n
    return float(loss), dscores.reshape(n, steps, vocab)


@planted_bug(
    "temporal softmax loss", x="confined", where={"x": "where the loss does not depend on it"}
)
def temporal_softmax_loss_unmasked_dx(x: Array, y: Array, mask: Array) -> tuple[float, Array]:
    """Bug: the loss skips masked steps, but dx is computed for every step."""
    loss, _ = temporal_softmax_loss(x, y, mask)
    _, dx_everywhere = temporal_softmax_loss(x, y, np.ones_like(mask))
    return loss, dx_everywhere
