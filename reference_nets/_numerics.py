"""The two pieces of arithmetic every net here shares, written so that nothing overflows.

Both take the axis or the array as it comes, so the row-major and the column-major nets
call the same function and differ only in the ``axis`` they pass.
"""

import numpy as np
from jaxtyping import Float


def log_softmax(scores: Float[np.ndarray, "m n"], *, axis: int) -> Float[np.ndarray, "m n"]:
    """``log softmax(scores)`` along ``axis``: log P = S − log Σ exp S.

    The largest score along ``axis`` is subtracted first. That changes nothing in exact
    arithmetic (it cancels between S and log Σ exp S) but keeps every ``exp`` at most 1,
    so large scores (1e3 and far beyond) neither overflow nor turn into ``inf - inf``.
    Taking the log of the sum, rather than of the probabilities, keeps log P finite even
    where P itself rounds to 0.
    """
    shifted = scores - np.max(scores, axis=axis, keepdims=True)  # S − max S ≤ 0, so exp ≤ 1
    sum_exp = np.sum(np.exp(shifted), axis=axis, keepdims=True)  # Σ exp(S − max S) ≥ 1
    log_probs: Float[np.ndarray, "m n"] = shifted - np.log(sum_exp)  # log P = S − log Σ exp S
    return log_probs


def sigmoid(z: Float[np.ndarray, "*shape"]) -> Float[np.ndarray, "*shape"]:
    """σ(z) = 1 / (1 + e^(−z)), elementwise, without overflow for any finite z.

    Only e^(−|z|) ≤ 1 is ever computed: σ(z) = 1 / (1 + e^(−z)) for z ≥ 0 and, multiplying
    through by e^z, σ(z) = e^z / (1 + e^z) for z < 0. For |z| beyond about 745 e^(−|z|)
    underflows to 0, which is the correctly rounded result (σ is then exactly 0 or 1 in
    float64); NumPy ignores underflow by default, so no warning is raised.
    """
    exp_minus_abs = np.exp(-np.abs(z))  # e^(−|z|) in (0, 1]
    positive_branch = 1.0 / (1.0 + exp_minus_abs)  # σ(z) for z ≥ 0
    negative_branch = exp_minus_abs / (1.0 + exp_minus_abs)  # σ(z) for z < 0
    result: Float[np.ndarray, "*shape"] = np.where(z >= 0, positive_branch, negative_branch)
    return result
