"""The spiral data set of the source threads: ``classes`` arms winding out from the origin.

Class ``c`` has ``points_per_class`` points at radius r = linspace(0, 1) and angle
θ = linspace(4c, 4(c + 1)) + noise · N(0, 1), i.e. the point (r sin θ, r cos θ). The first
point of every class has r = 0 and so is exactly the origin, whatever the noise: with zero
biases these points put a ReLU exactly on its kink, which the gradient checks must handle.
"""

from typing import Literal

import numpy as np
from jaxtyping import Float, Int

Layout = Literal["row_major", "column_major"]

#: Each point has two features, its x and y coordinates.
FEATURES = 2


def spiral(
    points_per_class: int,
    classes: int,
    *,
    noise: float,
    rng: np.random.Generator,
    layout: Layout,
) -> tuple[Float[np.ndarray, "_ _"], Int[np.ndarray, " batch"]]:
    """Sample the spiral; return the points ``X`` and their class labels ``y``.

    Args:
        points_per_class: points in each arm (the sources use 100 and 400).
        classes: number of arms, labelled 0 … classes − 1.
        noise: standard deviation of the noise added to the angle, in radians (0.2 in
            the course notebook, 0.5 in the forum question).
        rng: the source of randomness; one ``standard_normal(points_per_class)`` draw is
            taken per class, in class order.
        layout: ``"row_major"`` gives ``X`` of shape (batch, 2), one example per row;
            ``"column_major"`` gives its transpose, (2, batch), one example per column.

    Returns:
        ``X`` (float64, C-contiguous) and ``y`` (int64, shape (batch,)), where
        batch = points_per_class · classes and the examples are ordered by class. For the
        same ``rng`` state the two layouts give the same points, transposed.
    """
    if layout not in ("row_major", "column_major"):
        raise ValueError(f"layout must be 'row_major' or 'column_major', not {layout!r}")
    batch = points_per_class * classes
    points = np.zeros((batch, FEATURES))
    labels = np.zeros(batch, dtype=np.int64)
    for label in range(classes):
        rows = slice(points_per_class * label, points_per_class * (label + 1))
        radius = np.linspace(0.0, 1.0, points_per_class)
        angle = np.linspace(4.0 * label, 4.0 * (label + 1), points_per_class)
        angle = angle + noise * rng.standard_normal(points_per_class)
        points[rows, 0] = radius * np.sin(angle)
        points[rows, 1] = radius * np.cos(angle)
        labels[rows] = label
    if layout == "column_major":
        return np.ascontiguousarray(points.T), labels
    return points, labels
