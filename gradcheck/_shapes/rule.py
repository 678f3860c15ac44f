"""Say, in words, why a gradient's shape differs from its parameter's.

A gradient always has its parameter's shape. When it does not, the difference usually
tells the mistake: reversed axes are a transpose (``dscores.T @ hidden`` instead of
``hidden.T @ dscores``), an extra or missing axis of size 1 is a ``keepdims`` slip, and an
extra leading axis is a sum over the batch that was never taken. Every sentence about a
shape slip (a ``GradientShapeError`` line, a ``"shape"`` diagnosis) is
written here.
"""

from __future__ import annotations

from typing import Literal

ShapeSlip = Literal["transposed", "keepdims", "batch", "other"]

#: What to do about a transposed gradient, however it shows (reversed axes here, or a
#: square gradient whose transpose matches the finite differences).
TRANSPOSE_REMEDY = (
    "swap the operands of the product and transpose them, e.g. "
    "hidden.T @ dscores instead of dscores.T @ hidden"
)


def grad_label(name: str) -> str:
    """How a message names the gradient of ``name``: ``dW2`` for a plain name, else ``the
    gradient of params[1]`` or ``the gradient of decoder.weight`` ("d" before a dotted or
    indexed name would read as part of the name)."""
    return f"d{name}" if name.isidentifier() else f"the gradient of {name}"


def classify_shape_slip(
    param_shape: tuple[int, ...], grad_shape: tuple[int, ...]
) -> ShapeSlip | None:
    """Classify how ``grad_shape`` differs from ``param_shape``; ``None`` if they are equal."""
    if param_shape == grad_shape:
        return None
    if len(param_shape) >= 2 and grad_shape == tuple(reversed(param_shape)):
        return "transposed"
    squeezed_param = tuple(n for n in param_shape if n != 1)
    squeezed_grad = tuple(n for n in grad_shape if n != 1)
    if squeezed_param == squeezed_grad:
        return "keepdims"
    if len(grad_shape) == len(param_shape) + 1 and grad_shape[1:] == param_shape:
        return "batch"
    same_rank = len(grad_shape) == len(param_shape) >= 1
    if same_rank and param_shape[0] == 1 and grad_shape[1:] == param_shape[1:]:
        # b is (1, K) but the gradient is (N, K): the batch axis was not summed out.
        return "batch"
    if len(grad_shape) == len(param_shape) + 1 and grad_shape[:-1] == param_shape:
        # column-major: b is (K,) but the gradient is (K, N).
        return "batch"
    if same_rank and param_shape[-1] == 1 and grad_shape[:-1] == param_shape[:-1]:
        # column-major: b is (K, 1) but the gradient is (K, N).
        return "batch"
    return "other"


def describe_shape_slip(
    name: str, param_shape: tuple[int, ...], grad_shape: tuple[int, ...]
) -> str:
    """One sentence naming the gradient, both shapes, and what the difference looks like."""
    slip = classify_shape_slip(param_shape, grad_shape)
    label = grad_label(name)
    head = f"{label} has shape {grad_shape} but {name} has shape {param_shape}"
    if slip is None:
        return f"{label} has the same shape as {name}, {param_shape}"
    if slip == "transposed":
        return f"{head}: the axes are reversed, so the gradient is transposed ({TRANSPOSE_REMEDY})"
    if slip == "keepdims":
        return (
            f"{head}: an axis of size 1 is missing or extra "
            "(a keepdims=True slip in a sum, or a squeeze/reshape)"
        )
    if slip == "batch":
        return (
            f"{head}: it still has the batch axis, so the gradient was not summed "
            "over the examples (sum over the batch axis, e.g. np.sum(..., axis=0))"
        )
    if 0 in grad_shape and 0 not in param_shape:
        return (
            f"{head}: an axis of size 0 comes from an empty slice (a[p:-p] is empty when "
            "p = 0: write a[p:a.shape[i] - p]); a gradient must have exactly its "
            "parameter's shape"
        )
    return f"{head}: a gradient must have exactly its parameter's shape"
