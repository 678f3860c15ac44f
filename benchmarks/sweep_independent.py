"""Independent errors in two gradients of one test layer: no shared cause, so no gradient
may be called ``upstream`` (issue #17). Part of ``sweep_diagnoses.py``.

For every layer of ``tests/layers/cases.LAYERS`` and every pair of its floating-point
inputs, the correct backward's two gradients each get independent noise, every entry times
``1 + 0.2 z`` (``z ~ N(0, 1)``, seeded). Both must fail; a kind other than ``upstream`` is
fine (these are no known mistakes, so "mismatch" is expected and not counted as plain).
"""

from __future__ import annotations

import itertools
from collections import Counter

import numpy as np

import gradcheck
from tests.layers.cases import LAYERS, checked_positions

NOISE = 0.2


class _NamedGradientsError(Exception):
    """A layer whose backward returns its gradients by name."""


def _noisy(backward, picked: tuple[int, ...], seed: int):
    """``backward`` with the gradients at positions ``picked`` (among its outputs) noised."""

    def wrong(*args):
        grads = backward(*args)
        if isinstance(grads, dict):
            raise _NamedGradientsError  # gradients by name: positions do not say which is which
        single = not isinstance(grads, tuple)
        grads = [grads] if single else list(grads)
        rng = np.random.default_rng([seed, *picked])
        for k in picked:
            grads[k] = grads[k] * (1 + NOISE * rng.standard_normal(np.shape(grads[k])))
        return grads[0] if single else tuple(grads)

    return wrong


def check_independent(seeds: tuple[int, ...]) -> dict:
    """Every layer, pair of parameters and seed: the kinds of the failed gradients, the
    upstream claims (wrong), the noised gradients that passed (misses) and what raised."""
    kinds, claims, misses, errors, skipped, checks = Counter(), [], [], [], set(), 0
    for (name, case), seed in itertools.product(LAYERS.items(), seeds):
        inputs = case.make_inputs(np.random.default_rng(seed))
        params = checked_positions(inputs)
        for pair in itertools.combinations(range(len(params)), 2):
            checks += 1
            wrong = _noisy(case.backward, pair, seed)
            label = f"{name} seed {seed} noise on outputs {pair}"
            try:
                report = gradcheck.check_layer(case.forward, wrong, *inputs, **case.options)
            except _NamedGradientsError:
                skipped.add(name)
                continue
            except Exception as exc:  # record and carry on
                errors.append(f"{label}: {type(exc).__name__}: {exc}")
                continue
            results = list(report)
            for k in pair:
                if results[k].passed:
                    misses.append(f"{label}: {results[k].name} passed")
            for r in report.failed:
                kinds[r.diagnosis.kind] += 1
                if r.diagnosis.kind == "upstream":
                    claims.append(f"{label}: {r.name}: {r.diagnosis.message}")
    return {
        "checks": checks,
        "kinds": dict(kinds),
        "upstream_claims": claims,
        "misses": misses,
        "errors": errors,
        "skipped_layers": sorted(skipped),
    }


def print_independent(s: dict) -> None:
    kinds = ", ".join(f"{k} {n}" for k, n in sorted(s["kinds"].items()))
    print(
        f"\nindependent noise in two gradients of a test layer: {s['checks']} checks; "
        f"failed gradients: {kinds} (skipped, gradients by name: {s['skipped_layers']})"
    )
    for title, key in (
        ("wrongly called upstream", "upstream_claims"),
        ("noised gradients that passed", "misses"),
        ("checks that raised", "errors"),
    ):
        print(f"{title}: {len(s[key])}")
        for line in s[key]:
            print(f"- {line}")
