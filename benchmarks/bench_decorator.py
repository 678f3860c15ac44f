"""How much does @checked_backward add to a call once its checks are off?

Run it (not collected by pytest):

    .venv/bin/python benchmarks/bench_decorator.py           # ~1 minute
    .venv/bin/python benchmarks/bench_decorator.py --quick   # a few seconds

For two nets, it times the same inline backward (the forum's two-layer ReLU + softmax
net, examples in rows) five ways, and prints µs per call (min and median over repeats)
and the overhead over the plain function:

- plain: the undecorated function;
- decorated: ``@checked_backward(loss)`` after its first (checked) call, so each call
  runs only the cheap structure-and-shape check;
- decorated, jaxtyping-annotated: the same with annotations (checked on the first call only);
- GRADCHECK=never: the decorated function under the process-wide "never" override;
- jaxtyped+beartype: the annotated function wrapped by
  ``jaxtyping.jaxtyped(typechecker=beartype)``, for comparison.

It also times the wrapper alone: a decorated function that returns ready-made gradients
of the same shapes, so that the per-call cost is not buried in the backward's own noise;
"wrapper alone / plain" is then the overhead as a share of the plain backward.

Targets: at most 1% on the forum-scale net (N=800, D=2, h=1000, K=2) and a few µs on a
tiny net (N=4, D=2, h=3, K=2). BLAS is pinned to one thread (unless OPENBLAS_NUM_THREADS
or OMP_NUM_THREADS is set) so that threads fighting over cores do not swamp the figures.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")  # before numpy is imported

import argparse  # noqa: E402
import statistics  # noqa: E402
import timeit  # noqa: E402
from collections.abc import Callable  # noqa: E402
from typing import Any  # noqa: E402

import numpy as np  # noqa: E402
from beartype import beartype  # noqa: E402
from jaxtyping import Float, Int, jaxtyped  # noqa: E402

from gradcheck._integrations import policy  # noqa: E402
from gradcheck._integrations.decorator import checked_backward  # noqa: E402


def make_net(n: int, d: int, h: int, k: int) -> tuple[dict[str, Any], Any, Any]:
    rng = np.random.default_rng(0)
    params = {
        "W": 0.01 * rng.standard_normal((d, h)),
        "b": np.zeros((1, h)),
        "W2": 0.01 * rng.standard_normal((h, k)),
        "b2": np.zeros((1, k)),
    }
    return params, rng.standard_normal((n, d)), rng.integers(0, k, size=n)


def loss(params: dict[str, Any], X: Any, y: Any) -> float:
    hidden = np.maximum(0, np.dot(X, params["W"]) + params["b"])
    scores = np.dot(hidden, params["W2"]) + params["b2"]
    scores = scores - scores.max(axis=1, keepdims=True)
    logprobs = scores - np.log(np.sum(np.exp(scores), axis=1, keepdims=True))
    return float(-np.mean(logprobs[np.arange(len(y)), y]))


def backward(params: dict[str, Any], X: Any, y: Any) -> dict[str, Any]:
    """The forum's backward, written inline: forward pass, then gradients."""
    num_examples = X.shape[0]
    hidden_layer = np.maximum(0, np.dot(X, params["W"]) + params["b"])
    scores = np.dot(hidden_layer, params["W2"]) + params["b2"]
    exp_scores = np.exp(scores - scores.max(axis=1, keepdims=True))
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    dscores = probs
    dscores[range(num_examples), y] -= 1
    dscores /= num_examples
    dW2 = np.dot(hidden_layer.T, dscores)
    db2 = np.sum(dscores, axis=0, keepdims=True)
    dhidden = np.dot(dscores, params["W2"].T)
    dhidden[hidden_layer <= 0] = 0
    dW = np.dot(X.T, dhidden)
    db = np.sum(dhidden, axis=0, keepdims=True)
    return {"W": dW, "b": db, "W2": dW2, "b2": db2}


def annotated_backward(
    params: dict[str, Float[np.ndarray, "_ _"]],
    X: Float[np.ndarray, "batch d_in"],
    y: Int[np.ndarray, " batch"],
) -> dict[str, Float[np.ndarray, "_ _"]]:
    return backward(params, X, y)


def calls_per_run(fn: Callable[[], Any], seconds: float) -> int:
    """How many calls of ``fn`` take about ``seconds``."""
    once = min(timeit.Timer(fn).repeat(repeat=3, number=1))
    return max(1, int(seconds / max(once, 1e-7)))


def timed(name: str, fn: Callable[[], Any], number: int) -> float:
    """µs per call over ``number`` calls (under GRADCHECK=never for that variant)."""
    if name == "GRADCHECK=never":
        os.environ["GRADCHECK"] = "never"
        policy.override.reload_environment()
    try:
        return timeit.Timer(fn).timeit(number=number) / number * 1e6
    finally:
        os.environ.pop("GRADCHECK", None)
        policy.override.reload_environment()


def bench(label: str, n: int, d: int, h: int, k: int, repeat: int, budget_s: float) -> None:
    params, X, y = make_net(n, d, h, k)
    decorated = checked_backward(loss)(backward)
    decorated_annotated = checked_backward(loss)(annotated_backward)
    jaxtyped_only = jaxtyped(typechecker=beartype)(annotated_backward)
    decorated(params, X, y)  # the first call runs the finite-difference check
    decorated_annotated(params, X, y)
    report = decorated.gradcheck.last_report
    assert report is not None
    assert report.passed, str(report)

    ready = backward(params, X, y)

    def ready_made(params: dict[str, Any], X: Any, y: Any) -> dict[str, Any]:
        return ready

    wrapper_only = checked_backward(loss, when="never")(ready_made)
    wrapper_only(params, X, y)

    def run_never() -> Any:
        return decorated(params, X, y)

    variants: list[tuple[str, Callable[[], Any]]] = [
        ("plain", lambda: backward(params, X, y)),
        ("decorated (after 1st call)", lambda: decorated(params, X, y)),
        ("decorated, annotated", lambda: decorated_annotated(params, X, y)),
        ("GRADCHECK=never", run_never),
        ("jaxtyped+beartype", lambda: jaxtyped_only(params, X, y)),
        ("ready-made grads, plain", lambda: ready_made(params, X, y)),
        ("ready-made grads, decorated", lambda: wrapper_only(params, X, y)),
    ]
    # Round-robin: every repeat times each variant once, back to back, so that the machine's
    # drifts (other processes, frequency, caches) hit all variants alike.
    numbers = {name: calls_per_run(fn, budget_s / repeat / len(variants)) for name, fn in variants}
    samples: dict[str, list[float]] = {name: [] for name, _ in variants}
    for _ in range(repeat):
        for name, fn in variants:
            samples[name].append(timed(name, fn, numbers[name]))
    results = {name: (min(got), statistics.median(got)) for name, got in samples.items()}

    plain_min, plain_med = results["plain"]
    print(f"\n{label}: N={n}, D={d}, h={h}, K={k}  (µs per call; overhead vs plain)")
    print(f"  {'variant':<28}{'min':>10}{'median':>10}{'+min':>10}{'+median':>10}{'%min':>8}")
    for name, (low, mid) in results.items():
        if name.startswith("ready-made"):
            continue
        extra_low, extra_mid = low - plain_min, mid - plain_med
        share = 100 * extra_low / plain_min
        if name == "plain":
            print(f"  {name:<28}{low:>10.2f}{mid:>10.2f}")
        else:
            print(
                f"  {name:<28}{low:>10.2f}{mid:>10.2f}{extra_low:>+10.2f}{extra_mid:>+10.2f}"
                f"{share:>+7.2f}%"
            )
    bare_min, bare_med = results["ready-made grads, plain"]
    wrap_min, wrap_med = results["ready-made grads, decorated"]
    alone_min, alone_med = wrap_min - bare_min, wrap_med - bare_med
    print(
        f"  wrapper alone (ready-made grads): +{alone_min:.2f} µs (min), +{alone_med:.2f} µs "
        f"(median) = {100 * alone_min / plain_min:.3f}% of the plain backward's min"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repeats")
    options = parser.parse_args()
    repeat, budget = (7, 4.0) if options.quick else (41, 40.0)
    bench("tiny net", n=4, d=2, h=3, k=2, repeat=repeat, budget_s=budget)
    bench("forum-scale net", n=800, d=2, h=1000, k=2, repeat=repeat, budget_s=budget * 2)


if __name__ == "__main__":
    main()
