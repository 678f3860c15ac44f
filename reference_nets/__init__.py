"""Reference networks: the source threads' nets, rewritten to be read against the formulas.

Three nets, each in two layouts (``row_major``: X is batch × features, as in the forum and
the course notebook; ``column_major``: X is features × batch, as in the Code Review):

- :mod:`reference_nets.two_layer_relu`: two-layer ReLU + softmax cross-entropy, L2;
- :mod:`reference_nets.three_layer_sigmoid`: three-layer sigmoid net, squared loss;
- :mod:`reference_nets.linear_softmax`: linear softmax classifier, L2.

Every layout module has ``init_params``, ``forward``, ``loss``, ``backward`` and
``gradients`` (and ``predict`` for the classifiers); parameters are dicts of 2-D arrays.
:func:`reference_nets.data.spiral` makes the spiral data set. ``python -m reference_nets``
is the demo: it trains the nets, checks their gradients and shows gradcheck catching the
source threads' classic slips.

The subpackages are imported on first use, so that importing this package does not yet
import NumPy (``python -m reference_nets`` sets its BLAS threads before NumPy loads).
"""

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from reference_nets import data, linear_softmax, three_layer_sigmoid, two_layer_relu

__all__ = ["data", "linear_softmax", "three_layer_sigmoid", "two_layer_relu"]


def __getattr__(name: str) -> ModuleType:
    if name in __all__:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
