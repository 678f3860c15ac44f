"""The bugs sweep_verdicts.py injects into correct gradients: one function per kind, and
``replay``, which applies a bug already injected (its recorded choices) to the gradients at
other parameters, for gradients given as a function."""

import numpy as np


def _pick_param(grads, rng, names=None):
    names = [n for n in (names or list(grads)) if np.any(np.asarray(grads[n]) != 0)]
    if not names:
        return None
    return names[int(rng.integers(len(names)))]


def swap_two_entries(v, rng):
    """Swap two unequal entries of the flat array ``v`` in place (drawn up to 100 times);
    return their indices and |difference| / max |v|, or None when every draw was equal."""
    for _ in range(100):
        i, j = (int(x) for x in rng.choice(v.size, size=2, replace=False))
        if v[i] != v[j]:
            break
    else:
        return None
    rel = float(abs(v[i] - v[j]) / np.abs(v).max())
    v[i], v[j] = v[j], v[i]
    return i, j, rel


def _scaled_by_n(problem, g, rng):
    g = {k: v * problem.batch for k, v in g.items()}
    return g, {"targets": list(g), "factor": problem.batch}


def _negated(problem, g, rng):
    name = _pick_param(g, rng)
    g[name] = -g[name]
    return g, {"targets": [name]}


def _transposed(problem, g, rng):
    square = [
        n for n, v in g.items() if n.startswith("W") and v.ndim == 2 and v.shape[0] == v.shape[1]
    ]
    if not square:
        return None, "no square weight"
    name = square[int(rng.integers(len(square)))]
    asym = float(np.abs(g[name] - g[name].T).max() / max(np.abs(g[name]).max(), 1e-300))
    g[name] = np.ascontiguousarray(g[name].T)
    return g, {"targets": [name], "rel_asymmetry": asym}


def _slip20_largest(problem, g, rng):
    name = _pick_param(g, rng)
    idx = np.unravel_index(int(np.argmax(np.abs(g[name]))), g[name].shape)
    g[name][idx] *= 1.2
    return g, {"targets": [name], "index": [int(i) for i in idx]}


def _entry_plus50(problem, g, rng):
    name = _pick_param(g, rng)
    flat = np.flatnonzero(g[name])
    k = int(flat[int(rng.integers(len(flat)))])
    idx = np.unravel_index(k, g[name].shape)
    rel = float(abs(g[name][idx]) / np.abs(g[name]).max())
    g[name][idx] *= 1.5
    return g, {"targets": [name], "index": [int(i) for i in idx], "entry_rel_to_max": rel}


def _zero_unit(problem, g, j):
    """Zero hidden unit ``j``'s slice of the first layer's weight and bias gradients."""
    wname, bname, waxis, baxis = problem.hidden_unit_axes()
    for name, axis in ((wname, waxis), (bname, baxis)):
        index = [slice(None)] * g[name].ndim
        index[axis] = j
        g[name][tuple(index)] = 0.0


def _zero_hidden_unit(problem, g, rng):
    wname, bname, waxis, baxis = problem.hidden_unit_axes()
    w, b = g[wname], g[bname]
    norms = np.sqrt(np.sum(w**2, axis=1 - waxis) + np.sum(b**2, axis=1 - baxis))
    active = np.flatnonzero(norms > 0)
    if len(active) == 0:
        return None, "no active unit"
    j = int(active[int(rng.integers(len(active)))])
    _zero_unit(problem, g, j)
    return g, {
        "targets": [wname, bname],
        "unit": j,
        "unit_norm_rel_to_max": float(norms[j] / norms.max()),
    }


def _swap_two(problem, g, rng):
    name = _pick_param(g, rng, [n for n, v in g.items() if v.size >= 2])
    if name is None:
        return None, "no parameter with 2 entries"
    swapped = swap_two_entries(g[name].reshape(-1), rng)
    if swapped is None:
        return None, "all entries equal"
    i, j, rel = swapped
    return g, {"targets": [name], "flat_indices": [i, j], "diff_rel_to_max": rel}


def _missing_reg(problem, g, rng):
    if not problem.has_reg or problem.reg <= 0:
        return None, "no regularisation"
    wnames = [n for n in g if n.startswith("W")]
    term = {n: problem.reg * np.abs(problem.params[n]).max() for n in wnames}
    info = {
        "targets": wnames,
        "reg": problem.reg,
        "reg_term_rel_to_grad": {n: float(term[n] / np.abs(g[n]).max()) for n in wnames},
    }
    return {k: np.array(v, copy=True) for k, v in problem.grads(reg=0.0).items()}, info


#: Bug kind -> ``inject(problem, grads copy, rng) -> (buggy grads, info) | (None, reason)``.
INJECTIONS = {
    "scaled_by_N": _scaled_by_n,
    "negated": _negated,
    "transposed": _transposed,
    "slip20_largest": _slip20_largest,
    "entry_plus50": _entry_plus50,
    "zero_hidden_unit": _zero_hidden_unit,
    "swap_two": _swap_two,
    "missing_reg": _missing_reg,
}


def inject(kind, problem, grads, rng):
    """Return (buggy grads, info) or (None, reason) when the bug does not apply."""
    if kind not in INJECTIONS:
        raise ValueError(kind)
    return INJECTIONS[kind](problem, {k: np.array(v, copy=True) for k, v in grads.items()}, rng)


def _swap_entries(v, flat_indices):
    i, j = flat_indices
    v = v.reshape(-1)
    v[i], v[j] = v[j], v[i]


def _scale_entry(factor):
    def scale(problem, g, info, params):
        g[info["targets"][0]][tuple(info["index"])] *= factor

    return scale


def _missing_reg_at(problem, g, info, params):
    g.update(problem.module.gradients(params, problem.X, problem.target, 0.0))


#: Bug kind -> ``apply(problem, grads copy, info, params)``, in place: the bug ``info``
#: describes, on the gradients at ``params``.
REPLAYS = {
    "scaled_by_N": lambda problem, g, info, params: g.update(
        {k: v * info["factor"] for k, v in g.items()}
    ),
    "negated": lambda problem, g, info, params: g.update({n: -g[n] for n in info["targets"]}),
    "transposed": lambda problem, g, info, params: g.update(
        {n: np.ascontiguousarray(g[n].T) for n in info["targets"]}
    ),
    "slip20_largest": _scale_entry(1.2),
    "entry_plus50": _scale_entry(1.5),
    "zero_hidden_unit": lambda problem, g, info, params: _zero_unit(problem, g, info["unit"]),
    "swap_two": lambda problem, g, info, params: _swap_entries(
        g[info["targets"][0]], info["flat_indices"]
    ),
    "missing_reg": _missing_reg_at,
}


def replay(kind, info, problem, params, grads):
    """The gradients ``grads`` (the net's, at ``params``) with the bug ``info`` records."""
    g = {k: np.array(v, copy=True) for k, v in grads.items()}
    REPLAYS[kind](problem, g, info, params)
    return g
