"""gradcheck.check_gradients, the project's own checker, passes every reference net.

test_gradients.py compares against a plain finite-difference loop; this is the same
verdict from gradcheck itself, on the same kind of kink-free random data, in both layouts.
"""

import pytest

import gradcheck
from tests.reference_nets._problems import LAYOUTS, NETS, Layout, NetName, random_problem

SIZES: dict[NetName, dict[str, int]] = {
    "two_layer_relu": {"batch": 7, "d_in": 3, "hidden": 5, "classes": 4},
    "three_layer_sigmoid": {"batch": 5, "d_in": 3, "hidden1": 4, "hidden2": 6, "d_out": 2},
    "linear_softmax": {"batch": 6, "d_in": 2, "classes": 3},
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("net", NETS)
def test_gradcheck_passes_every_reference_net(net: NetName, layout: Layout) -> None:
    problem = random_problem(net, SIZES[net], seed=3, reg=0.1)
    params = problem.params_in(layout)
    report = gradcheck.check_gradients(
        lambda p: problem.loss(layout, p), problem.gradients(layout), params
    )
    assert report.passed, str(report)
    assert [result.name for result in report] == list(params)


def test_gradcheck_flags_a_gradient_without_one_over_batch() -> None:
    # The wiring above would pass vacuously if the check could not fail.
    problem = random_problem("two_layer_relu", SIZES["two_layer_relu"], seed=3)
    params = problem.params_in("row_major")
    batch = problem.sizes["batch"]
    wrong = {name: batch * grad for name, grad in problem.gradients("row_major").items()}
    report = gradcheck.check_gradients(lambda p: problem.loss("row_major", p), wrong, params)
    assert not report.passed
