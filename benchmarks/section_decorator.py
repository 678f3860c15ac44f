"""Section 3 of docs/benchmarks.md: what ``@checked_backward`` adds to a call."""

from __future__ import annotations

from _common import fmt_seconds

# isort: split
from decorator_output import DecoratorResults


def signed_pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.3g}%"


def signed_us(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.2f} µs"


def decorator_section(deco: DecoratorResults) -> str:
    forum = deco.sections.get("forum-scale net")
    tiny = deco.sections.get("tiny net")
    words = []
    for section in (tiny, forum):
        if section is None or section.alone_pct is None:
            continue
        words.append(
            f"- {section.label}: the wrapper alone adds {signed_us(section.alone_us)} per call "
            f"({signed_pct(section.alone_pct)} of the plain backward's "
            f"{(section.plain_min_us or 0):,.1f} µs); end to end, decorated vs plain "
            f"{signed_us(section.decorated_us)} ({signed_pct(section.decorated_pct)}), "
            f"jaxtyped+beartype vs plain {signed_us(section.jaxtyped_us)} "
            f"({signed_pct(section.jaxtyped_pct)})."
        )
    parts = [
        "## 3. The decorator's overhead",
        "",
        "`benchmarks/bench_decorator.py` (a colleague's benchmark, run unchanged in its "
        f"own process as `{deco.command}`, {fmt_seconds(deco.seconds)}) times the forum's "
        "inline backward plain, decorated with `@checked_backward(loss)` after its first "
        "(checked) call, decorated with jaxtyping annotations, under `GRADCHECK=never`, and "
        "wrapped by `jaxtyping.jaxtyped(typechecker=beartype)` on the same annotated "
        "function; and the wrapper alone around a function that returns ready-made "
        "gradients, which isolates the per-call cost from the backward's own noise. Its "
        "output:",
        "",
        "```text",
        deco.output,
        "```",
        "",
        "In short:",
        "",
        *words,
        "",
        "The end-to-end differences are differences of two minimum times of a call that "
        "varies by more than they do from repeat to repeat (compare min and median); the "
        "wrapper-alone figure measures the same added work without that noise, and is the "
        "one the target is judged on.",
    ]
    return "\n".join(parts)
