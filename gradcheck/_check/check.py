"""check_gradients: compare a hand-written gradient with finite differences, and say what
is wrong in words.

The steps, each in its own module:

1. ``_params``: accept the user's parameters and gradients (mapping, list, one array).
2. ``_evaluate``: call the loss on private copies (or in place, restoring bit for bit).
3. ``_noise``: estimate the loss's rounding noise on a short line through all parameters.
4. ``_probe`` and ``_stencil``: per probe (an entry, or a random direction for large
   tensors), five loss values give central, Richardson and one-sided derivatives with
   error bounds; ``_probe`` picks the steps, retries and settles the verdict.
5. ``_diagnose``: turn failed probes into a diagnosis (scaled, negated, transposed, ...).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from gradcheck._diagnose import (
    FactorFit,
    Probe,
    all_pass,
    common_factor,
    conclusive,
    diagnose_values,
    fit_factor,
    scaled,
)
from gradcheck._evaluate import Evaluator, wants_params
from gradcheck._events import notify_check
from gradcheck._joint import JOINT_RESOLUTION, Piece, Pieces, equal_shares, vouches
from gradcheck._noise import estimate_noise
from gradcheck._params import (
    ParamLayout,
    Structure,
    entry_scales,
    grad_label,
    gradient_eps,
    param_scale,
    split_grads,
    split_params,
)
from gradcheck._probe import PRECISION, NonFiniteLossError, Prober
from gradcheck._report import Diagnosis, GradientReport, ParameterResult, common_notes
from gradcheck._shapes import classify_shape_slip, describe_shape_slip
from gradcheck._stencil import central_noise_tolerance

#: Entries probed in place of each random direction that could not decide.
EXTRA_ENTRIES = 2


@dataclass
class _Options:
    full: bool
    max_entries: int
    directions: int
    entries: int


def _validate_options(
    full: bool, max_entries: int, directions: int, entries: int, seed: int | None
) -> _Options:
    for option, value in (
        ("max_entries", max_entries),
        ("directions", directions),
        ("entries", entries),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{option} must be a whole number >= 0, got {value!r}")
    if directions + entries == 0:
        raise ValueError(
            "directions and entries are both 0, so large parameters would not be checked: "
            "set at least one of them to 1 or more (or full=True)"
        )
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"seed must be an int or None, got {seed!r}")
    return _Options(bool(full), max_entries, directions, entries)


def random_weights(rng: np.random.Generator, shape: tuple[int, ...]) -> NDArray[np.float64]:
    """A random direction's weight for each entry: a random sign times a magnitude drawn
    uniformly from [0.5, 1.5]. With equal magnitudes (±1) a direction is blind to two
    entries swapped whenever it moves both the same way, half of all swaps; with unequal
    ones the swap changes the directional derivative by (gⱼ − gᵢ)·(dᵢ − dⱼ), which is not
    zero. No entry moves less than half or more than 1.5 times its scale."""
    signs = rng.choice(np.array([-1.0, 1.0]), size=shape)
    weights: NDArray[np.float64] = signs * rng.uniform(0.5, 1.5, size=shape)
    return weights


class _Checker:
    def __init__(
        self,
        evaluator: Evaluator,
        f0: float,
        sigma: float,
        rel_step: float,
        rng: np.random.Generator,
        options: _Options,
        global_scale: float,
        eps: float,
    ) -> None:
        self.prober = Prober(evaluator, f0, sigma, rel_step, eps)
        self.factor_fits: dict[str, FactorFit] = {}
        self.notes: list[str] = []
        self.evaluator = evaluator
        self.sigma = sigma
        self.rng = rng
        self.options = options
        self.global_scale = global_scale
        #: Parameters whose largest entry a joint probe passed for, and how many of each
        #: parameter's directions joint probes passed for (see :meth:`screen_jointly`).
        self.entry_vouched: set[int] = set()
        self.direction_vouched: dict[int, int] = {}
        #: The joint probes that stood in for probes of each parameter, for its report.
        self.joint_probes: dict[int, list[Probe]] = {}
        self.together: dict[int, tuple[str, ...]] = {}

    # ------------------------------------------------------ all parameters at once

    def screen_jointly(self, grads: Sequence[NDArray[Any] | None]) -> None:
        """Probe the large parameters together, once through their largest entries and
        along as many random directions as each would get alone, each part weighted to an
        equal share (see ``gradcheck._joint``). A joint probe that passes cleanly enough
        (:func:`~gradcheck._joint.vouches`) stands in for the largest-entry probe, or one
        direction, of each parameter in it;
        the first joint direction that does not stops the joint directions, and each
        parameter makes up the rest with its own."""
        if self.options.full:
            return
        # Pieces of one dtype only (a joint step must mean the same in every piece): the
        # largest group of large parameters with usable gradients.
        groups: dict[np.dtype[Any], dict[int, NDArray[np.float64]]] = {}
        epsilons: dict[int, float] = {}  # each gradient's own precision
        for index, (array, grad) in enumerate(zip(self.evaluator.snapshots, grads, strict=True)):
            if (
                array.size > self.options.max_entries
                and grad is not None
                and grad.shape == array.shape
                and np.all(np.isfinite(grad))
                and np.any(grad)
            ):
                groups.setdefault(array.dtype, {})[index] = grad.astype(np.float64)
                epsilons[index] = gradient_eps(grad)
        joined = max(groups.values(), key=len, default={})
        if len(joined) < 2:
            return
        grad_eps = max(epsilons[i] for i in joined)
        if self.options.entries:
            largest = [Piece(i, np.array([int(np.argmax(np.abs(g)))])) for i, g in joined.items()]
            found = self._joint_probe(
                Pieces(self.evaluator, largest), joined, grad_eps, random=False
            )
            if found:
                self.entry_vouched = set(joined)
                self._vouched(joined, found)
        whole = Pieces(
            self.evaluator,
            [Piece(i, np.arange(self.evaluator.snapshots[i].size)) for i in joined],
        )
        for passed in range(self.options.directions):
            found = self._joint_probe(whole, joined, grad_eps, random=True)
            if not found:
                break
            self.direction_vouched = dict.fromkeys(joined, passed + 1)
            self._vouched(joined, found)

    def _vouched(self, joined: Mapping[int, Any], found: list[Probe]) -> None:
        for index in joined:
            self.joint_probes.setdefault(index, []).extend(found)
            self.together[index] = tuple(self.evaluator.name(j) for j in joined if j != index)

    def _joint_probe(
        self,
        pieces: Pieces,
        grads64: Mapping[int, NDArray[np.float64]],
        grad_eps: float,
        *,
        random: bool,
    ) -> list[Probe]:
        """The probes of one joint line if they vouch for every piece, else ``[]``."""
        snapshots = self.evaluator.snapshots
        scales = pieces.join(
            {
                p.index: entry_scales(
                    snapshots[p.index], param_scale(snapshots[p.index], self.global_scale)
                )
                for p in pieces.pieces
            }
        )
        grad = pieces.join(grads64)
        # Along a random direction; else each entry up its gradient's slope, so that every
        # piece adds to the derivative and a mistake common to all (a missing 1/N, a flipped
        # sign) adds up instead of cancelling between pieces of opposite slope.
        scales *= random_weights(self.rng, scales.shape) if random else np.sign(grad)
        direction = equal_shares(pieces, grad, scales)
        if direction is None:
            return []
        prober = Prober(pieces, self.prober.f0, self.sigma, self.prober.rel_step, self.prober.eps)
        # Noise alone would keep this probe from vouching (a float32 loss): save its calls.
        magnitude = float(np.sum(np.abs(grad * direction)))
        noise = central_noise_tolerance(self.sigma, prober.first_step(magnitude))
        if noise * len(pieces.pieces) > JOINT_RESOLUTION * magnitude:
            return []
        self.evaluator.context = f"while checking {pieces.names} together"
        try:
            found = prober.probe(0, {"given": grad}, grad_eps, None, direction, 1.0)
        except NonFiniteLossError:
            return []  # each parameter's own probes will find and report it
        return found if vouches(found, len(pieces.pieces)) else []

    # ------------------------------------------------------------ one parameter

    def plan(
        self, index: int, array: NDArray[Any], grad: NDArray[np.float64] | None, scale: float
    ) -> list[tuple[tuple[int, ...] | None, NDArray[np.float64] | None, float]]:
        """The first probes of one parameter: every entry if small, else random
        directions (:func:`random_weights`) and the entry with the largest gradient,
        less what a joint probe already vouched for (:meth:`screen_jointly`).

        A direction tests every entry at once; the largest entry is where a slip that
        scales the gradient is measured most precisely (a direction through many ReLU
        units crosses many kinks, which widen its range). Random entries, which only say
        *where*, wait until something fails: see :meth:`localise`.
        """
        scales = entry_scales(array, scale)
        if self.options.full or array.size <= self.options.max_entries:
            return [(idx, None, float(scales[idx])) for idx in np.ndindex(array.shape)]
        plans: list[tuple[tuple[int, ...] | None, NDArray[np.float64] | None, float]] = []
        for _ in range(self.options.directions - self.direction_vouched.get(index, 0)):
            plans.append((None, random_weights(self.rng, array.shape) * scales, 1.0))
        if (
            self.options.entries
            and grad is not None
            and np.any(grad)
            and index not in self.entry_vouched
        ):
            flat = int(np.argmax(np.abs(grad)))
            largest = tuple(int(i) for i in np.unravel_index(flat, array.shape))
            plans.append((largest, None, float(scales[largest])))
        return plans

    def localise(
        self, array: NDArray[Any], probed: set[tuple[int, ...]], scale: float
    ) -> list[tuple[tuple[int, ...] | None, NDArray[np.float64] | None, float]]:
        """Random entries to probe after a failure, so that the report can say where:
        as many as make ``entries`` entries in all."""
        chosen = self.random_entries(array, self.options.entries - len(probed), probed)
        return [(idx, None, max(abs(float(array[idx])), scale)) for idx in chosen]

    def random_entries(
        self, array: NDArray[Any], count: int, exclude: set[tuple[int, ...]]
    ) -> list[tuple[int, ...]]:
        """Up to ``count`` distinct random entries of ``array`` not in ``exclude``."""
        free = array.size - len(exclude)
        chosen: list[tuple[int, ...]] = []
        while len(chosen) < min(count, free):
            flat = int(self.rng.integers(array.size))
            entry = tuple(int(i) for i in np.unravel_index(flat, array.shape))
            if entry not in exclude and entry not in chosen:
                chosen.append(entry)
        return chosen

    def check_parameter(
        self, index: int, name: str, grad: NDArray[Any] | None, grad_problem: str | None
    ) -> ParameterResult:
        array = self.evaluator.snapshots[index]
        shape = tuple(array.shape)
        label = grad_label(name)

        def fail(kind: str, message: str, grad_shape: tuple[int, ...] | None) -> ParameterResult:
            return ParameterResult(
                name=name,
                shape=shape,
                grad_shape=grad_shape,
                passed=False,
                diagnosis=Diagnosis(kind, None, message),  # type: ignore[arg-type]
            )

        if grad is None:
            return fail(
                "missing",
                grad_problem or f"no gradient for {name}: return one entry per parameter",
                None,
            )
        grad_shape = tuple(grad.shape)
        grad64 = grad.astype(np.float64)
        if not np.all(np.isfinite(grad64)):
            bad = np.argwhere(~np.isfinite(grad64))
            first = tuple(int(i) for i in bad[0])
            return fail(
                "nonfinite",
                f"{label} has {len(bad)} non-finite entries (nan or inf), the first at "
                f"{first}: look for an overflow (exp of a large score: subtract the max) or a "
                "log/division of 0",
                grad_shape,
            )

        candidates: dict[str, NDArray[np.float64]] = {}
        slip = classify_shape_slip(shape, grad_shape)
        if slip is None:
            candidates["given"] = grad64
            if grad64.ndim == 2 and grad64.shape[0] == grad64.shape[1] and grad64.shape[0] > 1:
                candidates["transposed"] = np.ascontiguousarray(grad64.T)
        elif slip == "transposed":
            candidates["transposed"] = np.ascontiguousarray(grad64.T)
        elif grad64.size == array.size:
            candidates["reshaped"] = grad64.reshape(shape)
        elif slip == "batch":
            summed = _sum_batch_axis(grad64, shape)
            if summed is not None:
                candidates["summed"] = summed

        probes: list[Probe] = []
        scale = param_scale(array, self.global_scale)
        if candidates and array.size:
            eps = gradient_eps(grad)
            primary_grad = next(iter(candidates.values()))
            plans = self.plan(index, array, primary_grad, scale)
            try:
                for entry, direction, entry_scale in plans:
                    probes.extend(
                        self.prober.probe(index, candidates, eps, entry, direction, entry_scale)
                    )
                # A failing direction says that something is wrong, not where: entries.
                primary = next(iter(candidates))
                if any(not (p.inconclusive or p.verdicts[primary].passed) for p in probes):
                    probed = {p.index for p in probes if p.index is not None}
                    for entry, direction, entry_scale in self.localise(array, probed, scale):
                        probes.extend(
                            self.prober.probe(index, candidates, eps, entry, direction, entry_scale)
                        )
                probed = {p.index for p in probes if p.index is not None}
                # A direction that could not decide (kinks closer than noise lets the step
                # go) is replaced by entries: one entry moves one unit's kinks only.
                missing = EXTRA_ENTRIES * sum(p.inconclusive for p in probes)
                for entry in self.random_entries(array, missing, probed):
                    entry_scale = max(abs(float(array[entry])), scale)
                    probes.extend(
                        self.prober.probe(index, candidates, eps, entry, None, entry_scale)
                    )
            except NonFiniteLossError as exc:
                return fail(
                    "nonfinite",
                    f"{exc}: the loss overflows or hits a log/division of 0 near "
                    f"{name}; make it numerically stable (e.g. log-sum-exp for softmax)",
                    grad_shape,
                )

        if index in self.evaluator.mutated:
            return fail(
                "mutated",
                f"the loss (or gradient function) wrote into {name} while it was being "
                "checked: it must not modify its inputs in place (copy before +=, -=, "
                "or masked assignment)",
                grad_shape,
            )
        return self._result(
            name,
            shape,
            grad_shape,
            slip,
            probes,
            candidates,
            grad64,
            label,
            self.joint_probes.get(index, []),
            self.together.get(index, ()),
        )

    def _result(
        self,
        name: str,
        shape: tuple[int, ...],
        grad_shape: tuple[int, ...],
        slip: str | None,
        probes: list[Probe],
        candidates: Mapping[str, NDArray[np.float64]],
        grad64: NDArray[np.float64],
        label: str,
        joint: list[Probe],
        together: tuple[str, ...],
    ) -> ParameterResult:
        """The verdict on one parameter from its own probes (``probes``), or from the
        joint probes that stood in for all of them (``joint``, which passed: see
        :meth:`screen_jointly`) when it has none of its own."""
        primary = next(iter(candidates), None)
        own = probes
        probes = own or joint
        if primary is None or not probes:
            diagnosis = (
                Diagnosis("ok", None, "")
                if slip is None
                else Diagnosis("shape", None, describe_shape_slip(name, shape, grad_shape) + ".")
            )
            return ParameterResult(
                name=name,
                shape=shape,
                grad_shape=grad_shape,
                passed=slip is None,
                diagnosis=diagnosis,
            )
        undecided = not conclusive(probes)
        passed = slip is None and (undecided or all_pass(probes, primary))
        # Show the worst probe; for a failure, the worst failing entry if there is one (an
        # index says where, a direction only that something is wrong).
        shown = conclusive(probes) or probes
        failing_entries = [
            p for p in shown if p.index is not None and not p.verdicts[primary].passed
        ]
        worst = max(failing_entries or shown, key=lambda p: p.verdicts[primary].ratio)
        v = worst.verdicts[primary]
        if passed and undecided:
            self.notes.append(
                f"{name}: no verdict: every probe crossed kinks closer together than the "
                "loss's rounding lets a finite difference resolve (inputs within a hair of a "
                "ReLU's kink?); its gradient was neither confirmed nor refuted"
            )
        if passed:
            diagnosis = Diagnosis(
                "ok",
                None,
                f"{label} agrees with the finite differences"
                + (f", probed together with {', '.join(together)}" if together else ""),
            )
        elif slip is None:
            diagnosis = diagnose_values(name, probes, grad_is_zero=not np.any(grad64))
            fitted = fit_factor(probes) if diagnosis.kind == "scaled" else None
            if fitted is not None:
                self.factor_fits[name] = fitted
        elif slip == "transposed" and all_pass(probes, "transposed"):
            diagnosis = Diagnosis(
                "transposed",
                None,
                describe_shape_slip(name, shape, grad_shape)
                + f"; {label}.T matches the finite differences.",
            )
        else:
            verdict_words = {
                True: f"after that fix the values are right ({primary} {label} matches the "
                "finite differences)",
                False: "and the values are wrong too, even after fixing the shape",
            }
            diagnosis = Diagnosis(
                "shape",
                None,
                describe_shape_slip(name, shape, grad_shape)
                + "; "
                + verdict_words[all_pass(probes, primary)]
                + ".",
            )
        uncertainty = max((p.uncertainty for p in conclusive(probes)), default=0.0)
        if passed and uncertainty > 1:
            self.notes.append(
                f"{name}: not checked: its gradient (at most {np.abs(grad64).max():.1e}) is "
                f"below what the loss's rounding noise ({self.sigma:.1e}) lets any finite "
                "difference see, so even a zero gradient would pass (a float32 loss dominated "
                "by other terms, or saturated outputs?): check again in float64 "
                "(.astype(np.float64) on parameters and data), away from saturation."
            )
        elif passed and uncertainty > PRECISION:
            self.notes.append(
                f"{name}: checked only to ±{uncertainty:.0%} of its gradient: the loss's "
                f"rounding noise ({self.sigma:.1e}) nearly hides how it changes with {name} "
                "(a float32 loss dominated by other terms?). A mistake smaller than that "
                "would not show: check again in float64 (.astype(np.float64) on parameters "
                "and data)."
            )
        per_entry = worst.scale
        method: Literal["entries", "directions", "joint"] = (
            "joint"
            if not own
            else "entries"
            if not joint and all(p.index is not None for p in own)
            else "directions"
        )
        return ParameterResult(
            name=name,
            shape=shape,
            grad_shape=grad_shape,
            passed=passed,
            diagnosis=diagnosis,
            method=method,
            probes=len(own) + len(joint),
            kinks=sum(p.verdicts[primary].kink for p in [*own, *joint]),
            inconclusive=sum(p.inconclusive for p in own),
            together=together,
            worst_index=worst.index,
            analytic=v.analytic / per_entry,
            numeric=v.numeric / per_entry,
            error=v.error / per_entry,
            tolerance=v.tolerance / per_entry,
        )


def _sum_batch_axis(
    grad: NDArray[np.float64], shape: tuple[int, ...]
) -> NDArray[np.float64] | None:
    """Sum the batch axis the user forgot to sum, if that gives the parameter's shape."""
    for axis in range(grad.ndim):
        summed: NDArray[np.float64] = grad.sum(axis=axis, keepdims=True)
        if summed.shape == shape:
            return summed
        squeezed: NDArray[np.float64] = grad.sum(axis=axis)
        if squeezed.shape == shape:
            return squeezed
    return None


def _share_factor(
    results: list[ParameterResult], fits: Mapping[str, FactorFit]
) -> list[ParameterResult]:
    """When every gradient is scaled, by one factor that fits all of them, say that factor.

    A common cause (one missing 1/N) is the likelier story, and the precise probes of
    smooth parameters then pin the factor down for the kinked ones too.
    """
    if len(results) < 2 or any(r.name not in fits for r in results):
        return results
    factor = common_factor([fits[r.name] for r in results])
    if factor is None:
        return results
    return [dataclasses.replace(r, diagnosis=scaled(r.name, factor)) for r in results]


def _resolve_grads(
    grads: object,
    tuple_grads: object | None,
    evaluator: Evaluator,
) -> object:
    if grads is None:
        if tuple_grads is None:
            raise TypeError(
                "no gradients to check: pass grads (a mapping like params, or a function of "
                "params returning one), or make the loss return (loss, grads)"
            )
        return tuple_grads
    if callable(grads):
        return evaluator.call_user(grads)
    return grads


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
) -> GradientReport:
    """Check hand-written gradients against finite differences; name what is wrong.

    Args:
        loss: ``loss(params, *args, **kwargs) -> float`` (a Python or NumPy scalar, or a
            0-d array). It may also return ``(loss, grads)`` (cs231n style); then
            ``grads`` may be left out. A loss that reads the parameters itself instead of
            taking them (a zero-argument closure, or a bound method of an object whose
            ``.params`` is ``params``, e.g. ``model.loss`` with ``args=(X, y)``) is called
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
            parameter failed, so that the report can point at an index. ``0`` probes
            directions only.
        seed: seeds the random directions and entries: the same seed gives the same report.
            ``None`` draws a fresh seed (recorded in ``report.seed``).
        inplace: force (``True``) or forbid (``False``) calling the loss in place; ``None``
            decides from the loss's signature as described under ``loss``.

    Returns:
        A :class:`GradientReport`: ``print(report)`` shows the table, ``report.passed`` the
        verdict, ``report["W2"].diagnosis`` what is wrong with one parameter.

    Raises:
        TypeError, ValueError: misuse (integer parameters, a loss that returns a vector,
            no gradients, bad options), with what to do instead.
        Exception: whatever the user's loss or gradient function raises, with a note
            saying where in the check it happened. The user's arrays are restored first.
    """
    __tracebackhide__ = True
    if params is None:
        raise TypeError(
            "check_gradients needs params: check_gradients(loss, grads, params), where params "
            "is a mapping of name -> float array"
        )
    if not callable(loss):
        raise TypeError(f"loss must be callable (params -> float); got {type(loss).__name__}")
    options = _validate_options(full, max_entries, directions, entries, seed)
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))  # type: ignore[operator]
    rng = np.random.default_rng(seed)
    layout, user_arrays = split_params(params, names)
    args = tuple(args)
    use_inplace = (not wants_params(loss, len(args), params)) if inplace is None else inplace
    evaluator = Evaluator(loss, layout, user_arrays, args, kwargs or {}, inplace=use_inplace)
    try:
        report = _check(evaluator, grads, layout, rng, options, seed)
    finally:
        evaluator.restore()
    notify_check(report)
    return report


def _check(
    evaluator: Evaluator,
    grads: object,
    layout: ParamLayout,
    rng: np.random.Generator,
    options: _Options,
    seed: int,
) -> GradientReport:
    evaluator.context = "at the unperturbed parameters"
    f0, loss_dtype, tuple_grads = evaluator()
    evaluator.context = "computing the gradients at the unperturbed parameters"
    grad_structure = _resolve_grads(grads, tuple_grads, evaluator)
    grad_arrays, extra, problems = split_grads(grad_structure, layout)
    # Our own copies: the gradient function's arrays may alias its internals.
    grad_copies = [None if g is None else np.array(g, copy=True) for g in grad_arrays]
    names = layout.names
    notes: list[str] = []
    if extra:
        notes.append(f"gradients with no parameter of that name were ignored: {', '.join(extra)}")
    if not math.isfinite(f0):
        broken = tuple(
            ParameterResult(
                name=n,
                shape=tuple(s.shape),
                grad_shape=None if g is None else tuple(g.shape),
                passed=False,
                diagnosis=Diagnosis(
                    "nonfinite",
                    None,
                    f"the loss itself is {f0} at the given parameters, so nothing can be "
                    "compared: make the loss finite first (log of 0? exp overflow?)",
                ),
            )
            for n, s, g in zip(names, evaluator.snapshots, grad_copies, strict=True)
        )
        return GradientReport(broken, evaluator.calls, float("nan"), seed, tuple(notes))

    # ---- noise: a short line through all parameters at once (ECnoise), centred on x; a
    # noisy line is followed by a second call at x (the loss must be deterministic).
    global_scale = param_scale(
        np.concatenate([s.ravel().astype(np.float64) for s in evaluator.snapshots]), 1.0
    )
    param_eps = max(float(np.finfo(s.dtype).eps) for s in evaluator.snapshots)
    loss_eps = float(np.finfo(loss_dtype).eps)
    evaluator.context = "while estimating its rounding noise (all parameters nudged)"
    sigma = estimate_noise(evaluator, f0, rng, global_scale, param_eps, loss_eps, notes)
    rel_noise = sigma / abs(f0) if f0 != 0 else loss_eps
    rel_noise = min(max(rel_noise, 2.0**-53), 1e-2)
    # Central differences balance truncation (∝ h²) and noise (∝ σ/h) at h ∝ σ^(1/3).
    rel_step = rel_noise ** (1 / 3)

    # The precision the loss is computed in: its own dtype's, or coarser parameters'.
    work_eps = max(loss_eps, param_eps)
    checker = _Checker(evaluator, f0, sigma, rel_step, rng, options, global_scale, work_eps)
    checker.screen_jointly(grad_copies)
    results: list[ParameterResult] = []
    for index, (name, grad) in enumerate(zip(names, grad_copies, strict=True)):
        evaluator.context = f"while checking {name} (the loss at a perturbed {name})"
        results.append(checker.check_parameter(index, name, grad, problems.get(name)))
    results = _share_factor(results, checker.factor_fits)
    notes.extend(checker.notes)
    notes.extend(common_notes(results))
    return GradientReport(tuple(results), evaluator.calls, sigma, seed, tuple(notes))
