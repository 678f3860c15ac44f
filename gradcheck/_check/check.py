"""check_gradients: compare hand-written gradients with finite differences, and say what is
wrong in words.

The steps, in order (each in its own module of this package):

1. inputs: accept the parameters, gradients and options (``inputs.py``), and call the
   loss at ``x`` on private copies (``evaluate.py``);
2. noise: measure the loss's rounding noise, which sets every step and tolerance
   (``gradcheck._numerics.noise``);
3. plan: probe the large parameters together first (``joint.py``), then choose each
   parameter's lines (``plan.py``);
4. probe: five loss values per step along each line (``gradcheck._numerics.probe``);
5. verdict and diagnosis: per parameter (``verdict.py``, ``diagnose.py``);
6. report: ``GradientReport`` (``report.py``).

docs/architecture.md follows one check through these steps.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from gradcheck._check import budget, diagnose, notes, unchecked, upstream
from gradcheck._check.before import refuse_nonfinite, refuse_swapped_names
from gradcheck._check.evaluate import Evaluator, wants_params
from gradcheck._check.inputs import (
    Axes,
    Options,
    ParamLayout,
    Structure,
    split_grads,
    split_params,
    validate_axes,
    validate_budget,
    validate_options,
)
from gradcheck._check.joint import screen_jointly
from gradcheck._check.parameter import ParameterChecker
from gradcheck._check.plan import Planner
from gradcheck._check.precision import (
    ROUNDING_PER_SCALE,
    Precision,
    coarsest,
    loss_rounding,
    widen,
)
from gradcheck._check.report import Diagnosis, GradientReport, Outcome, ParameterResult
from gradcheck._check.verdict import ParameterOutcome
from gradcheck._integrations.events import notify_check
from gradcheck._numerics.noise import estimate_noise
from gradcheck._numerics.probe import Prober, ProbeSettings
from gradcheck._numerics.scales import param_scale


def check_gradients(
    loss: Callable[..., Any],
    grads: Mapping[str, Any] | Sequence[Any] | NDArray[Any] | Callable[..., Any] | None = None,
    params: Structure | None = None,
    *,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    names: Sequence[str] | None = None,
    full: bool = False,
    max_entries: int = 32,
    directions: int = 2,
    entries: int = 2,
    seed: int | None = 0,
    inplace: bool | None = None,
    max_calls: int | None = None,
    max_seconds: float | None = None,
    progress: bool | None = None,
    quiet: bool = False,
    axes: Axes | None = None,
) -> GradientReport:
    """Check hand-written gradients against finite differences; name what is wrong.

    Args:
        loss: ``loss(params, *args, **kwargs) -> float`` (a Python or NumPy scalar, or a
            0-d array). It may also return ``(loss, grads)`` (cs231n style); then
            ``grads`` may be left out. A loss that reads the parameters itself instead of
            taking them (a zero-argument closure, or a bound method of an object whose
            ``params.py`` is ``params``, e.g. ``model.loss`` with ``args=(X, y)``) is called
            in place: the arrays are perturbed and restored bit for bit after every call.
        grads: the gradients to check, shaped like ``params`` (a mapping with the same keys,
            or a list in the same order), or a function called like ``loss`` that returns
            them, or ``None`` when ``loss`` returns them.
        params: a mapping of name -> float array, a list or tuple of float arrays (named
            ``params[i]`` unless ``names`` is given), or one float array (named ``x``).
            Never modified.
        args, kwargs: passed to ``loss`` (and to ``grads`` when it is a function) after the
            parameters: the data, e.g. ``args=(X, y)``.
        names: names for the parameters of a list, tuple or single array.
        full: probe every entry of every parameter (one loss pair per entry, four loss calls
            per entry) instead of random directions for large ones.
        max_entries: parameters with at most this many entries are checked entry by entry.
        directions: random directions per larger parameter (a random sign and a
            magnitude from [0.5, 1.5] per entry, times the entry's scale).
        entries: single entries per larger parameter: the largest gradient entry is
            always probed; random ones make up the rest only when a probe of that
            parameter failed, so that the report can point at an index. After a failure
            that no scale, sign or transpose explains, an error map of 48 random entries
            (and halving the rest when few of them are wrong) says where the gradient is
            wrong; the message says how many loss calls it took. ``0`` probes directions
            only, and maps nothing.
        seed: seeds the random directions and entries: the same seed gives the same report.
            ``None`` draws a fresh seed (recorded in ``report.seed``).
        inplace: force (``True``) or forbid (``False``) calling the loss in place; ``None``
            decides from the loss's signature as described under ``loss``.
        max_calls: at most this many loss calls (the float64 re-check's and the noise
            step's included). When the next call would exceed it, the check stops: the
            parameters not finished end ``inconclusive`` (never passed), those finished
            keep their outcome, and a note says which were checked. ``None``: no limit.
        max_seconds: the same budget in seconds: no loss call starts after it.
        progress: a display on stderr of parameters done and loss calls so far (tqdm's
            when installed). ``None``: shown when a check runs over 2 s and stderr is a
            terminal, never in CI (``CI`` set) or under pytest's capture; ``True``:
            always; ``False``: never.
        quiet: swallow what the loss and the gradient function print during the check.
        axes: names for the parameters' axes, used by the diagnosis words ("wrong only at
            indices 0 to 8 of axis 1 (T)"): a mapping of parameter name -> names, one per
            axis (``{"x": "N T D"}`` or ``{"x": ("N", "T", "D")}``). check_layer reads
            them from ``forward``'s jaxtyping annotations.

    Returns:
        A ``GradientReport``: ``print(report)`` shows the table, ``report.passed`` the
        verdict, ``report["W2"].diagnosis`` what is wrong with one parameter.

    Raises:
        TypeError, ValueError: misuse (integer parameters, a loss that returns a vector,
            no gradients, bad options), with what to do instead.
        Exception: whatever the user's loss or gradient function raises, with a note
            saying where in the check it happened. The user's arrays are restored first.
        KeyboardInterrupt: Ctrl-C, with a note saying how far the check got; the user's
            arrays are restored first.
    """
    __tracebackhide__ = True
    __tracebackhide__ = True
    if params is None:
        raise TypeError(
            "check_gradients needs params: check_gradients(loss, grads, params), where params "
            "is a mapping of name -> float array"
        )
    if not callable(loss):
        raise TypeError(f"loss must be callable (params -> float); got {type(loss).__name__}")
    options = validate_options(full, max_entries, directions, entries, seed, inplace)
    validate_budget(max_calls, max_seconds, progress, quiet)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))  # type: ignore[operator]
    refuse_swapped_names(grads, params)
    layout, user_arrays = split_params(params, names)
    options = dataclasses.replace(options, axes=validate_axes(axes, layout.names, user_arrays))
    args = tuple(args)
    refuse_nonfinite(layout.names, user_arrays, args, kwargs or {})
    use_inplace = (not wants_params(loss, len(args), params)) if inplace is None else inplace
    evaluator = Evaluator(loss, layout, user_arrays, args, kwargs or {}, inplace=use_inplace)
    with budget.metered(layout.names, max_calls, max_seconds, progress=progress, quiet=quiet):
        try:
            report = _Check(evaluator, layout, options, seed).run(grads)
            given = grads is not None and not callable(grads)
            if _all_failed(report) and not use_inplace and given:
                exchanged = (grads, params, names)
                report = _swap_test(report, loss, exchanged, args, kwargs or {}, seed)
        finally:
            evaluator.restore()
    notify_check(report)
    return report


class _Check:
    """One run of ``check_gradients``, as the steps of the module docstring."""

    def __init__(self, evaluator: Evaluator, layout: ParamLayout, options: Options, seed: int):
        self.native = evaluator  # the loss in the user's dtypes
        self.evaluator = evaluator  # the loss the probes call: native, or on float64 copies
        self.layout = layout
        self.options = options
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.notes: list[str] = []
        self.precision = Precision()
        self.flat = False  # the loss did not move at all on the noise line

    def run(self, grads: object) -> GradientReport:
        f0, loss_dtype, grad_arrays, problems = self.inputs(grads)
        if not math.isfinite(f0):
            return self.report(self.nothing_comparable(f0, grad_arrays), float("nan"))
        if self.native.whole_numbers:
            return self.report(self.quantised(f0, grad_arrays, whole=True), float("nan"))
        outcomes: list[ParameterOutcome] = []
        try:
            f0, loss_dtype, grad_arrays = self.widen(grads, f0, loss_dtype, grad_arrays)
            settings, global_scale = self.noise(f0, loss_dtype)
            checker = self.plan(settings, global_scale, grad_arrays)
            for index, (name, grad) in enumerate(zip(self.layout.names, grad_arrays, strict=True)):
                self.evaluator.context = f"while checking {name} (the loss at a perturbed {name})"
                outcomes.append(checker.check(index, name, grad, problems.get(name)))
                budget.finished(name)  # the progress display's count
        except budget.BudgetSpent as spent:  # the parameters not finished: never passed
            return _ran_out(self, spent, outcomes, grad_arrays, f0)
        results = self.clean(_gathered(self, outcomes), f0)
        # Step 5 across parameters: a gradient wrong only as its partner's is (upstream.py).
        results, cut = upstream.relate(results, checker)
        self.notes.extend([cut] if cut else [])
        return self.report(results, settings.sigma)

    def clean(self, results: list[ParameterResult], f0: float) -> list[ParameterResult]:
        """Step 5, for the whole check: failures that say nothing. While the loss wrote into
        a parameter, the others' probes ran at no clean point; a loss that never moved at
        all and sits on a round number is quantised."""
        writers = [r.name for r in results if r.diagnosis.kind == "mutated"]
        if writers:
            return [
                dataclasses.replace(
                    r, outcome="inconclusive", diagnosis=unchecked.unclean(r.name, writers)
                )
                if r.outcome == "failed" and r.name not in writers
                else r
                for r in results
            ]
        if self.flat and f0 != 0 and round(f0, 6) == f0 and any(not r.passed for r in results):
            return self.quantised(f0, [None] * len(results), whole=False)
        return results

    def inputs(
        self, grads: object
    ) -> tuple[float, np.dtype[Any], list[NDArray[Any] | None], dict[str, str]]:
        """Step 1: the loss at ``x``, and the user's gradients matched to parameters (our
        own copies: a gradient function's arrays may alias its internals)."""
        evaluator = self.evaluator
        evaluator.context = "at the unperturbed parameters"
        f0, loss_dtype, returned_grads = evaluator()
        evaluator.context = "computing the gradients at the unperturbed parameters"
        grad_arrays, extra, problems = split_grads(
            _resolve_grads(grads, returned_grads, evaluator), self.layout
        )
        if extra:
            self.notes.append(notes.extra_gradients(extra))
        copies = [None if g is None else np.array(g, copy=True) for g in grad_arrays]
        return f0, loss_dtype, copies, problems

    def widen(
        self, grads: object, f0: float, loss_dtype: np.dtype[Any], arrays: list[Any]
    ) -> tuple[float, np.dtype[Any], list[NDArray[Any] | None]]:
        """Step 1, for float32 and float16 parameters: the loss on float64 copies, where
        its finite differences carry no low-precision rounding (``precision.py``)."""
        low = coarsest(self.native.snapshots)
        if low == np.float64:
            return f0, loss_dtype, arrays
        wide, self.precision = widen(self.native, low, grads, arrays)
        self.notes.extend(self.precision.notes)
        if wide is None:
            return f0, loss_dtype, arrays
        wide.evaluator.mutated |= self.native.mutated
        self.evaluator = wide.evaluator
        if wide.grads is None:  # arrays: bound their rounding by the loss's own
            self.native.context = self.evaluator.context = "measuring its own rounding"
            rng = np.random.default_rng([self.seed, 1])
            rounding = loss_rounding(self.native, self.evaluator, rng)
            self.precision.rounding = ROUNDING_PER_SCALE * rounding
        return wide.f0, wide.loss_dtype, arrays if wide.grads is None else wide.grads

    def noise(self, f0: float, loss_dtype: np.dtype[Any]) -> tuple[ProbeSettings, float]:
        """Step 2: the loss's noise σ on a short line through all parameters, and from it
        the cube-root step, where truncation (∝ h²) and noise (∝ σ/h) balance."""
        snapshots = self.evaluator.snapshots
        global_scale = param_scale(
            np.concatenate([s.ravel().astype(np.float64) for s in snapshots]), 1.0
        )
        param_eps = max(float(np.finfo(s.dtype).eps) for s in snapshots)
        loss_eps = float(np.finfo(loss_dtype).eps)
        self.evaluator.context = "while estimating its rounding noise (all parameters nudged)"
        noise = estimate_noise(self.evaluator, f0, self.rng, global_scale, param_eps, loss_eps)
        if noise.flaw is not None:
            self.notes.append(notes.noise_flaw(noise.flaw, noise.sigma))
        self.flat = noise.flaw == "flat"
        # Low-precision parameters checked in their own dtype: half an ulp of the loss in
        # that dtype at least, as a smooth float64 term (numpy 1.x promotes a Python float
        # times a float32 scalar) can hide a float32 staircase from the noise line.
        low = param_eps > float(np.finfo(np.float64).eps)
        sigma = max(noise.sigma, 0.5 * param_eps * abs(f0)) if low else noise.sigma
        rel_noise = sigma / abs(f0) if f0 != 0 else loss_eps
        rel_noise = min(max(rel_noise, 2.0**-53), 1e-2)
        # The precision the loss is computed in: its own dtype's, or coarser parameters'.
        work_eps = max(loss_eps, param_eps)
        settings = ProbeSettings(f0, sigma, rel_noise ** (1 / 3), work_eps, self.precision.rounding)
        return settings, global_scale

    def plan(
        self, settings: ProbeSettings, global_scale: float, grads: list[NDArray[Any] | None]
    ) -> ParameterChecker:
        """Step 3: joint probes of the large parameters, and what each parameter needs."""
        grad_eps = self.precision.param_eps or [
            float(np.finfo(s.dtype).eps) for s in self.native.snapshots
        ]
        cover = screen_jointly(
            self.evaluator, settings, self.rng, self.options, global_scale, grads, grad_eps
        )
        return ParameterChecker(
            evaluator=self.evaluator,
            prober=Prober(self.evaluator, settings),
            planner=Planner(self.rng, self.options),
            cover=cover,
            global_scale=global_scale,
            grad_eps=grad_eps,
            blurred_by=self.precision.blur(settings.sigma),
            grads=grads,
            axes=dict(self.options.axes),
        )

    def quantised(
        self, f0: float, grads: list[NDArray[Any] | None], *, whole: bool
    ) -> list[ParameterResult]:
        """Every parameter inconclusive: the loss is quantised, flat between its steps."""
        return self.every_parameter(
            grads, "inconclusive", lambda name: unchecked.quantised(name, f0, whole)
        )

    def nothing_comparable(
        self, f0: float, grads: list[NDArray[Any] | None]
    ) -> list[ParameterResult]:
        """Every parameter fails when the loss itself is not finite at ``x``."""
        return self.every_parameter(grads, "failed", lambda _: diagnose.nonfinite_loss(str(f0)))

    def every_parameter(
        self,
        grads: list[NDArray[Any] | None],
        outcome: Outcome,
        diagnosis: Callable[[str], Diagnosis],
    ) -> list[ParameterResult]:
        """One result per parameter, none of them probed."""
        return [
            ParameterResult(
                name=name,
                shape=tuple(snapshot.shape),
                grad_shape=None if grad is None else tuple(grad.shape),
                outcome=outcome,
                diagnosis=diagnosis(name),
            )
            for name, snapshot, grad in zip(
                self.layout.names, self.native.snapshots, grads, strict=True
            )
        ]

    def report(self, results: Sequence[ParameterResult], sigma: float) -> GradientReport:
        """Step 6."""
        calls = self.native.calls + (
            self.evaluator.calls if self.evaluator is not self.native else 0
        )
        return GradientReport(tuple(results), calls, sigma, self.seed, tuple(self.notes))


def _gathered(check: _Check, outcomes: list[ParameterOutcome]) -> list[ParameterResult]:
    """The parameters' results, a factor they share said as such, and their notes kept."""
    check.notes.extend(note for o in outcomes for note in o.notes)
    return diagnose.share_factor(
        [o.result for o in outcomes], {o.result.name: o.fit for o in outcomes if o.fit}
    )


def _ran_out(
    check: _Check,
    spent: budget.BudgetSpent,
    outcomes: list[ParameterOutcome],
    grads: list[NDArray[Any] | None],
    f0: float,
) -> GradientReport:
    """The report when the budget ran out: the parameters finished keep their outcome, the
    others end inconclusive (never passed), and a note says which were checked."""
    check.notes.append(budget.ran_out(spent))
    unfinished = check.every_parameter(grads, "inconclusive", spent.unchecked)[len(outcomes) :]
    results = [*_gathered(check, outcomes), *unfinished]
    return check.report(check.clean(results, f0), float("nan"))


def _swap_test(
    report: GradientReport,
    loss: Callable[..., Any],
    exchanged: tuple[Any, Any, Sequence[str] | None],
    args: tuple[Any, ...],
    kwargs: Mapping[str, Any],
    seed: int,
) -> GradientReport:
    """Every gradient failed: are params and grads in each other's places? The given
    gradients are checked as parameters (one random direction each, on private copies);
    when every one passes, every result says so. Any trouble leaves the report as it is."""
    grads, params, names = exchanged
    try:
        layout, arrays = split_params(grads, names)
        if layout.names != tuple(r.name for r in report.results) or not all(
            np.all(np.isfinite(a)) for a in arrays
        ):
            return report
        options = validate_options(False, 0, 1, 0, seed)
        evaluator = Evaluator(loss, layout, arrays, args, kwargs, inplace=False)
        swapped = _Check(evaluator, layout, options, seed).run(params)
    except (Exception, budget.BudgetSpent):  # any trouble: no claim about a swap
        return report
    if not swapped.passed or any(r.kinks for r in swapped.results):
        return report  # a pass at kinks allows a range of slopes: too weak to claim a swap
    results = tuple(
        dataclasses.replace(r, diagnosis=diagnose.params_and_grads_swapped(r.name))
        for r in report.results
    )
    calls = report.loss_calls + swapped.loss_calls
    return dataclasses.replace(report, results=results, loss_calls=calls)


def _all_failed(report: GradientReport) -> bool:
    """Every gradient failed on its values (a shape or a missing one is no swap)."""
    return all(
        r.outcome == "failed" and r.grad_shape == r.shape and r.method != "none"
        for r in report.results
    )


def _resolve_grads(grads: object, returned: object | None, evaluator: Evaluator) -> object:
    """The gradients to check: given, computed by a function of the parameters, or
    returned by the loss alongside its value."""
    if grads is None:
        if returned is None:
            raise TypeError(
                "no gradients to check: pass grads (a mapping like params, or a function of "
                "params returning one), or make the loss return (loss, grads)"
            )
        return returned
    if callable(grads):
        return evaluator.call_user(grads)
    return grads
