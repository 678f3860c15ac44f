"""jaxtyping annotations on a checked backward: enforced, and explained in plain words."""

from __future__ import annotations

from typing import Any

import jaxtyping
import numpy as np
import pytest
from jaxtyping import Float, Int

from gradcheck import AnnotationMismatch, GradientShapeError, checked_backward
from gradcheck._integrations import policy
from gradcheck._shapes.annotations import annotation_checker, bind_dims
from tests._forum import (
    D,
    ForumParams,
    H,
    K,
    N,
    forum_grads,
    forum_loss,
    make_forum,
    no_override,  # noqa: F401 (a fixture: see pytestmark)
)

SAME_SIZE = (
    "A dimension name stands for one size across all the arguments and the return value: "
    "fix the array (or the annotation, if it is the one that is wrong)."
)


pytestmark = pytest.mark.usefixtures("no_override")


def forum_backward(
    params: ForumParams,
    X: Float[np.ndarray, "batch d_in"],
    y: Int[np.ndarray, " batch"],
) -> ForumParams:
    return forum_grads(params, X, y)  # type: ignore[return-value]


def lines(excinfo: pytest.ExceptionInfo[BaseException]) -> list[str]:
    return str(excinfo.value).splitlines()


# -------------------------------------------------------------- through the decorator


def test_annotated_backward_passes_when_everything_fits() -> None:
    params, X, y = make_forum()
    backward = checked_backward(forum_loss)(forum_backward)
    grads = backward(params, X, y)
    assert set(grads) == set(params)
    report = backward.gradcheck.last_report
    assert report is not None
    assert report.passed


def test_an_argument_with_a_wrong_dimension_names_the_argument_and_the_dimension() -> None:
    params, _, y = make_forum()
    X = np.ones((N, D + 1))
    backward = checked_backward(forum_loss)(forum_backward)
    with pytest.raises(AnnotationMismatch) as excinfo:
        backward(params, X, y)
    assert lines(excinfo) == [
        "forum_backward(): argument X has shape (7, 4), which does not fit its annotation "
        "Float[ndarray, 'batch d_in'].",
        "Axis 1 is d_in = 4 here, but d_in = 3 in params['W1'] (axis 0 of shape (3, 5)).",
        SAME_SIZE,
    ]
    error = excinfo.value
    assert (error.function, error.where, error.dimension) == ("forum_backward", "X", "d_in")
    assert isinstance(error, jaxtyping.TypeCheckError)
    assert isinstance(error, TypeError)
    assert error.__cause__ is None
    assert error.__suppress_context__  # raised "from None": no chained beartype traceback


def test_labels_of_the_wrong_length_name_the_batch_dimension() -> None:
    params, X, _ = make_forum()
    backward = checked_backward(forum_loss)(forum_backward)
    with pytest.raises(AnnotationMismatch) as excinfo:
        backward(params, X, np.zeros(N - 1, dtype=np.int64))
    assert lines(excinfo) == [
        "forum_backward(): argument y has shape (6,), which does not fit its annotation "
        "Int[ndarray, 'batch'].",
        "Axis 0 is batch = 6 here, but batch = 7 in X (axis 0 of shape (7, 3)).",
        SAME_SIZE,
    ]


def test_a_parameter_inside_a_typed_dict_is_checked_item_by_item() -> None:
    """beartype does not look inside a TypedDict; the walker does."""
    params, X, y = make_forum()
    params["b2"] = np.zeros((1, K + 2))
    backward = checked_backward(forum_loss)(forum_backward)
    with pytest.raises(AnnotationMismatch) as excinfo:
        backward(params, X, y)
    assert lines(excinfo)[:2] == [
        "forum_backward(): argument params['b2'] has shape (1, 6), which does not fit its "
        "annotation Float[ndarray, '1 classes'].",
        "Axis 1 is classes = 6 here, but classes = 4 in params['W2'] (axis 1 of shape (5, 4)).",
    ]


def test_a_wrong_dtype_says_which_dtypes_fit() -> None:
    params, X, y = make_forum()
    backward = checked_backward(forum_loss)(forum_backward)
    with pytest.raises(AnnotationMismatch) as excinfo:
        backward(params, X, y.astype(np.float64))
    assert lines(excinfo)[0] == (
        "forum_backward(): argument y has dtype float64, which does not fit its annotation "
        "Int[ndarray, 'batch']."
    )
    assert lines(excinfo)[1].startswith("It needs one of: ")
    assert "int64" in lines(excinfo)[1]
    assert excinfo.value.dimension is None


def test_a_wrong_gradient_shape_is_a_shape_error_before_an_annotation_error() -> None:
    """A transposed gradient also breaks the return annotation: the shape words win."""
    params, X, y = make_forum()

    def backward(
        params: ForumParams, X: Float[np.ndarray, "batch d_in"], y: Int[np.ndarray, " batch"]
    ) -> ForumParams:
        grads = forum_backward(params, X, y)
        grads["W2"] = grads["W2"].T
        return grads

    with pytest.raises(GradientShapeError, match="the gradient is transposed"):
        checked_backward(forum_loss)(backward)(params, X, y)


def test_a_returned_item_that_breaks_a_dimension_is_named() -> None:
    def backward(
        W: Float[np.ndarray, "d_in hidden"], X: Float[np.ndarray, "batch d_in"]
    ) -> tuple[float, dict[str, Float[np.ndarray, "batch hidden"]]]:
        return 0.0, {"W": np.zeros((D, H)), "hidden": np.zeros((N + 1, H))}

    checker = annotation_checker(backward)
    assert checker is not None
    with pytest.raises(AnnotationMismatch) as excinfo:
        checker.call((np.zeros((D, H)), np.zeros((N, D))), {})
    assert lines(excinfo) == [
        "backward(): the return value[1]['W'] has shape (3, 5), which does not fit its "
        "annotation Float[ndarray, 'batch hidden'].",
        "Axis 0 is batch = 3 here, but batch = 7 in X (axis 0 of shape (7, 3)).",
        SAME_SIZE,
    ]
    assert excinfo.value.where == "return value[1]['W']"


def test_annotations_are_checked_on_the_first_call_only_with_when_first() -> None:
    params, X, y = make_forum()
    backward = checked_backward(forum_loss)(forum_backward)
    backward(params, X, y)
    backward(params, X.astype(np.int64), y)  # an int X breaks Float[...]: not checked now
    always = checked_backward(forum_loss, when="always")(forum_backward)
    always(params, X, y)
    with pytest.raises(AnnotationMismatch, match="argument X has dtype int64"):
        always(params, X.astype(np.int64), y)


def test_annotations_are_checked_on_the_first_call_even_with_when_never() -> None:
    params, X, y = make_forum()
    backward = checked_backward(forum_loss, when="never")(forum_backward)
    with pytest.raises(AnnotationMismatch, match="argument X has shape"):
        backward(params, X[:, :2], y)


def test_gradcheck_never_skips_annotations(monkeypatch: pytest.MonkeyPatch) -> None:
    params, X, y = make_forum()
    policy.override.set("never")
    backward = checked_backward(forum_loss)(forum_backward)
    backward(params, X.astype(np.int64), y)  # even the first call is unchecked


def test_loss_and_grads_annotated_as_a_pair() -> None:
    params, X, y = make_forum()

    @checked_backward()
    def loss_and_grads(
        params: ForumParams, X: Float[np.ndarray, "batch d_in"], y: Int[np.ndarray, " batch"]
    ) -> tuple[float, ForumParams]:
        return forum_loss(params, X, y), forum_backward(params, X, y)

    loss_and_grads(params, X, y)
    loss_and_grads.gradcheck.reset()
    with pytest.raises(AnnotationMismatch, match=r"argument y has shape \(8,\)"):
        loss_and_grads(params, X, np.zeros(N + 1, dtype=np.int64))


# ------------------------------------------------------------------- the walker itself


def test_every_item_of_a_dict_is_checked_not_one_sample() -> None:
    def f(xs: dict[str, Float[np.ndarray, " n"]]) -> None:
        return None

    checker = annotation_checker(f)
    assert checker is not None
    with pytest.raises(AnnotationMismatch) as excinfo:
        checker.call(({"a": np.zeros(3), "b": np.zeros(3), "c": np.zeros(4)},), {})
    assert lines(excinfo)[1] == "Axis 0 is n = 4 here, but n = 3 in xs['a'] (axis 0 of shape (3,))."


def test_a_list_of_layers_is_checked_item_by_item() -> None:
    def f(layers: list[Float[np.ndarray, "width width"]]) -> None:
        return None

    checker = annotation_checker(f)
    assert checker is not None
    with pytest.raises(AnnotationMismatch) as excinfo:
        checker.call(([np.eye(3), np.ones((3, 2))],), {})
    assert lines(excinfo)[0] == (
        "f(): argument layers[1] has shape (3, 2), which does not fit its annotation "
        "Float[ndarray, 'width width']."
    )
    assert lines(excinfo)[1] == (
        "Axis 1 is width = 2 here, but width = 3 in layers[0] (axis 0 of shape (3, 3))."
    )


def test_a_fixed_size_and_a_number_of_axes() -> None:
    def f(x: Float[np.ndarray, "n 3"]) -> None:
        return None

    checker = annotation_checker(f)
    assert checker is not None
    with pytest.raises(AnnotationMismatch) as excinfo:
        checker.call((np.zeros((2, 4)),), {})
    assert lines(excinfo)[1] == "Axis 1 is 4 here, but the annotation fixes it to 3."
    with pytest.raises(AnnotationMismatch) as excinfo:
        checker.call((np.zeros((2, 3, 1)),), {})
    assert lines(excinfo)[1] == "It has 3 axes; the annotation 'n 3' has 2."


def test_variadic_dimensions() -> None:
    def f(x: Float[np.ndarray, "*batch d"], y: Float[np.ndarray, "*batch"]) -> None:
        return None

    checker = annotation_checker(f)
    assert checker is not None
    checker.call((np.zeros((4, 5, 2)), np.zeros((4, 5))), {})
    with pytest.raises(AnnotationMismatch) as excinfo:
        checker.call((np.zeros((4, 5, 2)), np.zeros((4, 6))), {})
    assert lines(excinfo)[1] == (
        "Axes 0..1 are *batch = (4, 6) here, but *batch = (4, 5) in x (axes 0..1 of shape "
        "(4, 5, 2))."
    )
    assert excinfo.value.dimension == "*batch"


def test_a_broadcastable_axis_accepts_one() -> None:
    def f(x: Float[np.ndarray, "n d"], b: Float[np.ndarray, "#n d"]) -> None:
        return None

    checker = annotation_checker(f)
    assert checker is not None
    checker.call((np.zeros((4, 2)), np.zeros((1, 2))), {})


def test_a_non_array_annotation_names_the_argument_and_its_value() -> None:
    def f(x: Float[np.ndarray, " n"], count: int) -> None:
        return None

    checker = annotation_checker(f)
    assert checker is not None
    with pytest.raises(AnnotationMismatch) as excinfo:
        checker.call((np.zeros(3), "3"), {})
    assert lines(excinfo) == ["f(): argument count is '3', which does not fit its annotation int."]
    assert excinfo.value.where == "count"


def test_a_function_without_jaxtyping_annotations_has_no_checker() -> None:
    def f(x: np.ndarray, n: int) -> dict[str, np.ndarray]:
        return {}

    assert annotation_checker(f) is None


def test_unresolvable_annotations_warn_and_are_not_enforced() -> None:
    def f(x: UndefinedArray[np.ndarray, " n"]) -> None:  # noqa: F821
        return None

    with pytest.warns(UserWarning, match=r"cannot resolve the annotations of f\(\)"):
        assert annotation_checker(f) is None


def test_bind_dims_reads_sizes_from_the_arguments() -> None:
    params, X, y = make_forum()
    assert bind_dims(forum_backward, (params, X, y), {}) == {
        "d_in": D,
        "hidden": H,
        "classes": K,
        "batch": N,
    }


def test_a_shape_error_found_after_jaxtyping_failed_has_no_chained_traceback() -> None:
    """beartype rejects the return value; the shape words are raised with no context."""

    def loss(params: Any, X: Any) -> float:
        return float(np.sum(X @ params[0]))

    def backward(
        params: list[Float[np.ndarray, "d_in hidden"]], X: Float[np.ndarray, "batch d_in"]
    ) -> list[Float[np.ndarray, "d_in hidden"]]:
        return [(X.T @ np.ones((N, H))).T]

    checked = checked_backward(loss, names=["W"])(backward)
    with pytest.raises(GradientShapeError) as excinfo:
        checked([np.zeros((D, H))], np.ones((N, D)))
    assert lines(excinfo)[1].startswith("- dW has shape (5, 3) but W has shape (3, 5)")
    assert excinfo.value.__context__ is None
    assert excinfo.value.__cause__ is None
