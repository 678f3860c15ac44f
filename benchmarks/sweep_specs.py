"""Which checks sweep_verdicts.py runs: correct gradients, and the one-parameter bugs."""

import numpy as np

SIGMOID_SIZES = [
    {"batch": 5, "d_in": 3, "hidden1": 4, "hidden2": 6, "d_out": 2},
    {"batch": 16, "d_in": 4, "hidden1": 8, "hidden2": 8, "d_out": 3},
    {"batch": 64, "d_in": 10, "hidden1": 20, "hidden2": 15, "d_out": 5},
    {"batch": 200, "d_in": 20, "hidden1": 32, "hidden2": 32, "d_out": 4},
    {"batch": 8, "d_in": 2, "hidden1": 3, "hidden2": 3, "d_out": 1},
    {"batch": 128, "d_in": 30, "hidden1": 50, "hidden2": 40, "d_out": 10},
]
LINEAR_SIZES = [
    {"batch": 6, "d_in": 2, "classes": 3},
    {"batch": 32, "d_in": 5, "classes": 5},
    {"batch": 100, "d_in": 20, "classes": 10},
    {"batch": 300, "d_in": 50, "classes": 10},
    {"batch": 10, "d_in": 3, "classes": 2},
    {"batch": 64, "d_in": 8, "classes": 4},
]
RELU_SIZES = [  # random two-layer ReLU problems, used for bugs (square weights, reg)
    {"batch": 7, "d_in": 3, "hidden": 5, "classes": 4},
    {"batch": 20, "d_in": 4, "hidden": 6, "classes": 6},
    {"batch": 50, "d_in": 8, "hidden": 8, "classes": 3},
]
LAYOUTS = ("row_major", "column_major")
# Problem seed -> (scale, reg) for the random problems: the bigger scale saturates the
# sigmoids and makes the softmax confident.
SIGMOID_SCALE_REG = {0: (1.0, 0.0), 1: (1.0, 0.0), 2: (3.0, 0.0)}
LINEAR_SCALE_REG = {0: (1.0, 0.0), 1: (1.0, 1e-3), 2: (4.0, 0.1)}
FORUM_REG = {0: 0.0, 1: 1e-3}  # data seed -> reg (the forum itself uses 0)


#: dtype -> (checks per forum problem, per random problem; forum hidden sizes; indices into
#: SIGMOID_SIZES and LINEAR_SIZES). float16 runs on a subset, to keep ``make sweep`` short:
#: numpy's float16 matmul is no BLAS (a loss call of the h1000 forum net takes ~60 ms).
CORRECT_PLAN = {
    "float64": (3, 1, (100, 1000), range(6), range(6)),
    "float32": (6, 2, (100, 1000), range(6), range(6)),
    "float16": (1, 1, (100,), (0, 1, 2, 4, 5), (0, 1, 2, 3, 4, 5)),
}


def _forum_specs(dtype, per, hiddens, check_seed):
    return [
        {
            "net": "forum_relu",
            "state": state,
            "layout": layout,
            "dtype": dtype,
            "sizes": {"hidden": hidden},
            "problem_seed": dseed,
            "reg": FORUM_REG[dseed],
            "check_seed": check_seed(),
        }
        for hidden in hiddens
        for state in ("init", "trained")
        for layout in LAYOUTS
        for dseed in (0, 1)
        for _ in range(per)
    ]


def _random_specs(net, sizes_list, indices, dtype, per, check_seed):
    """Random problems of ``net``: sizes ``sizes_list[i]``, problem seeds 100·i + 0, 1, 2."""
    scale_reg = LINEAR_SCALE_REG if net == "linear_softmax" else SIGMOID_SCALE_REG
    return [
        {
            "net": net,
            "layout": layout,
            "dtype": dtype,
            "sizes": sizes_list[i],
            "problem_seed": 100 * i + pseed,
            "scale": scale_reg[pseed][0],
            "reg": scale_reg[pseed][1],
            "check_seed": check_seed(),
        }
        for i in indices
        for layout in LAYOUTS
        for pseed in (0, 1, 2)
        for _ in range(per)
    ]


def correct_specs():
    seeds = np.random.default_rng(20240601)

    def check_seed():
        return int(seeds.integers(0, 2**31 - 1))

    specs = []
    for dtype, (per_forum, per_random, hiddens, sigmoid, linear) in CORRECT_PLAN.items():
        specs += _forum_specs(dtype, per_forum, hiddens, check_seed)
        specs += _random_specs(
            "three_layer_sigmoid", SIGMOID_SIZES, sigmoid, dtype, per_random, check_seed
        )
        specs += _random_specs(
            "linear_softmax", LINEAR_SIZES, linear, dtype, per_random, check_seed
        )
    return specs


def both_ways(specs):
    """float16 specs twice, with the same seeds: gradients given as arrays, and as a function
    of the parameters (which gradcheck may run on float64 copies); the others as arrays."""
    return [
        dict(spec, grads_as=way)
        for spec in specs
        for way in (("array", "function") if spec["dtype"] == "float16" else ("array",))
    ]


BUG_KINDS = (
    "scaled_by_N",
    "negated",
    "transposed",
    "slip20_largest",
    "entry_plus50",
    "zero_hidden_unit",
    "swap_two",
    "missing_reg",
)
PER_BUG = 15
PER_BUG_FLOAT16 = 8  # per kind, the first problems of its pool


def _pool_general():
    pool = []
    for hidden in (100, 1000):
        for state in ("init", "trained"):
            pool.append(
                {
                    "net": "forum_relu",
                    "state": state,
                    "sizes": {"hidden": hidden},
                    "problem_seed": 0 if state == "init" else 1,
                    "reg": 0.0 if state == "init" else 1e-3,
                }
            )
    # Random problems: (net, sizes, first problem seed, scale of problem i, reg of problem i).
    random_problems = (
        ("three_layer_sigmoid", SIGMOID_SIZES, 500, lambda i: 1.0 if i % 3 else 3.0, lambda i: 0.0),
        (
            "linear_softmax",
            LINEAR_SIZES,
            600,
            lambda i: 1.0 if i % 3 else 4.0,
            lambda i: (0.0, 1e-3, 0.1)[i % 3],
        ),
        ("two_layer_relu", RELU_SIZES, 700, lambda i: 1.0, lambda i: 0.1 * (i % 2)),
    )
    for net, sizes_list, first_seed, scale, reg in random_problems:
        for i, sizes in enumerate(sizes_list):
            pool.append(
                {
                    "net": net,
                    "sizes": sizes,
                    "problem_seed": first_seed + i,
                    "scale": scale(i),
                    "reg": reg(i),
                }
            )
    return pool


def _has_square_weight(spec):
    if spec["net"] == "forum_relu":
        return False
    return any(n.startswith("W") and s[0] == s[1] for n, s in _row_shapes(spec).items())


def _row_shapes(spec):
    from tests.reference_nets._problems import row_major_shapes

    return row_major_shapes(spec["net"], spec["sizes"])


def _bug_pools():
    """Bug kind -> the problems it is injected into (the general pool when not listed)."""
    general = _pool_general()
    # Interleave nets so a kind's 15 cases cover all of them.
    order = sorted(range(len(general)), key=lambda i: (i % 4, i))
    general = [general[i] for i in order]
    pools = {
        "transposed": [s for s in general if _has_square_weight(s)],
        "zero_hidden_unit": [s for s in general if s["net"] != "linear_softmax"],
        "missing_reg": [
            s for s in general if s["net"] != "three_layer_sigmoid" and s.get("reg", 0.0) > 0
        ],
    }
    # missing_reg also on forum nets at init with reg (the pool has only trained ones).
    pools["missing_reg"] += [
        {
            "net": "forum_relu",
            "state": "init",
            "sizes": {"hidden": h},
            "problem_seed": 1,
            "reg": 1e-3,
        }
        for h in (100, 1000)
    ]
    return {kind: pools.get(kind, general) for kind in BUG_KINDS}


def _bug_specs_in(pools, seed, per_bug, dtype_of):
    """``per_bug`` specs per kind; ``dtype_of(j)`` is the dtype of a kind's j-th case."""
    seeds = np.random.default_rng(seed)
    specs = []
    for kind in BUG_KINDS:
        pool = pools[kind]
        for j in range(per_bug):
            base = dict(pool[j % len(pool)])
            base.update(
                {
                    "bug": kind,
                    "layout": LAYOUTS[(j // len(pool) + j) % 2],
                    "dtype": dtype_of(j),
                    "check_seed": int(seeds.integers(0, 2**31 - 1)),
                    "bug_seed": int(seeds.integers(0, 2**31 - 1)),
                }
            )
            specs.append(base)
    return specs


def bug_specs():
    """float64 and float32 (one case in three), then the float16 cases with their own seeds
    (so that the float64 and float32 cases are the same as before float16 was added)."""
    pools = _bug_pools()
    wide = _bug_specs_in(pools, 777, PER_BUG, lambda j: "float32" if j % 3 == 2 else "float64")
    narrow = {kind: [s for s in pool if not _slow_in_float16(s)] for kind, pool in pools.items()}
    return wide + _bug_specs_in(narrow, 1616, PER_BUG_FLOAT16, lambda j: "float16")


def _slow_in_float16(spec):
    return spec["net"] == "forum_relu" and spec["sizes"]["hidden"] == 1000
