"""The bugs sweep_multi.py injects into two or three large parameters at once (errors that
may cancel in a joint probe): one function per kind.

Bug kinds (targets drawn from the large parameters: forum W1, b1, W2; sigmoid W1, W2, W3):
  a_opposite_r{0.2,0.5,1.0}: pair x(1+r), x(1-r); triple x(1+r), x(1-r/2), x(1-r/2)
  b_double_zero: pair x2, x0; triple x3, x0, x0
  c_negate_x3:   pair x(-1), x3; triple x(-1), x2, x2
  d_slip_largest: largest entry of each of two params x1.2 and x0.8
  e_noise20:     every entry of two params x(1 + 0.2 z), z ~ N(0, 1) independent
  f_entry_pm50:  one random nonzero entry +50% in one param, one -50% in another
  g_global:      every gradient (all params, small ones too) x1.1 or x0.9
  h_swap_two:    swap two random (unequal) entries in each of two params
  a2_exact:      like a, but cancelling exactly in a joint probe weighted by the GIVEN
                 gradient (gradcheck._check.joint.equal_shares): true/given = 1-u and 1+u, i.e.
                 pair x1/(1-u), x1/(1+u); triple x1/(1-u), x1/(1+u/2), x1/(1+u/2); u in {0.2, 0.5}
  d2_exact_largest: like d, largest entries x1/0.8 and x1/1.2 (true/given = 0.8 and 1.2)
In every pair/triple variant the relative errors sum to zero (they cancel exactly in a
joint probe through the largest entries, when each piece is weighted to an equal share).
"""

import numpy as np
from sweep_bugs import swap_two_entries

#: The large parameters of each net, from which the targets are drawn.
LARGE = {"forum_relu": ("W1", "b1", "W2"), "three_layer_sigmoid": ("W1", "W2", "W3")}


def _random_nonzero(v, rng):
    flat = np.flatnonzero(v)
    return int(flat[int(rng.integers(len(flat)))])


def _scale(g, name, f):
    g[name] = (g[name].astype(np.float64) * f).astype(g[name].dtype)


def _opposite_factors(spec, n):
    r = spec["r"]
    return [1 + r, 1 - r] if n == 2 else [1 + r, 1 - r / 2, 1 - r / 2]


def _exact_factors(spec, n):
    u = spec["u"]
    return [1 / (1 - u), 1 / (1 + u)] if n == 2 else [1 / (1 - u), 1 / (1 + u / 2), 1 / (1 + u / 2)]


#: Kind -> the factors of its two or three targets (their relative errors sum to zero).
FACTORS = {
    "a_opposite": _opposite_factors,
    "b_double_zero": lambda spec, n: [2.0, 0.0] if n == 2 else [3.0, 0.0, 0.0],
    "c_negate_x3": lambda spec, n: [-1.0, 3.0] if n == 2 else [-1.0, 2.0, 2.0],
    "a2_exact": _exact_factors,
}


def _scaled_targets(spec, g, targets, rng):
    factors = FACTORS[spec["bug"]](spec, len(targets))
    for name, f in zip(targets, factors, strict=True):
        _scale(g, name, f)
    return g, {"targets": targets, "factors": dict(zip(targets, factors, strict=True))}


def _slip_largest(spec, g, targets, rng):
    info = {"targets": targets, "index": {}}
    fs = (1.2, 0.8) if spec["bug"] == "d_slip_largest" else (1 / 0.8, 1 / 1.2)
    for name, f in zip(targets, fs, strict=True):
        v = g[name].reshape(-1)
        k = int(np.argmax(np.abs(v)))
        v[k] = v[k] * f
        info["index"][name] = k
    info["factors"] = dict(zip(targets, fs, strict=True))
    return g, info


def _noise20(spec, g, targets, rng):
    for name in targets:
        z = rng.standard_normal(g[name].shape)
        g[name] = (g[name].astype(np.float64) * (1 + 0.2 * z)).astype(g[name].dtype)
    return g, {"targets": targets}


def _entry_pm50(spec, g, targets, rng):
    info = {"targets": targets, "index": {}, "entry_rel_to_max": {}}
    for name, f in zip(targets, (1.5, 0.5), strict=True):
        v = g[name].reshape(-1)
        k = _random_nonzero(v, rng)
        info["index"][name] = k
        info["entry_rel_to_max"][name] = float(abs(v[k]) / np.abs(v).max())
        v[k] = v[k] * f
    return g, info


def _swap_two(spec, g, targets, rng):
    info = {"targets": targets, "flat_indices": {}, "diff_rel_to_max": {}}
    for name in targets:
        swapped = swap_two_entries(g[name].reshape(-1), rng)
        if swapped is None:
            return None, f"all entries of {name} equal"
        i, k, rel = swapped
        info["flat_indices"][name] = [i, k]
        info["diff_rel_to_max"][name] = rel
    return g, info


#: Kind -> ``inject(spec, grads copy, targets, rng) -> (buggy grads, info) | (None, reason)``.
INJECTIONS = {
    "a_opposite": _scaled_targets,
    "b_double_zero": _scaled_targets,
    "c_negate_x3": _scaled_targets,
    "a2_exact": _scaled_targets,
    "d_slip_largest": _slip_largest,
    "d2_exact_largest": _slip_largest,
    "e_noise20": _noise20,
    "f_entry_pm50": _entry_pm50,
    "h_swap_two": _swap_two,
}


def _global(spec, g):
    f = spec["factor"]
    for k in g:
        g[k] = (g[k] * f).astype(g[k].dtype)
    return g, {"targets": list(g), "factor": f}


def inject(spec, problem, grads):
    """Return (buggy grads, info) or (None, reason) when the bug does not apply."""
    rng = np.random.default_rng(spec["bug_seed"])
    g = {k: np.array(v, copy=True) for k, v in grads.items()}
    if spec["bug"] == "g_global":
        return _global(spec, g)
    large = [n for n in LARGE[spec["net"]] if np.any(g[n] != 0)]
    n = spec["n_targets"]
    if len(large) < n:
        return None, f"only {len(large)} large params with nonzero gradient"
    targets = [large[i] for i in rng.permutation(len(large))[:n]]
    if spec["bug"] not in INJECTIONS:
        raise ValueError(spec["bug"])
    return INJECTIONS[spec["bug"]](spec, g, targets, rng)
