"""shape_trace: every array of a backward, with its shape in named dimensions."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from types import FrameType
from typing import Any

import numpy as np
import pytest
from jaxtyping import Float, Int

from gradcheck import ShapeTrace, checked_backward, shape_trace
from gradcheck._integrations import policy
from reference_nets.two_layer_relu.row_major import init_params
from tests._forum import ForumParams

# Distinct sizes: a square matrix would hide a transpose.
N, D, H, K = 7, 3, 5, 4
DIMS = {"batch": N, "d_in": D, "hidden": H, "classes": K}


@pytest.fixture(autouse=True)
def _no_override() -> Iterator[None]:
    policy.override.set(None)
    yield
    policy.override.set(None)


def rows_data(n: int = N, d: int = D, h: int = H, k: int = K) -> tuple[Any, Any, Any]:
    rng = np.random.default_rng(0)
    params = init_params(d_in=d, hidden=h, classes=k, rng=rng)
    return params, rng.standard_normal((n, d)), rng.integers(0, k, size=n)


# The forum's backward, examples in rows (X is batch x d_in).
def rows_backward(params: Any, X: Any, y: Any) -> dict[str, Any]:
    W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
    num_examples = X.shape[0]
    hidden = np.maximum(0, np.dot(X, W1) + b1)
    scores = hidden @ W2 + b2
    exp_scores = np.exp(scores)
    probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
    dscores = probs
    dscores[range(num_examples), y] -= 1
    dscores /= num_examples
    dW2 = hidden.T @ dscores
    db2 = np.sum(dscores, axis=0, keepdims=True)
    dhidden = dscores @ W2.T
    dhidden[hidden <= 0] = 0
    dW1 = X.T @ dhidden
    db1 = np.sum(dhidden, axis=0, keepdims=True)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


# What its trace shows, line by line.
ROWS_RENDERINGS = {
    'W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]': (
        "-> W1 (d_in, hidden), b1 (1, hidden), W2 (hidden, classes), b2 (1, classes)"
    ),
    "hidden = np.maximum(0, np.dot(X, W1) + b1)": (
        "np.maximum(0, np.dot((batch, d_in), (d_in, hidden)) + (1, hidden)) -> (batch, hidden)"
    ),
    "scores = hidden @ W2 + b2": (
        "(batch, hidden) @ (hidden, classes) + (1, classes) -> (batch, classes)"
    ),
    "exp_scores = np.exp(scores)": "np.exp((batch, classes)) -> (batch, classes)",
    "probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)": (
        "(batch, classes) / np.sum((batch, classes), axis=1, keepdims=True) -> (batch, classes)"
    ),
    "dscores = probs": "(batch, classes)",
    "dscores[range(num_examples), y] -= 1": "(batch, classes) in place",
    "dscores /= num_examples": "(batch, classes) in place",
    "dW2 = hidden.T @ dscores": "(hidden, batch) @ (batch, classes) -> (hidden, classes)",
    "db2 = np.sum(dscores, axis=0, keepdims=True)": (
        "np.sum((batch, classes), axis=0, keepdims=True) -> (1, classes)"
    ),
    "dhidden = dscores @ W2.T": "(batch, classes) @ (classes, hidden) -> (batch, hidden)",
    "dhidden[hidden <= 0] = 0": "(batch, hidden) in place",
    "dW1 = X.T @ dhidden": "(d_in, batch) @ (batch, hidden) -> (d_in, hidden)",
    "db1 = np.sum(dhidden, axis=0, keepdims=True)": (
        "np.sum((batch, hidden), axis=0, keepdims=True) -> (1, hidden)"
    ),
    'return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}': (
        "{'W1': (d_in, hidden), 'b1': (1, hidden), 'W2': (hidden, classes), 'b2': (1, classes)}"
    ),
}


# The same net, examples in columns (X is d_in x batch), as in the Code Review question.
def columns_backward(parameters: Any, X: Any, Y: Any) -> list[Any]:
    W1, b1, W2, b2 = parameters
    hidden = np.maximum(0, W1 @ X + b1[:, np.newaxis])
    scores = W2 @ hidden + b2[:, np.newaxis]
    probs = np.exp(scores) / np.sum(np.exp(scores), axis=0, keepdims=True)
    dscores = (probs - Y) / X.shape[1]
    dW2 = dscores @ hidden.T
    db2 = dscores.sum(axis=1)
    dhidden = W2.T @ dscores
    dhidden[hidden <= 0] = 0
    dW1 = dhidden @ X.T
    db1 = dhidden.sum(axis=1)
    return [dW1, db1, dW2, db2]


# What its trace shows, line by line.
COLUMNS_RENDERINGS = {
    "W1, b1, W2, b2 = parameters": (
        "-> W1 (hidden, d_in), b1 (hidden,), W2 (classes, hidden), b2 (classes,)"
    ),
    "hidden = np.maximum(0, W1 @ X + b1[:, np.newaxis])": (
        "np.maximum(0, (hidden, d_in) @ (d_in, batch) + (hidden,)[:, np.newaxis]) "
        "-> (hidden, batch)"
    ),
    "scores = W2 @ hidden + b2[:, np.newaxis]": (
        "(classes, hidden) @ (hidden, batch) + (classes,)[:, np.newaxis] -> (classes, batch)"
    ),
    "probs = np.exp(scores) / np.sum(np.exp(scores), axis=0, keepdims=True)": (
        "np.exp((classes, batch)) / np.sum(np.exp((classes, batch)), axis=0, keepdims=True) "
        "-> (classes, batch)"
    ),
    "dscores = (probs - Y) / X.shape[1]": (
        "((classes, batch) - (classes, batch)) / (d_in, batch).shape[1] -> (classes, batch)"
    ),
    "dW2 = dscores @ hidden.T": "(classes, batch) @ (batch, hidden) -> (classes, hidden)",
    "db2 = dscores.sum(axis=1)": "(classes, batch).sum(axis=1) -> (classes,)",
    "dhidden = W2.T @ dscores": "(hidden, classes) @ (classes, batch) -> (hidden, batch)",
    "dhidden[hidden <= 0] = 0": "(hidden, batch) in place",
    "dW1 = dhidden @ X.T": "(hidden, batch) @ (batch, d_in) -> (hidden, d_in)",
    "db1 = dhidden.sum(axis=1)": "(hidden, batch).sum(axis=1) -> (hidden,)",
    "return [dW1, db1, dW2, db2]": ("[(hidden, d_in), (hidden,), (classes, hidden), (classes,)]"),
}


def columns_data() -> tuple[Any, Any, Any]:
    rng = np.random.default_rng(0)
    parameters = [
        rng.standard_normal((H, D)),
        np.zeros(H),
        rng.standard_normal((K, H)),
        np.zeros(K),
    ]
    X = rng.standard_normal((D, N))
    Y = np.eye(K)[:, rng.integers(0, K, size=N)]
    return parameters, X, Y


def renderings(trace: ShapeTrace) -> dict[str, str]:
    return {record.source: record.rendering for record in trace.lines}


def test_the_rows_backward_reads_in_named_dimensions() -> None:
    params, X, y = rows_data()
    trace = shape_trace(rows_backward, params, X, y, dims=DIMS)
    assert renderings(trace) == ROWS_RENDERINGS
    assert str(trace.line("dW2")) == (
        "dW2 = hidden.T @ dscores   (hidden, batch) @ (batch, classes) -> (hidden, classes)"
    )
    assert trace.line("dW2").shapes == ((H, K),)
    assert trace.line("dscores").in_place
    assert trace.result["W2"].shape == (H, K)
    assert trace.notes == ()


def test_the_columns_backward_reads_in_named_dimensions() -> None:
    parameters, X, Y = columns_data()
    trace = shape_trace(columns_backward, parameters, X, Y, dims=DIMS)
    assert renderings(trace) == COLUMNS_RENDERINGS
    assert trace.arguments == (
        ("parameters[0]", "(hidden, d_in)"),
        ("parameters[1]", "(hidden,)"),
        ("parameters[2]", "(classes, hidden)"),
        ("parameters[3]", "(classes,)"),
        ("X", "(d_in, batch)"),
        ("Y", "(classes, batch)"),
    )


def small(x: Any, W: Any) -> Any:
    h = x @ W
    h *= 2
    return h.sum(axis=0)


def test_the_printed_trace_line_by_line() -> None:
    x, W = np.ones((N, D)), np.ones((D, H))
    trace = shape_trace(small, x, W, dims={N: "batch", D: "d_in", H: "hidden"})
    first = small.__code__.co_firstlineno
    assert str(trace).splitlines() == [
        "shape trace of small(): batch=7, d_in=3, hidden=5",
        "arguments:",
        "  x  (batch, d_in)",
        "  W  (d_in, hidden)",
        f"{first + 1:>4}  h = x @ W              (batch, d_in) @ (d_in, hidden) -> (batch, hidden)",
        f"{first + 2:>4}  h *= 2                 (batch, hidden) in place",
        f"{first + 3:>4}  return h.sum(axis=0)   (batch, hidden).sum(axis=0) -> (hidden,)",
    ]
    assert [record.lineno for record in trace.lines] == [first + 1, first + 2, first + 3]


def test_equal_sizes_are_flagged_with_distinct_sizes_suggested() -> None:
    """The forum's own sizes: d_in = classes = 2, so W2 (hidden, 2) could be transposed."""
    params, X, y = rows_data(n=8, d=2, h=6, k=2)
    trace = shape_trace(
        rows_backward, params, X, y, dims={"batch": 8, "d_in": 2, "hidden": 6, "classes": 2}
    )
    assert trace.notes == (
        "d_in and classes are both 2, so their axes cannot be told apart here and a "
        "transposed or misplaced axis would look right; trace with distinct sizes, "
        "e.g. d_in=2, classes=3",
    )
    assert trace.line("dW2").rendering == (
        "(hidden, batch) @ (batch, d_in|classes) -> (hidden, d_in|classes)"
    )
    assert str(trace).splitlines()[1] == "note: " + trace.notes[0]


def annotated_backward(
    params: dict[str, Float[np.ndarray, "_ _"]],
    X: Float[np.ndarray, "batch d_in"],
    y: Int[np.ndarray, " batch"],
    W2: Float[np.ndarray, "hidden classes"],
) -> Any:
    scores = X @ params["W1"] @ W2
    return scores


def test_dimension_names_come_from_jaxtyping_annotations() -> None:
    params, X, y = rows_data()
    trace = shape_trace(annotated_backward, params, X, y, params["W2"])
    assert dict(trace.dims) == {"batch": N, "d_in": D, "hidden": H, "classes": K}
    assert trace.line("scores").rendering == (
        "(batch, d_in) @ (d_in, hidden) @ (hidden, classes) -> (batch, classes)"
    )


def test_given_dims_win_over_annotations() -> None:
    params, X, y = rows_data()
    trace = shape_trace(annotated_backward, params, X, y, params["W2"], dims={"examples": N})
    assert trace.line("scores").rendering == (
        "(examples, d_in) @ (d_in, hidden) @ (hidden, classes) -> (examples, classes)"
    )


def test_without_names_sizes_are_numbers() -> None:
    trace = shape_trace(small, np.ones((N, D)), np.ones((D, H)))
    assert trace.line("h").rendering == "(7, 5) in place"
    assert trace.lines[0].rendering == "(7, 3) @ (3, 5) -> (7, 5)"


def looping(x: Any) -> Any:
    total = np.zeros(3)
    for row in x:
        total = total + row
    return total


def test_a_loop_line_is_counted_not_repeated() -> None:
    trace = shape_trace(looping, np.ones((4, 3)), dims={"d": 3})
    assert [(record.source, record.times) for record in trace.lines] == [
        ("total = np.zeros(3)", 1),
        ("for row in x:", 4),
        ("total = total + row", 4),
        ("return total", 1),
    ]
    assert "(x4)" in str(trace)


def broken(X: Any, W: Any) -> Any:
    h = X @ W
    wrong = h @ W  # (batch, hidden) @ (d_in, hidden): a missing transpose
    return wrong


def test_a_failing_line_shows_its_operands_in_a_note() -> None:
    with pytest.raises(ValueError, match="matmul") as excinfo:
        shape_trace(broken, np.ones((N, D)), np.ones((D, H)), dims=DIMS)
    note = excinfo.value.__notes__[0].splitlines()
    assert note[0] == "shape trace of broken(): batch=7, d_in=3, hidden=5, classes=4"
    assert "wrong = h @ W" in note[-1]
    assert "(batch, hidden) @ (d_in, hidden)   raised ValueError: matmul" in note[-1]
    assert "h = x @ W" not in note[-1]


class _Spy:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, frame: FrameType, event: str, arg: Any) -> None:
        self.calls += 1


def test_the_previous_tracer_is_restored() -> None:
    spy = _Spy()
    previous = sys.gettrace()
    sys.settrace(spy)
    try:
        shape_trace(small, np.ones((2, 3)), np.ones((3, 4)))
        assert sys.gettrace() is spy
        with pytest.raises(ValueError, match="matmul"):
            shape_trace(broken, np.ones((2, 3)), np.ones((3, 4)))
        assert sys.gettrace() is spy
    finally:
        sys.settrace(previous)


def test_a_checked_backward_is_traced_without_its_checks() -> None:
    params, X, y = rows_data()

    def loss(params: Any, X: Any, y: Any) -> float:
        raise AssertionError("the trace must not run the check")

    checked = checked_backward(loss, when="always")(rows_backward)
    trace = shape_trace(checked, params, X, y, dims=DIMS)
    assert trace.line("dW1").rendering == "(d_in, batch) @ (batch, hidden) -> (d_in, hidden)"
    assert checked.gradcheck.calls == 0


def test_user_arrays_are_left_alone() -> None:
    params, X, y = rows_data()
    before = {k: v.copy() for k, v in params.items()}, X.copy(), y.copy()
    shape_trace(rows_backward, params, X, y, dims=DIMS)
    for key, value in before[0].items():
        np.testing.assert_array_equal(params[key], value)
    np.testing.assert_array_equal(X, before[1])
    np.testing.assert_array_equal(y, before[2])


def test_a_builtin_cannot_be_traced() -> None:
    with pytest.raises(TypeError, match="shape_trace needs a Python function"):
        shape_trace(np.dot, np.ones(2), np.ones(2))


def test_bad_dims_are_refused() -> None:
    with pytest.raises(TypeError, match="dims= maps dimension names to sizes"):
        shape_trace(small, np.ones((2, 3)), np.ones((3, 4)), dims={"batch": "2"})


def test_line_of_an_unknown_name() -> None:
    trace = shape_trace(small, np.ones((2, 3)), np.ones((3, 4)))
    with pytest.raises(KeyError, match="no traced line bound 'nope'; the traced names are"):
        trace.line("nope")


# ------------------------------------------------- inputs built from the annotations


def typed_rows_backward(
    params: ForumParams, X: Float[np.ndarray, "batch d_in"], y: Int[np.ndarray, " batch"]
) -> dict[str, Any]:
    hidden = np.maximum(0, X @ params["W1"] + params["b1"])
    dscores = hidden @ params["W2"] + params["b2"]
    dscores[np.arange(len(y)), y] -= 1
    dW2 = hidden.T @ dscores
    return {"W2": dW2}


def test_without_arguments_the_trace_builds_them_with_distinct_sizes() -> None:
    trace = shape_trace(typed_rows_backward)
    assert dict(trace.dims) == {"d_in": 3, "hidden": 4, "classes": 5, "batch": 6}
    assert trace.notes == ()
    assert str(trace.line("dW2")) == (
        "dW2 = hidden.T @ dscores   (hidden, batch) @ (batch, classes) -> (hidden, classes)"
    )
    assert trace.line("hidden").rendering == (
        "np.maximum(0, (batch, d_in) @ (d_in, hidden) + (1, hidden)) -> (batch, hidden)"
    )
    assert trace.arguments[-1] == ("y", "(batch,)")


def test_sizes_choose_some_sizes_and_the_rest_stay_distinct() -> None:
    trace = shape_trace(typed_rows_backward, sizes={"batch": 8, "hidden": 3})
    assert dict(trace.dims) == {"batch": 8, "hidden": 3, "d_in": 4, "classes": 5}
    assert trace.line("dW2").shapes == ((3, 5),)


def test_sizes_that_clash_are_flagged() -> None:
    trace = shape_trace(typed_rows_backward, sizes={"d_in": 2, "classes": 2})
    assert trace.notes[0].startswith("d_in and classes are both 2")


def test_sizes_with_arguments_is_refused() -> None:
    params, X, y = rows_data()
    with pytest.raises(TypeError, match="got both arguments and sizes="):
        shape_trace(typed_rows_backward, params, X, y, sizes={"batch": 8})


def test_an_argument_the_trace_cannot_build_is_named() -> None:
    def backward(params: dict[str, Float[np.ndarray, "a b"]], X: Float[np.ndarray, "n a"]) -> Any:
        return X

    with pytest.raises(TypeError) as excinfo:
        shape_trace(backward)
    assert str(excinfo.value).startswith(
        "shape_trace cannot build argument params of backward() from its annotation "
    )
    assert str(excinfo.value).endswith("; pass the arguments yourself")
