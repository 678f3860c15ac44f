"""Hypothesis strategies for testing hand-written backpropagation.

They draw what a backward is tested with: layer sizes (``layer_sizes``), MLP parameter
dicts in either layout (``mlp_params``), inputs at chosen scales (``inputs``),
class labels (``labels``) and regression targets (``targets``). This module needs
`hypothesis <https://hypothesis.readthedocs.io>`_ (``pip install hypothesis``);
``import gradcheck`` does not import it.

Test your own backward with hypothesis in ten lines (here the forum's two-layer ReLU net
stands in for yours: ``loss(params, X, y)`` returns a float, ``gradients(params, X, y)`` a
dict shaped like ``params``)::

    import gradcheck
    from gradcheck import strategies as gst
    from hypothesis import given, settings, strategies as st
    from reference_nets.two_layer_relu.row_major import gradients, loss  # your net here

    @settings(max_examples=25, deadline=None)
    @given(st.data())
    def test_backward(data):
        sizes = data.draw(gst.layer_sizes(min_layers=2, max_layers=2))
        params = data.draw(gst.mlp_params(sizes))
        X = data.draw(gst.inputs((sizes.batch, sizes.d_in)))
        y = data.draw(gst.labels(sizes.batch, classes=sizes.d_out))
        report = gradcheck.check_gradients(loss, gradients(params, X, y), params, args=(X, y))
        report.assert_passed()

When it fails, hypothesis shrinks the sizes to the smallest that still fail and pytest shows
gradcheck's table (parameter, diagnosis, worst index, both values, tolerance).

How values are drawn: sizes and labels are drawn by hypothesis number by number, so they
shrink toward small sizes and label 0. Float arrays come from a NumPy generator seeded by
a drawn integer: they look like the random initialisations and data people test with (no
ties, no runs of equal entries that could hide a transposed or mixed-up index), they stay
within hypothesis's size budget at any width, and a failing example is reproduced exactly.
Shrinking makes their shapes small, not their values simple.
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Sequence
from typing import Any, Literal, NamedTuple

import numpy as np
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from numpy.typing import DTypeLike, NDArray

__all__ = [
    "SCALES",
    "LayerSizes",
    "Layout",
    "Scale",
    "inputs",
    "labels",
    "layer_sizes",
    "mlp_params",
    "targets",
]

Layout = Literal["row_major", "column_major"]
"""``"row_major"``: X is (batch, d_in), W is (d_in, d_out), b is (1, d_out).
``"column_major"``: X is (d_in, batch), W is (d_out, d_in), b is (d_out, 1)."""

Scale = Literal["unit", "near_kink", "saturating", "mixed"]
"""A named range of entry magnitudes for ``inputs`` (see ``SCALES``)."""

#: The magnitude range ``(smallest, largest)`` of each named ``Scale``. Entries have
#: magnitudes spread evenly in log scale over the range, and random signs.
#:
#: * ``"unit"``: 0.1 to 3, standardised data without the near-zero tail.
#: * ``"near_kink"``: 1e-8 to 1e-3. With zero biases (``mlp_params(..., bias_scale=0)``)
#:   the first layer's pre-activations X·W1 are this small too, within a finite-difference
#:   step of the ReLU's kink at 0: the case where a careless check reports a right
#:   gradient as wrong.
#: * ``"saturating"``: 4 to 30: sigmoid and tanh are flat there (σ'(30) ≈ 1e-13) and a
#:   softmax over such scores is nearly one-hot, so gradients are tiny next to the loss.
#: * ``"mixed"``: 1e-8 to 30, all of the above in one array.
SCALES: dict[Scale, tuple[float, float]] = {
    "unit": (0.1, 3.0),
    "near_kink": (1e-8, 1e-3),
    "saturating": (4.0, 30.0),
    "mixed": (1e-8, 30.0),
}

_LAYOUTS: tuple[Layout, ...] = ("row_major", "column_major")
_SEEDS = st.integers(min_value=0, max_value=2**32 - 1)

FloatArray = NDArray[np.floating[Any]]


class LayerSizes(NamedTuple):
    """The sizes of an MLP and its batch, as ``layer_sizes`` draws them.

    Attributes:
        batch: the number of examples N.
        widths: ``(d_in, hidden_1, ..., d_out)``: the input width, each hidden layer's
            width and the output width (the number of classes for a classifier); one more
            than the number of weight layers.
    """

    batch: int
    widths: tuple[int, ...]

    @property
    def d_in(self) -> int:
        """The input width, ``widths[0]``."""
        return self.widths[0]

    @property
    def d_out(self) -> int:
        """The output width, ``widths[-1]``."""
        return self.widths[-1]

    @property
    def hidden(self) -> tuple[int, ...]:
        """The hidden layers' widths, ``widths[1:-1]`` (empty for one layer)."""
        return self.widths[1:-1]

    @property
    def layers(self) -> int:
        """The number of weight layers, ``len(widths) - 1``."""
        return len(self.widths) - 1


# ------------------------------------------------------------------------ validation


def _check_int(function: str, name: str, value: object, *, at_least: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise InvalidArgument(
            f"{function}({name}={value!r}): {name} must be a whole number (an int), "
            f"got {type(value).__name__}"
        )
    if value < at_least:
        raise InvalidArgument(f"{function}({name}={value!r}): {name} must be at least {at_least}")
    return int(value)


def _check_interval(
    function: str, low_name: str, low: object, high_name: str, high: object, *, at_least: int
) -> tuple[int, int]:
    lo = _check_int(function, low_name, low, at_least=at_least)
    hi = _check_int(function, high_name, high, at_least=at_least)
    if lo > hi:
        raise InvalidArgument(
            f"{function}({low_name}={lo}, {high_name}={hi}): {low_name} must be at most "
            f"{high_name}; swap them, or raise {high_name}"
        )
    return lo, hi


def _check_float(function: str, name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer | np.floating):
        raise InvalidArgument(
            f"{function}({name}={value!r}): {name} must be a real number, "
            f"got {type(value).__name__}"
        )
    number = float(value)
    if not math.isfinite(number):
        raise InvalidArgument(f"{function}({name}={value!r}): {name} must be finite")
    return number


def _check_dtype(function: str, dtype: DTypeLike) -> np.dtype[Any]:
    try:
        found = np.dtype(dtype)
    except TypeError as error:
        raise InvalidArgument(f"{function}(dtype={dtype!r}): not a NumPy dtype ({error})") from None
    if found.kind != "f":
        raise InvalidArgument(
            f"{function}(dtype={dtype!r}): gradients are checked on float arrays; use a float "
            "dtype such as np.float64 or np.float32"
        )
    return found


def _check_shape(function: str, shape: int | Sequence[int]) -> tuple[int, ...]:
    if isinstance(shape, bool):
        raise InvalidArgument(f"{function}(shape={shape!r}): a shape is an int or a tuple of ints")
    if isinstance(shape, int | np.integer):
        shape = (int(shape),)
    try:
        dims = tuple(operator.index(n) for n in shape if not isinstance(n, bool))
    except TypeError:
        dims = ()
    if len(dims) != len(shape) or any(n < 0 for n in dims):
        raise InvalidArgument(
            f"{function}(shape={shape!r}): a shape is an int or a tuple of ints >= 0, "
            "e.g. (sizes.batch, sizes.d_in)"
        )
    return dims


# ------------------------------------------------------------------------- strategies


def layer_sizes(
    *,
    min_layers: int = 1,
    max_layers: int = 3,
    min_width: int = 1,
    max_width: int = 8,
    min_batch: int = 1,
    max_batch: int = 8,
    distinct: bool = True,
) -> st.SearchStrategy[LayerSizes]:
    """Sizes of an MLP and a batch: ``LayerSizes(batch, (d_in, hidden..., d_out))``.

    Examples shrink toward one layer, batch ``min_batch`` and the smallest widths. Batch 1
    is drawn by default: it catches sums and means over the wrong axis that a larger batch
    hides in a broadcast.

    Args:
        min_layers, max_layers: the number of weight layers (``len(widths) - 1``), at
            least 1.
        min_width, max_width: bounds for every width (``d_in``, the hidden widths,
            ``d_out``), at least 1.
        min_batch, max_batch: bounds for the batch size, at least 1.
        distinct: draw the batch and every width all different from each other (the
            default), so that every weight matrix and every activation is non-square and
            no two axes have the same length: a transposed gradient or a sum over the wrong
            axis then changes a shape instead of passing unseen. ``False`` draws each size
            on its own, squares included.

    Returns:
        A strategy for ``LayerSizes``.

    Raises:
        hypothesis.errors.InvalidArgument: if a bound is not an int, is below 1, a minimum
            exceeds its maximum, or ``distinct=True`` cannot be met: the width range must
            hold ``max_layers + 1`` different widths, one more if it overlaps the batch
            range (the batch takes a value the widths may not).
    """
    function = "layer_sizes"
    min_layers, max_layers = _check_interval(
        function, "min_layers", min_layers, "max_layers", max_layers, at_least=1
    )
    min_width, max_width = _check_interval(
        function, "min_width", min_width, "max_width", max_width, at_least=1
    )
    min_batch, max_batch = _check_interval(
        function, "min_batch", min_batch, "max_batch", max_batch, at_least=1
    )
    if not isinstance(distinct, bool):
        raise InvalidArgument(f"{function}(distinct={distinct!r}): distinct must be True or False")
    if distinct:
        overlap = int(min_batch <= max_width and min_width <= max_batch)
        available = max_width - min_width + 1 - overlap
        needed = max_layers + 1
        if available < needed:
            batch_note = " other than the batch size" if overlap else ""
            raise InvalidArgument(
                f"{function}(distinct=True) with max_layers={max_layers} needs {needed} "
                f"different widths{batch_note}, but min_width={min_width}, "
                f"max_width={max_width} leaves only {available}: raise max_width, lower "
                "max_layers, move the batch range out of the width range, or pass "
                "distinct=False"
            )

    @st.composite
    def draw_sizes(draw: st.DrawFn) -> LayerSizes:
        batch = draw(st.integers(min_batch, max_batch))
        count = draw(st.integers(min_layers, max_layers)) + 1
        width = st.integers(min_width, max_width)
        if distinct:
            widths = draw(
                st.lists(
                    width.filter(lambda w: w != batch),
                    min_size=count,
                    max_size=count,
                    unique=True,
                )
            )
        else:
            widths = draw(st.lists(width, min_size=count, max_size=count))
        return LayerSizes(batch, tuple(widths))

    return draw_sizes()


def _widths_of(function: str, sizes: LayerSizes | Sequence[int]) -> tuple[int, ...]:
    if isinstance(sizes, LayerSizes):
        widths: Sequence[object] = sizes.widths
    elif isinstance(sizes, Sequence) and not isinstance(sizes, str):
        widths = sizes
    else:
        raise InvalidArgument(
            f"{function}(sizes={sizes!r}): sizes must be a LayerSizes (from layer_sizes()) or "
            "the widths (d_in, hidden..., d_out) as a tuple of ints"
        )
    if len(widths) < 2:
        raise InvalidArgument(
            f"{function}(sizes={sizes!r}): an MLP needs at least two widths, d_in and d_out"
        )
    return tuple(_check_int(function, "sizes", w, at_least=1) for w in widths)


def mlp_params(
    sizes: LayerSizes | Sequence[int],
    *,
    layout: Layout = "row_major",
    weight_scale: float = 1.0,
    bias_scale: float = 0.5,
    numbered: bool = True,
    dtype: DTypeLike = np.float64,
) -> st.SearchStrategy[dict[str, FloatArray]]:
    """Parameter dicts of an MLP with the given widths, in the given layout.

    Keys are ``W1, b1, ..., WL, bL`` for L layers, in that order (the reference nets'
    names; ``W`` and ``b`` for one layer with ``numbered=False``). For layer ``l`` from
    width ``m`` to width ``n``:

    ================  ==========  ==========
    layout            ``Wl``      ``bl``
    ================  ==========  ==========
    ``row_major``     ``(m, n)``  ``(1, n)``
    ``column_major``  ``(n, m)``  ``(n, 1)``
    ================  ==========  ==========

    Weights are normal with standard deviation ``weight_scale / sqrt(m)``, so that a
    pre-activation has the size of the layer's inputs times ``weight_scale``; biases are
    normal with standard deviation ``bias_scale`` (``0`` gives zero biases, as many
    initialisations do). The column-major dict of an example holds exactly the transposes
    of the row-major dict of the same example.

    Args:
        sizes: a ``LayerSizes`` (its widths are used) or the widths
            ``(d_in, hidden..., d_out)`` as ints.
        layout: ``"row_major"`` (examples in rows, ``X @ W1 + b1``) or ``"column_major"``
            (examples in columns, ``W1 @ X + b1``).
        weight_scale: the weights' size relative to ``1 / sqrt(fan_in)``, >= 0.
        bias_scale: the biases' standard deviation, >= 0.
        numbered: ``False`` names the parameters of a one-layer net ``W`` and ``b``.
        dtype: a float dtype for every array.

    Returns:
        A strategy for ``dict[str, ndarray]``; each array is a new C-contiguous array.

    Raises:
        hypothesis.errors.InvalidArgument: if the widths are not at least two ints >= 1, the
            layout is unknown, a scale is negative or not finite, ``numbered=False`` is
            given for more than one layer, or the dtype is not a float dtype.
    """
    function = "mlp_params"
    widths = _widths_of(function, sizes)
    if layout not in _LAYOUTS:
        raise InvalidArgument(
            f"{function}(layout={layout!r}): layout must be 'row_major' (X is batch x d_in) "
            "or 'column_major' (X is d_in x batch)"
        )
    scales = {"weight_scale": weight_scale, "bias_scale": bias_scale}
    for name, value in scales.items():
        if _check_float(function, name, value) < 0:
            raise InvalidArgument(f"{function}({name}={value!r}): {name} must be >= 0")
    if not isinstance(numbered, bool):
        raise InvalidArgument(f"{function}(numbered={numbered!r}): numbered must be True or False")
    if not numbered and len(widths) != 2:
        raise InvalidArgument(
            f"{function}(numbered=False) names the parameters W and b, which fits one layer; "
            f"these widths {widths} make {len(widths) - 1}: leave numbered=True"
        )
    float_dtype = _check_dtype(function, dtype)
    weight = float(weight_scale)
    bias = float(bias_scale)

    def build(seed: int) -> dict[str, FloatArray]:
        rng = np.random.default_rng(seed)
        params: dict[str, FloatArray] = {}
        for layer, (m, n) in enumerate(itertools.pairwise(widths), start=1):
            suffix = str(layer) if numbered else ""
            W = weight * rng.standard_normal((m, n)) / math.sqrt(m)
            b = bias * rng.standard_normal((1, n))
            if layout == "column_major":
                W, b = W.T, b.T
            params[f"W{suffix}"] = np.ascontiguousarray(W, dtype=float_dtype)
            params[f"b{suffix}"] = np.ascontiguousarray(b, dtype=float_dtype)
        return params

    return _SEEDS.map(build)


def inputs(
    shape: int | Sequence[int],
    *,
    scale: Scale = "unit",
    min_magnitude: float | None = None,
    max_magnitude: float | None = None,
    dtype: DTypeLike = np.float64,
) -> st.SearchStrategy[FloatArray]:
    """Float arrays of the given shape whose entries have magnitudes in a chosen range.

    Each entry is ``±m`` with a random sign and ``m`` spread evenly in log scale between
    the smallest and the largest magnitude, so every order of magnitude in the range is
    equally represented and no entry is 0.

    Args:
        shape: the array's shape: an int or a tuple of ints, e.g. ``(sizes.batch,
            sizes.d_in)`` for row-major inputs or ``(sizes.d_in, sizes.batch)`` for
            column-major ones.
        scale: a named magnitude range from ``SCALES``: ``"unit"`` (0.1 to 3, the
            default), ``"near_kink"`` (1e-8 to 1e-3), ``"saturating"`` (4 to 30) or
            ``"mixed"`` (1e-8 to 30).
        min_magnitude, max_magnitude: replace the named range's smallest or largest
            magnitude; both > 0 and finite.
        dtype: a float dtype.

    Returns:
        A strategy for arrays of that shape and dtype.

    Raises:
        hypothesis.errors.InvalidArgument: if the shape is not an int or a tuple of ints
            >= 0, the scale has no name in ``SCALES``, a magnitude is not a positive
            finite number, the smallest exceeds the largest, or the dtype is not a float
            dtype.
    """
    function = "inputs"
    dims = _check_shape(function, shape)
    if scale not in SCALES:
        raise InvalidArgument(
            f"{function}(scale={scale!r}): scale must be one of "
            f"{', '.join(repr(s) for s in SCALES)} (or give min_magnitude and max_magnitude)"
        )
    low, high = SCALES[scale]
    if min_magnitude is not None:
        low = _check_float(function, "min_magnitude", min_magnitude)
    if max_magnitude is not None:
        high = _check_float(function, "max_magnitude", max_magnitude)
    if low <= 0 or high <= 0:
        raise InvalidArgument(
            f"{function}(min_magnitude={low!r}, max_magnitude={high!r}): magnitudes must be "
            "> 0 (the sign is drawn separately)"
        )
    if low > high:
        raise InvalidArgument(
            f"{function}(min_magnitude={low!r}, max_magnitude={high!r}): the smallest "
            f"magnitude exceeds the largest (scale={scale!r} gives {SCALES[scale]})"
        )
    float_dtype = _check_dtype(function, dtype)
    log_low, log_high = math.log(low), math.log(high)

    def build(seed: int) -> FloatArray:
        rng = np.random.default_rng(seed)
        magnitude = np.exp(rng.uniform(log_low, log_high, size=dims))
        sign = rng.choice(np.array([-1.0, 1.0]), size=dims)
        values = np.clip(magnitude, low, high) * sign
        return np.ascontiguousarray(values, dtype=float_dtype)

    return _SEEDS.map(build)


def labels(batch: int, *, classes: int) -> st.SearchStrategy[NDArray[np.int64]]:
    """Class labels: int64 arrays of shape ``(batch,)`` with entries in ``0 ... classes - 1``.

    Labels are drawn one by one and shrink toward 0, so a failing example ends with as few
    distinct classes as still fail.

    Args:
        batch: the number of examples, >= 0.
        classes: the number of classes, >= 1.

    Returns:
        A strategy for int64 arrays of shape ``(batch,)``.

    Raises:
        hypothesis.errors.InvalidArgument: if ``batch`` is not an int >= 0 or ``classes``
            not an int >= 1.
    """
    function = "labels"
    count = _check_int(function, "batch", batch, at_least=0)
    top = _check_int(function, "classes", classes, at_least=1) - 1
    return st.lists(st.integers(0, top), min_size=count, max_size=count).map(
        lambda drawn: np.array(drawn, dtype=np.int64).reshape(count)
    )


def targets(
    shape: int | Sequence[int],
    *,
    min_value: float = -1.0,
    max_value: float = 1.0,
    dtype: DTypeLike = np.float64,
) -> st.SearchStrategy[FloatArray]:
    """Regression targets: float arrays of the given shape, uniform in ``[min_value, max_value]``.

    Args:
        shape: the array's shape, e.g. ``(sizes.batch, sizes.d_out)`` for row-major targets
            or ``(sizes.d_out, sizes.batch)`` for column-major ones.
        min_value, max_value: the range of the entries (``0`` and ``1`` for probabilities).
        dtype: a float dtype.

    Returns:
        A strategy for arrays of that shape and dtype.

    Raises:
        hypothesis.errors.InvalidArgument: if the shape is not an int or a tuple of ints
            >= 0, a bound is not a finite number, ``min_value > max_value``, or the dtype
            is not a float dtype.
    """
    function = "targets"
    dims = _check_shape(function, shape)
    low = _check_float(function, "min_value", min_value)
    high = _check_float(function, "max_value", max_value)
    if low > high:
        raise InvalidArgument(
            f"{function}(min_value={low!r}, max_value={high!r}): min_value must be at most "
            "max_value"
        )
    float_dtype = _check_dtype(function, dtype)

    def build(seed: int) -> FloatArray:
        values = np.random.default_rng(seed).uniform(low, high, size=dims)
        return np.ascontiguousarray(values, dtype=float_dtype)

    return _SEEDS.map(build)
