"""Where a gradient probed entry by entry is wrong (issue #17): the right gradient
rearranged (a flipped kernel, permuted axes, an off-by-one shift) is named
``rearranged``; an error in one part of the tensor is ``confined`` to it; a spread one
stays ``mismatch``. Each planted mistake has a correct twin that passes.
tests/test_where.py has the realistic layers."""

from __future__ import annotations

import numpy as np
import pytest

import gradcheck

rng = np.random.default_rng(7)
X = rng.standard_normal((2, 9))  # channels x time
DOUT = rng.standard_normal((3, 7))  # filters x output positions (9 - 3 + 1)
KERNEL = rng.standard_normal((3, 2, 3))  # filters x channels x taps


def conv_loss(params: dict[str, np.ndarray]) -> float:
    """Σ dout · conv1d(x, w): a 1-D valid cross-correlation, the way CNN layers compute."""
    w = params["w"]
    out = sum(np.einsum("fc,ct->ft", w[:, :, k], X[:, k : k + 7]) for k in range(3))
    return float(np.sum(out * DOUT))


def conv_grad(w: np.ndarray) -> np.ndarray:
    """∂L/∂w[f, c, k] = Σ_t dout[f, t] · x[c, t + k]."""
    del w
    return np.stack([np.einsum("ft,ct->fc", DOUT, X[:, k : k + 7]) for k in range(3)], axis=2)


def check(grad: np.ndarray) -> gradcheck.GradientReport:
    return gradcheck.check_gradients(conv_loss, {"w": grad}, {"w": KERNEL}, max_entries=64)


def test_the_correct_kernel_gradient_passes() -> None:
    assert check(conv_grad(KERNEL)).passed


def test_a_flipped_kernel_gradient_is_rearranged_and_says_which_axis() -> None:
    report = check(np.flip(conv_grad(KERNEL), axis=2).copy())  # convolution, not correlation
    diagnosis = report["w"].diagnosis
    assert diagnosis.kind == "rearranged", str(report)
    assert "flipped along axis 2" in diagnosis.message


def test_an_off_by_one_tap_is_rearranged_as_a_shift() -> None:
    report = check(np.roll(conv_grad(KERNEL), 1, axis=2))  # x[c, t + k - 1] for x[c, t + k]
    diagnosis = report["w"].diagnosis
    assert diagnosis.kind == "rearranged", str(report)
    assert "np.roll(dw, -1, axis=2)" in diagnosis.message


def test_permuted_axes_of_a_4d_kernel_are_rearranged() -> None:
    w = rng.standard_normal((2, 3, 4, 4))
    scale = rng.standard_normal((2, 3, 4, 4))

    def loss(params: dict[str, np.ndarray]) -> float:
        return float(np.sum(np.sin(params["w"]) * scale))

    right = np.cos(w) * scale
    assert gradcheck.check_gradients(loss, {"w": right}, {"w": w}, full=True).passed
    swapped_hw = np.ascontiguousarray(np.transpose(right, (0, 1, 3, 2)))
    report = gradcheck.check_gradients(loss, {"w": swapped_hw}, {"w": w}, full=True)
    assert report["w"].diagnosis.kind == "rearranged", str(report)
    assert "transpose(0, 1, 3, 2)" in report["w"].diagnosis.message


def test_an_error_confined_to_one_tap_is_said_where() -> None:
    wrong = conv_grad(KERNEL)
    wrong[:, :, 0] = 1.3 * wrong[:, :, 0] + 0.1  # only the first tap's formula is wrong
    report = check(wrong)
    diagnosis = report["w"].diagnosis
    assert diagnosis.kind == "confined", str(report)
    assert "dw is wrong only at index 0 of axis 2, and right everywhere else" in diagnosis.message


def test_an_error_on_the_border_is_said_to_be_on_the_border() -> None:
    w = rng.standard_normal((5, 4))

    def loss(params: dict[str, np.ndarray]) -> float:
        return float(np.sum(params["w"] ** 3) / 3)

    wrong = w**2
    wrong[[0, -1], :] += 0.5  # the padded rows mishandled
    report = gradcheck.check_gradients(loss, {"w": wrong}, {"w": w})
    assert report["w"].diagnosis.kind == "confined", str(report)
    assert "wrong only on the border of axis 0" in report["w"].diagnosis.message


@pytest.mark.parametrize("seed", range(5))
def test_a_spread_error_is_never_called_rearranged(seed: int) -> None:
    noise = np.random.default_rng(seed).standard_normal(KERNEL.shape)
    report = check(conv_grad(KERNEL) + 0.3 * noise)
    assert report["w"].diagnosis.kind == "mismatch", str(report)
    assert "wrong in 18 of 18 entries, spread over the tensor" in report["w"].diagnosis.message
