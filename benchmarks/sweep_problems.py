"""The problems the sweeps check: a reference net in a layout and dtype, at init or trained."""

import sweep_env  # noqa: F401  (first: one BLAS thread, this checkout on sys.path)

# isort: split
import numpy as np
from _common import ForumNet

from reference_nets import linear_softmax, three_layer_sigmoid, two_layer_relu
from reference_nets._training import train
from tests.reference_nets._problems import random_problem, to_layout

PACKAGES = {
    "forum_relu": two_layer_relu,
    "two_layer_relu": two_layer_relu,
    "three_layer_sigmoid": three_layer_sigmoid,
    "linear_softmax": linear_softmax,
}
DTYPES = {"float16": np.float16, "float32": np.float32, "float64": np.float64}
TRAIN_STEPS = 400
TRAIN_STEP_SIZE = 1.0  # the forum's step size


def size_label(net, sizes):
    if net == "forum_relu":
        return f"h{sizes['hidden']}"
    if net == "three_layer_sigmoid":
        return (
            f"N{sizes['batch']} D{sizes['d_in']} H{sizes['hidden1']}x{sizes['hidden2']}"
            f" O{sizes['d_out']}"
        )
    if net == "two_layer_relu":
        return f"N{sizes['batch']} D{sizes['d_in']} H{sizes['hidden']} K{sizes['classes']}"
    return f"N{sizes['batch']} D{sizes['d_in']} K{sizes['classes']}"


_FORUM_CACHE = {}


def forum_base(hidden, data_seed, reg, state):
    """Row-major float64 (params, X, y) of the forum net, at init or after training."""
    key = (hidden, data_seed, reg, state)
    if key not in _FORUM_CACHE:
        net = ForumNet.make(hidden, seed=data_seed)
        params = {k: v.copy() for k, v in net.params.items()}
        if state == "trained":
            mod = two_layer_relu.row_major
            run = train(
                lambda p: mod.loss(p, net.X, net.y, reg),
                lambda p: mod.gradients(p, net.X, net.y, reg),
                params,
                steps=TRAIN_STEPS,
                step_size=TRAIN_STEP_SIZE,
                log_every=TRAIN_STEPS,
            )
            params = run.params
        _FORUM_CACHE[key] = (params, net.X, net.y)
    return _FORUM_CACHE[key]


class Problem:
    """One concrete check target: layout module, params, data and extra args, in a dtype."""

    def __init__(self, spec):
        self.spec = spec
        net, layout, dtype = spec["net"], spec["layout"], DTYPES[spec["dtype"]]
        self.module = getattr(PACKAGES[net], layout)
        reg = spec.get("reg", 0.0)
        if net == "forum_relu":
            params, X, y = forum_base(
                spec["sizes"]["hidden"], spec["problem_seed"], reg, spec["state"]
            )
            target = y
            self.batch = X.shape[0]
        else:
            prob = random_problem(
                net, spec["sizes"], spec["problem_seed"], reg=reg, scale=spec.get("scale", 1.0)
            )
            params, X, target = prob.params, prob.X, prob.target
            self.batch = spec["sizes"]["batch"]
        self.params = {
            k: np.ascontiguousarray(to_layout(v, layout)).astype(dtype) for k, v in params.items()
        }
        self.X = np.ascontiguousarray(to_layout(X, layout)).astype(dtype)
        if np.issubdtype(target.dtype, np.floating):
            self.target = np.ascontiguousarray(to_layout(target, layout)).astype(dtype)
        else:
            self.target = target
        self.reg = reg
        self.has_reg = net != "three_layer_sigmoid"
        self.extra = (reg,) if self.has_reg else ()

    def loss(self, p):
        return self.module.loss(p, self.X, self.target, *self.extra)

    def grads(self, reg=None):
        extra = self.extra if reg is None else (reg,)
        return self.module.gradients(self.params, self.X, self.target, *extra)

    def grads_function(self, bug=None):
        """The gradients as a function of the parameters, as a user passes ``grads=``;
        ``bug(params, grads) -> grads`` puts a bug into them wherever it is called."""

        def grads(params):
            out = self.module.gradients(params, self.X, self.target, *self.extra)
            return out if bug is None else bug(params, out)

        return grads

    def grads_float64(self):
        """The gradients in float64 at this problem's params and data cast to float64 (the
        exact gradient at the very point a low-precision one was computed)."""
        wide = {k: v.astype(np.float64) for k, v in self.params.items()}
        target = self.target
        if np.issubdtype(target.dtype, np.floating):
            target = target.astype(np.float64)
        return self.module.gradients(wide, self.X.astype(np.float64), target, *self.extra)

    def hidden_unit_axes(self):
        """(first-layer weight name, bias name, unit axis of W, unit axis of b)."""
        row = self.spec["layout"] == "row_major"
        if "W1" in self.params:
            return "W1", "b1", (1 if row else 0), (1 if row else 0)
        return None
