"""Type aliases shared by the nets."""

from collections.abc import Mapping

import numpy as np
from jaxtyping import Float

#: One parameter: every weight matrix and bias here is a 2-D float array (biases keep a
#: length-1 axis: (1, n) in row-major nets, (n, 1) in column-major ones).
Matrix = Float[np.ndarray, "_ _"]

#: Parameters as the nets read them: a mapping from name (``"W1"``, ``"b1"``, …) to array.
Params = Mapping[str, Matrix]

#: Parameters or gradients as the nets return them: a new dict with the same names.
ParamDict = dict[str, Matrix]
