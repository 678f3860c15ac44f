"""The forum's two-layer ReLU net at small, distinct sizes, and a clean policy override: what
the decorator, annotation and trace tests share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypedDict

import numpy as np
import pytest
from jaxtyping import Float

from gradcheck._integrations import policy

# Distinct sizes everywhere: a square matrix would hide a transpose.
N, D, H, K = 7, 3, 5, 4

Params = dict[str, np.ndarray]


class ForumParams(TypedDict):
    """The forum net's parameters, examples in rows."""

    W1: Float[np.ndarray, "d_in hidden"]
    b1: Float[np.ndarray, "1 hidden"]
    W2: Float[np.ndarray, "hidden classes"]
    b2: Float[np.ndarray, "1 classes"]


@pytest.fixture
def no_override(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Each test starts and ends with no process-wide override."""
    monkeypatch.delenv("GRADCHECK", raising=False)
    policy.override.reload_environment()
    policy.override.set(None)
    yield
    policy.override.set(None)
    monkeypatch.delenv("GRADCHECK", raising=False)
    policy.override.reload_environment()


def override_in_force() -> str | int | None:
    """The process-wide override's text, or None."""
    current = policy.override.current
    return None if current is None else current.text


# --------------------------------------------------------- the forum net (rows = examples)


def make_forum(seed: int = 0) -> tuple[Params, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    params = {
        "W1": rng.standard_normal((D, H)),
        "b1": 0.1 * rng.standard_normal((1, H)),
        "W2": rng.standard_normal((H, K)),
        "b2": 0.1 * rng.standard_normal((1, K)),
    }
    X = rng.standard_normal((N, D))
    y = rng.integers(0, K, size=N)
    return params, X, y


def forum_loss(params: Params, X: np.ndarray, y: np.ndarray) -> float:
    hidden = np.maximum(0, X @ params["W1"] + params["b1"])
    scores = hidden @ params["W2"] + params["b2"]
    scores = scores - scores.max(axis=1, keepdims=True)
    logprobs = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    return float(-logprobs[np.arange(len(y)), y].mean())


def forum_grads(params: Params, X: np.ndarray, y: np.ndarray) -> Params:
    hidden = np.maximum(0, X @ params["W1"] + params["b1"])
    scores = hidden @ params["W2"] + params["b2"]
    probs = np.exp(scores - scores.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    dscores = probs
    dscores[np.arange(len(y)), y] -= 1
    dscores /= len(y)
    dW2 = hidden.T @ dscores
    db2 = np.sum(dscores, axis=0, keepdims=True)
    dhidden = dscores @ params["W2"].T
    dhidden[hidden <= 0] = 0
    dW1 = X.T @ dhidden
    db1 = np.sum(dhidden, axis=0, keepdims=True)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
