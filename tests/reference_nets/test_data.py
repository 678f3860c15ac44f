"""The spiral data set: shapes, labels, the origin points, and the two layouts."""

import numpy as np
import pytest

from reference_nets.data import spiral


def test_shapes_and_dtypes_in_both_layouts() -> None:
    X_rows, y_rows = spiral(7, 3, noise=0.2, rng=np.random.default_rng(0), layout="row_major")
    X_cols, y_cols = spiral(7, 3, noise=0.2, rng=np.random.default_rng(0), layout="column_major")
    assert X_rows.shape == (21, 2)
    assert X_cols.shape == (2, 21)
    assert X_rows.dtype == X_cols.dtype == np.float64
    assert y_rows.shape == y_cols.shape == (21,)
    assert y_rows.dtype == y_cols.dtype == np.int64
    assert X_cols.flags.c_contiguous
    # The same rng state gives the same points, transposed.
    np.testing.assert_array_equal(X_cols, X_rows.T)
    np.testing.assert_array_equal(y_cols, y_rows)


def test_labels_are_grouped_by_class() -> None:
    _, y = spiral(4, 3, noise=0.5, rng=np.random.default_rng(1), layout="row_major")
    np.testing.assert_array_equal(y, [0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2])


def test_first_point_of_every_class_is_exactly_the_origin() -> None:
    # r = 0 for the first point of each arm, whatever the noise: with zero biases these
    # points put every ReLU exactly on its kink, which gradient checks must cope with.
    points_per_class, classes = 50, 4
    X, _ = spiral(
        points_per_class, classes, noise=0.5, rng=np.random.default_rng(2), layout="row_major"
    )
    firsts = X[::points_per_class]
    assert firsts.shape == (classes, 2)
    assert np.all(firsts == 0.0)
    assert np.count_nonzero(np.all(X == 0.0, axis=1)) == classes


def test_radius_grows_linearly_from_0_to_1_and_noise_only_moves_the_angle() -> None:
    points_per_class = 11
    X, _ = spiral(points_per_class, 2, noise=3.0, rng=np.random.default_rng(3), layout="row_major")
    radius = np.hypot(X[:, 0], X[:, 1])
    expected = np.tile(np.linspace(0.0, 1.0, points_per_class), 2)
    np.testing.assert_allclose(radius, expected, atol=1e-15)


def test_without_noise_the_angles_are_the_sources_linspace() -> None:
    # Point (r sin θ, r cos θ) with θ = linspace(4c, 4(c + 1)).
    X, _ = spiral(5, 2, noise=0.0, rng=np.random.default_rng(4), layout="row_major")
    radius = np.linspace(0.0, 1.0, 5)
    for label in range(2):
        angle = np.linspace(4.0 * label, 4.0 * (label + 1), 5)
        block = X[5 * label : 5 * (label + 1)]
        np.testing.assert_allclose(block[:, 0], radius * np.sin(angle), atol=1e-15)
        np.testing.assert_allclose(block[:, 1], radius * np.cos(angle), atol=1e-15)


def test_the_same_seed_gives_the_same_data_and_another_seed_other_data() -> None:
    first, _ = spiral(20, 2, noise=0.5, rng=np.random.default_rng(5), layout="row_major")
    again, _ = spiral(20, 2, noise=0.5, rng=np.random.default_rng(5), layout="row_major")
    other, _ = spiral(20, 2, noise=0.5, rng=np.random.default_rng(6), layout="row_major")
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


def test_an_unknown_layout_is_refused() -> None:
    with pytest.raises(ValueError, match="layout"):
        spiral(3, 2, noise=0.1, rng=np.random.default_rng(0), layout="rows")  # type: ignore[arg-type]
