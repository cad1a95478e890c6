"""docs/framings.md, rendered from the frozen framing definitions (`alphabench list --markdown`).

The README points here rather than to a hand-written description, which could drift from what the
suite actually trains; tests/unit/test_docs.py fails when the file is not the rendering.
"""

from __future__ import annotations

from alphabench.data import pairs_for, sample_count
from alphabench.framings import FRAMINGS, Framing
from alphabench.results import describe_seeds

HEADER = """\
# The framings

<!-- Rendered by `alphabench list --markdown > docs/framings.md` from alphabench/framings.py: edit those. -->

The tutorial's problem: learn the order of the 26 letters A-Z, given a letter or a run of letters,
predict the next. Every framing trains one LSTM layer and Dense(26, softmax) with categorical
cross-entropy and Adam's defaults on inputs scaled to letter/26, shaped [samples, time steps,
features], and is judged on its training set, as the tutorial reports it.
"""


def _input_shape(framing: Framing) -> str:
    steps, features = (framing.context, 1) if framing.layout == "timesteps" else (1, framing.context)
    batch = 1 if framing.stateful else sample_count(framing)
    return f"({batch}, {steps}, {features})"


def _rule(framing: Framing) -> str:
    expectation = framing.expectation
    parts = []
    if expectation.median_at_least is not None:
        parts.append("= 100%" if expectation.median_at_least == 1 else f">= {expectation.median_at_least:.0%}")
    if expectation.median_below is not None:
        parts.append(f"< {expectation.median_below:.0%}")
    return ", ".join(parts) or "none"


def _example_pairs(framing: Framing) -> str:
    pairs = pairs_for(framing)
    shown = ", ".join(f"{pattern}->{target}" for pattern, target in pairs[:2])
    return f"{shown}, ... ({sample_count(framing)})"


def markdown() -> str:
    rows = [
        "| framing | pairs | input | units | epochs | batch | shuffled | stateful | seeds | tutorial reported | rule (median) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for f in FRAMINGS.values():
        rows.append(
            f"| {f.name} | {_example_pairs(f)} | {_input_shape(f)}, letters as {f.layout} | {f.units} | {f.epochs} "
            f"| {f.batch_size or 'all'} | {f.shuffle} | {f.stateful} | {describe_seeds(f.seeds)} | {f.reported_range} "
            f"| {_rule(f)} |"
        )
    details = [f"- **{f.name}**: {f.summary}. Probes: {', '.join(f.probes) or 'none'}."
               + (f" Rule: {f.expectation.why}." if f.expectation.why else "") for f in FRAMINGS.values()]
    return "\n".join([HEADER, *rows, "", *details]) + "\n"


def listing() -> str:
    """`alphabench list`: a table of every framing's settings, then each one's summary."""
    header = ("framing", "units", "epochs", "batch", "shuffle", "stateful", "input", "seeds", "tutorial")
    rows = [header] + [
        (
            f.name, str(f.units), str(f.epochs), str(f.batch_size or "all"), str(f.shuffle),
            str(f.stateful), f"{f.context} {f.layout}", describe_seeds(f.seeds), f.reported_range,
        )
        for f in FRAMINGS.values()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    return "\n".join(lines + [""] + [f"{f.name}: {f.summary}" for f in FRAMINGS.values()]) + "\n"
