"""gradcheck.strategies: what each strategy draws, how it shrinks, what it refuses."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from typing import Any

import numpy as np
import pytest
from hypothesis import Phase, find, given, settings
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import gradcheck
import gradcheck.strategies as gst
from gradcheck.strategies import SCALES, LayerSizes

NO_DATABASE = settings(database=None)
PROPERTY = settings(max_examples=30, deadline=None)


def minimal(strategy: st.SearchStrategy[Any]) -> Any:
    """The example hypothesis shrinks to when anything goes."""
    return find(strategy, lambda _: True, settings=NO_DATABASE)


# --------------------------------------------------------------------------- the module


def test_importing_gradcheck_does_not_import_hypothesis() -> None:
    code = "import gradcheck, sys; assert 'hypothesis' not in sys.modules, 'hypothesis imported'"
    subprocess.run([sys.executable, "-c", code], check=True)


def docstring_example() -> str:
    """The code block of the module docstring's ten-line example."""
    doc = gst.__doc__ or ""
    match = re.search(r"in ten lines[\s\S]*?::\n\n(?P<code>(?:    .*\n|\n)+)", doc)
    assert match is not None, "the module docstring lost its example"
    return textwrap.dedent(match.group("code"))


def test_the_docstring_example_runs_and_passes() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(docstring_example(), "<gradcheck.strategies example>", "exec"), namespace)
    namespace["test_backward"]()


def test_the_docstring_example_fails_a_wrong_backward() -> None:
    code = (
        docstring_example()
        .replace(
            "report = gradcheck.check_gradients(loss, gradients(params, X, y), params, "
            "args=(X, y))",
            "grads = gradients(params, X, y)\n"
            "    grads['W2'] = -grads['W2']\n"
            "    report = gradcheck.check_gradients(loss, grads, params, args=(X, y))",
        )
        # Shrinking the failure would take seconds; the first failing example is enough.
        .replace(
            "@settings(max_examples=25, deadline=None)",
            "@settings(max_examples=25, deadline=None, database=None, phases=[Phase.generate])",
        )
    )
    assert "-grads['W2']" in code
    assert "phases=" in code
    namespace: dict[str, Any] = {"Phase": Phase}
    exec(compile(code, "<gradcheck.strategies example, negated>", "exec"), namespace)
    with pytest.raises(gradcheck.GradientMismatch, match="negated"):
        namespace["test_backward"]()


# ------------------------------------------------------------------------- layer_sizes


@PROPERTY
@given(
    st.data(),
    st.integers(1, 3),
    st.integers(0, 2),
    st.integers(1, 4),
    st.integers(0, 6),
    st.integers(1, 4),
    st.integers(0, 6),
)
def test_layer_sizes_stay_within_their_bounds_and_are_distinct(
    data: st.DataObject,
    min_layers: int,
    extra_layers: int,
    min_width: int,
    extra_width: int,
    min_batch: int,
    extra_batch: int,
) -> None:
    max_layers = min_layers + extra_layers
    max_width = max(min_width + extra_width, min_width + max_layers + 1)
    sizes = data.draw(
        gst.layer_sizes(
            min_layers=min_layers,
            max_layers=max_layers,
            min_width=min_width,
            max_width=max_width,
            min_batch=min_batch,
            max_batch=min_batch + extra_batch,
        )
    )
    assert isinstance(sizes, LayerSizes)
    assert min_layers <= sizes.layers == len(sizes.widths) - 1 <= max_layers
    assert all(min_width <= w <= max_width for w in sizes.widths)
    assert min_batch <= sizes.batch <= min_batch + extra_batch
    everything = (sizes.batch, *sizes.widths)
    assert len(set(everything)) == len(everything)


def test_layer_sizes_name_their_parts() -> None:
    sizes = LayerSizes(batch=7, widths=(3, 5, 6, 2))
    assert (sizes.d_in, sizes.hidden, sizes.d_out, sizes.layers) == (3, (5, 6), 2, 3)
    batch, widths = sizes
    assert (batch, widths) == (7, (3, 5, 6, 2))


def test_layer_sizes_shrink_to_one_layer_and_batch_one() -> None:
    assert minimal(gst.layer_sizes()) == LayerSizes(1, (2, 3))
    assert minimal(gst.layer_sizes(distinct=False)) == LayerSizes(1, (1, 1))
    assert minimal(gst.layer_sizes(min_layers=2, min_batch=3)) == LayerSizes(3, (1, 2, 4))


def test_layer_sizes_without_distinct_draw_squares() -> None:
    square = find(
        gst.layer_sizes(distinct=False, min_width=2),
        lambda s: s.widths[0] == s.widths[1] == s.batch,
        settings=NO_DATABASE,
    )
    assert square == LayerSizes(2, (2, 2))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_layers": 0}, r"layer_sizes\(min_layers=0\): min_layers must be at least 1"),
        ({"min_layers": 4}, r"min_layers must be at most max_layers"),
        ({"min_width": 5, "max_width": 4}, r"min_width must be at most max_width"),
        ({"max_batch": 0}, r"max_batch must be at least 1"),
        ({"min_batch": 2.0}, r"min_batch must be a whole number \(an int\), got float"),
        ({"max_layers": True}, r"max_layers must be a whole number"),
        ({"distinct": "yes"}, r"distinct must be True or False"),
        (
            {"max_layers": 3, "max_width": 4},
            r"max_layers=3 needs 4 different widths other than the batch size, but "
            r"min_width=1, max_width=4 leaves only 3: raise max_width",
        ),
    ],
)
def test_layer_sizes_refuse_bad_bounds(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        gst.layer_sizes(**kwargs)


def test_layer_sizes_allow_tight_ranges_that_fit() -> None:
    # Four widths from 2..5 and a batch outside that range: exactly enough.
    sizes = minimal(
        gst.layer_sizes(min_layers=3, max_layers=3, min_width=2, max_width=5, max_batch=1)
    )
    assert sizes == LayerSizes(1, (2, 3, 4, 5))
    # Without distinct, one width value is enough.
    assert minimal(gst.layer_sizes(max_layers=5, max_width=1, distinct=False)).widths == (1, 1)


# -------------------------------------------------------------------------- mlp_params


@PROPERTY
@given(st.data(), st.sampled_from(["row_major", "column_major"]))
def test_mlp_params_have_the_reference_nets_names_and_shapes(
    data: st.DataObject, layout: gst.Layout
) -> None:
    sizes = data.draw(gst.layer_sizes())
    params = data.draw(gst.mlp_params(sizes, layout=layout))
    names = [f"{kind}{layer}" for layer in range(1, sizes.layers + 1) for kind in "Wb"]
    assert list(params) == names
    for layer, (m, n) in enumerate(zip(sizes.widths, sizes.widths[1:], strict=False), 1):
        W, b = params[f"W{layer}"], params[f"b{layer}"]
        if layout == "row_major":
            assert (W.shape, b.shape) == ((m, n), (1, n))
        else:
            assert (W.shape, b.shape) == ((n, m), (n, 1))
        assert W.dtype == b.dtype == np.float64
        assert W.flags.c_contiguous
        assert b.flags.c_contiguous
        assert np.all(np.isfinite(W))
        assert np.all(np.isfinite(b))


def test_column_major_params_are_the_transposes_of_row_major_ones() -> None:
    row = minimal(gst.mlp_params((3, 5, 2)))
    column = minimal(gst.mlp_params((3, 5, 2), layout="column_major"))
    assert list(row) == list(column)
    for name in row:
        np.testing.assert_array_equal(column[name], row[name].T)


def test_mlp_params_take_widths_or_layer_sizes() -> None:
    from_sizes = minimal(gst.mlp_params(LayerSizes(4, (3, 5, 2))))
    from_widths = minimal(gst.mlp_params([3, 5, 2]))
    assert {k: v.shape for k, v in from_sizes.items()} == {
        k: v.shape for k, v in from_widths.items()
    }


def test_mlp_params_scales() -> None:
    params = minimal(gst.mlp_params((400, 300), weight_scale=2.0, bias_scale=0.5))
    assert np.std(params["W1"]) == pytest.approx(2.0 / np.sqrt(400), rel=0.05)
    assert np.std(params["b1"]) == pytest.approx(0.5, rel=0.15)
    zero_bias = minimal(gst.mlp_params((3, 4), bias_scale=0.0))
    assert not np.any(zero_bias["b1"])


def test_mlp_params_options() -> None:
    single = minimal(gst.mlp_params((3, 2), numbered=False, layout="column_major"))
    assert {k: v.shape for k, v in single.items()} == {"W": (2, 3), "b": (2, 1)}
    small = minimal(gst.mlp_params((3, 4), dtype=np.float32))
    assert all(v.dtype == np.float32 for v in small.values())


@pytest.mark.parametrize(
    ("sizes", "kwargs", "message"),
    [
        ((3,), {}, r"an MLP needs at least two widths, d_in and d_out"),
        ((3, 0), {}, r"sizes must be at least 1"),
        ("34", {}, r"sizes must be a LayerSizes \(from layer_sizes\(\)\) or the widths"),
        ((3, 2), {"layout": "rows"}, r"layout must be 'row_major' \(X is batch x d_in\)"),
        ((3, 2), {"weight_scale": -1.0}, r"weight_scale must be >= 0"),
        ((3, 2), {"bias_scale": float("nan")}, r"bias_scale must be finite"),
        ((3, 4, 2), {"numbered": False}, r"numbered=False\) names the parameters W and b"),
        ((3, 2), {"dtype": np.int64}, r"gradients are checked on float arrays"),
        ((3, 2), {"dtype": "no such dtype"}, r"not a NumPy dtype"),
    ],
)
def test_mlp_params_refuse_bad_arguments(sizes: Any, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        gst.mlp_params(sizes, **kwargs)


# ------------------------------------------------------------------------------ inputs


@PROPERTY
@given(st.data(), st.sampled_from(sorted(SCALES)))
def test_inputs_have_magnitudes_in_their_scale(data: st.DataObject, scale: gst.Scale) -> None:
    X = data.draw(gst.inputs((6, 5), scale=scale))
    low, high = SCALES[scale]
    assert X.shape == (6, 5)
    assert X.dtype == np.float64
    assert np.all(np.abs(X) >= low)
    assert np.all(np.abs(X) <= high)


def test_inputs_spread_over_orders_of_magnitude_with_both_signs() -> None:
    X = minimal(gst.inputs(2000, scale="mixed"))
    assert X.shape == (2000,)
    assert 0.4 < np.mean(X > 0) < 0.6
    # Log-uniform over 1e-8 .. 30: about a tenth of the entries per decade.
    decades = np.histogram(np.log10(np.abs(X)), bins=[-8, -6, -4, -2, 0, 1.5])[0]
    assert np.all(decades > 0.1 * len(X))


def test_inputs_take_explicit_magnitudes_and_dtype() -> None:
    X = minimal(gst.inputs((3, 4), min_magnitude=2.0, max_magnitude=2.0, dtype=np.float32))
    assert X.dtype == np.float32
    np.testing.assert_array_equal(np.abs(X), 2.0)
    near = minimal(gst.inputs((50,), scale="near_kink", max_magnitude=1e-6))
    assert np.all(np.abs(near) <= 1e-6)


@pytest.mark.parametrize(
    ("shape", "kwargs", "message"),
    [
        ((3, -1), {}, r"a shape is an int or a tuple of ints >= 0"),
        ((3, 2.5), {}, r"a shape is an int or a tuple of ints >= 0"),
        (True, {}, r"a shape is an int or a tuple of ints"),
        (3, {"scale": "huge"}, r"scale must be one of 'unit', 'near_kink', 'saturating'"),
        (3, {"min_magnitude": 0.0}, r"magnitudes must be > 0"),
        (3, {"min_magnitude": 5.0}, r"the smallest magnitude exceeds the largest"),
        (3, {"max_magnitude": float("inf")}, r"max_magnitude must be finite"),
        (3, {"min_magnitude": "1"}, r"min_magnitude must be a real number, got str"),
    ],
)
def test_inputs_refuse_bad_arguments(shape: Any, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        gst.inputs(shape, **kwargs)


# --------------------------------------------------------------------- labels, targets


@PROPERTY
@given(st.data(), st.integers(0, 9), st.integers(1, 5))
def test_labels_are_int_classes(data: st.DataObject, batch: int, classes: int) -> None:
    y = data.draw(gst.labels(batch, classes=classes))
    assert y.shape == (batch,)
    assert y.dtype == np.int64
    assert np.all((y >= 0) & (y < classes))


def test_labels_shrink_to_class_zero_and_reach_every_class() -> None:
    np.testing.assert_array_equal(minimal(gst.labels(4, classes=3)), [0, 0, 0, 0])
    every = find(gst.labels(3, classes=3), lambda y: set(y) == {0, 1, 2}, settings=NO_DATABASE)
    assert sorted(every) == [0, 1, 2]


@pytest.mark.parametrize(
    ("batch", "classes", "message"),
    [
        (-1, 3, r"labels\(batch=-1\): batch must be at least 0"),
        (3, 0, r"labels\(classes=0\): classes must be at least 1"),
        (3.0, 2, r"batch must be a whole number"),
    ],
)
def test_labels_refuse_bad_arguments(batch: Any, classes: Any, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        gst.labels(batch, classes=classes)


@PROPERTY
@given(st.data())
def test_targets_lie_in_their_range(data: st.DataObject) -> None:
    T = data.draw(gst.targets((4, 3), min_value=0.0, max_value=1.0))
    assert T.shape == (4, 3)
    assert T.dtype == np.float64
    assert np.all((T >= 0.0) & (T <= 1.0))


def test_targets_refuse_bad_arguments() -> None:
    with pytest.raises(InvalidArgument, match=r"min_value must be at most max_value"):
        gst.targets(3, min_value=1.0, max_value=0.0)
    with pytest.raises(InvalidArgument, match=r"gradients are checked on float arrays"):
        gst.targets(3, dtype=np.int32)
