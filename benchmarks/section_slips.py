"""Section 2b of docs/benchmarks.md: what the default check gives up on small slips."""

from __future__ import annotations

from _common import fmt_seconds

# isort: split
import bench_slips

#: Why a random direction can miss a slip that an entry-by-entry check sees.
_WHY_MISSED = {
    "swapped": "swapping entries i and j changes a direction's sum Σ gₖdₖ by "
    "(gⱼ − gᵢ)(dᵢ − dⱼ), which is small when the direction's weights dᵢ and dⱼ happen to be "
    "close (same sign, magnitudes within a few per cent), so the change can stay inside the "
    "tolerance. With ±1 directions it was exactly 0 for half of all swaps. A transposed "
    "or shifted gradient, the way permutations arise in backprop code, moves many entries "
    "and is caught (rows above).",
}
_WHY_MISSED_ANY = (
    "a random direction sums every entry's error with a random weight, so an error confined to "
    "entries whose gradient is small next to the parameter's others can stay inside the "
    "direction's tolerance, which the whole sum sets; an entry-by-entry check judges each "
    "entry against its own size."
)


def slip_label(key: str) -> str:
    return next(s.label for s in bench_slips.SLIPS if s.key == key)


def slips_section(slips: bench_slips.SlipResults) -> str:
    small, forum = slips.small_hidden, slips.forum_hidden
    missed = slips.missed_by_default()
    kinds = sorted({c.kind for c in slips.cases if c.caught})
    parts = [
        "## 2b. Small slips: what the default check gives up",
        "",
        "The bugs above are gross. The default check probes the large parameters' largest "
        "entries and two random directions of each (one of them shared with the other "
        "large parameters, see [How gradcheck decides](how-it-decides.md#directions-or-entries)) "
        "instead of every entry; to see what that "
        "gives up, each of W1, b1 and W2 of the forum net gets one small slip at a time "
        f"(drawn with `np.random.default_rng(100 + seed)`, seeds 0–{slips.seeds - 1}), and "
        f"goes to the default check (`seed=seed`) at h = {small} and h = {forum:,}, and to "
        f"`full=True` (every entry) at h = {small} (at h = {forum:,} it takes about half a "
        "minute per check). A case is caught when the slipped parameter fails. Written in "
        f"`benchmarks/bench_slips.py`; {fmt_seconds(slips.seconds)} in all.",
        "",
        bench_slips.slip_table(slips),
        "",
        bench_slips.calls_line(slips) + ".",
        "",
        "Diagnoses given to the caught cases: " + ", ".join(f"`{k}`" for k in kinds) + ".",
        "",
    ]
    if missed:
        parts.append(
            "Cases the full check caught and the default check missed: "
            + "; ".join(f"{c.name}, {slip_label(c.slip)}, seed {c.seed}" for c in missed)
            + "."
        )
        for key in sorted({c.slip for c in missed}):
            parts.append("")
            parts.append(f"- {slip_label(key)}: {_WHY_MISSED.get(key, _WHY_MISSED_ANY)}")
    else:
        parts.append(
            f"The default check caught every case that the full check caught, at h = {small}."
        )
    return "\n".join(parts)
