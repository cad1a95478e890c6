"""Rendering: the terminal table, and the JSON / Markdown / PNG report for CI artifacts."""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
from collections.abc import Sequence
from pathlib import Path

from alphabench.errors import UsageError
from alphabench import gate
from alphabench.gate import Finding
from alphabench.results import Baseline, BaselineEntry, CurveBand, Fingerprint, format_accuracies, format_epochs
from alphabench.summary import Summary
from alphabench.verdict import Verdict

COLUMNS = ("framing", "accuracy (median)", "per seed", "tutorial", "epochs to 100%", "train s", "steps/s", "verdict")


def rows(summaries: list[Summary], verdicts: dict[str, Verdict]) -> list[tuple[str, ...]]:
    return [
        (
            summary.framing.name,
            f"{summary.median_accuracy:.2%}",
            format_accuracies(summary.accuracies),
            summary.framing.reported_range,
            format_epochs(summary.median_epochs_to_100),
            f"{summary.train_seconds:.1f}",
            f"{summary.steps_per_second:.0f}",
            verdicts[summary.framing.name].status,
        )
        for summary in summaries
    ]


def text_table(table: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(row[i])) for row in [COLUMNS, *table]) for i in range(len(COLUMNS))]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [COLUMNS, *table]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def markdown_table(table: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row) + " |" for row in table]
    return "\n".join(lines)


def header(environment: Fingerprint, path: str, baseline_file: os.PathLike) -> str:
    """What `alphabench run` ran on, the baselines file it compares with, and the false-alarm budget
    the rank tests share there."""
    return (f"alphabench on {environment.environment} (Keras {environment.keras_version}, {environment.backend} "
            f"{environment.backend_version}), {path} path\nbaselines: {baseline_file}\n"
            f"false-alarm budget: {gate.FALSE_ALARM_BUDGET:.0%} a run for the rank tests across environments "
            f"({gate.BUDGET_PER_FRAMING:.3%} a framing)")


def notes(verdicts: Sequence[Verdict], findings: Sequence[Finding]) -> list[str]:
    """What follows the table: every failure; the findings that are not failures, the environment's
    note (the same for every framing judged against one baseline) once; then what each verdict
    explains (Verdict.explanations): an unexpected pass, prominently; where a deviation's
    measurements do not reach this release; each known deviation that made a failure expected."""
    shown, environment_notes = [line for v in verdicts for line in v.lines()], {}
    for finding in findings:
        if finding.metric == "environment":
            environment_notes.setdefault(finding.rule, []).append(finding.framing)
        elif finding.kind != "regression":  # regressions are failures, shown above
            shown.append(finding.line())
    shown += [f"NOTE environment ({', '.join(framings)}): cross-environment rules; {rule}"
              for rule, framings in environment_notes.items()]
    return shown + [line for v in verdicts for line in v.explanations()]


def baseline_markdown(document: Baseline) -> str:
    """`alphabench baseline show`: where a baseline was made, and its per-seed table."""
    e = document.environment
    lines = [f"# {e.environment}: Keras {e.keras_version}, {e.backend} {e.backend_version}, Python {e.python}, "
             f"{e.cpu}{', ' + e.cpu_signature if e.cpu_signature else ''}", "",
             "| framing | path | seed | accuracy | epochs to 100% | probes |", "|---|---|---|---|---|---|"]
    for name, entry in document.framings.items():
        for seed, accuracy, epochs, probes in zip(entry.seeds, entry.accuracy, entry.epochs_to_100, entry.probes):
            shown = ", ".join(f"{probe}={value}" for probe, value in probes.items())
            lines.append(f"| {name} | {entry.path} | {seed} | {accuracy:.2%} | {format_epochs(epochs)} | {shown} |")
    return "\n".join(lines) + "\n"


def check_destination(directory: str) -> None:
    """Refuse, before any training, a report directory that cannot be made or written."""
    out = Path(directory)
    existing = next((p for p in (out, *out.parents) if p.exists()), None)
    if existing is not None and not existing.is_dir():
        raise UsageError(f"--report {directory}: {existing} is a file, not a directory; name a directory")
    if existing is not None and not os.access(existing, os.W_OK | os.X_OK):
        raise UsageError(f"--report {directory}: {existing} is not writable; name a directory you can write")


def write(directory: str, environment: Fingerprint, summaries: list[Summary], findings: list[Finding],
          verdicts: list[Verdict], table, baseline: Baseline | None) -> list[Path]:
    """report.json, report.md and one learning-curve PNG per framing (now against the baseline)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    failures = [line for v in verdicts for line in v.lines()]
    document = {
        "environment": environment.as_dict(),
        "results": {s.framing.name: [r.as_dict() for r in s.results] for s in summaries},
        "verdicts": {v.subject: v.status for v in verdicts},
        "failures": failures,
        "findings": [dataclasses.asdict(f) for f in findings],
    }
    written = [out / "report.json", out / "report.md"]
    written[0].write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    entries = baseline.framings if baseline else {}
    plots = [_plot(out, s, entries.get(s.framing.name)) for s in summaries]
    changes = [f.line() for f in findings if f.kind == "change"]
    markdown = [
        f"# alphabench: {environment.environment} (Keras {environment.keras_version}, "
        f"{environment.backend} {environment.backend_version})",
        "",
        markdown_table(table),
        "",
        "## Failures and changes",
        "",
        *(f"- {line}" for line in failures + changes),
        *(["- none"] if not failures + changes else []),
        "",
        "## Notes",
        "",
        *(f"- {f.line()}" for f in findings if f.kind == "note"),
        "",
        "## Learning curves (median over seeds, shaded: the middle half of the seeds and all of them; "
        "dashed: baseline)",
        "",
        *(f"![{p.stem}]({p.name})" for p in plots),
    ]
    written[1].write_text("\n".join(markdown) + "\n")
    return written + plots


@dataclasses.dataclass(frozen=True)
class Curve:
    """One side's learning curve in a plot: the seeds' median by epoch and their spread (None: unknown)."""

    label: str
    epochs: tuple[float, ...]
    median: tuple[float, ...]
    band: CurveBand | None
    seeds: int


def learning_curves(summary: Summary, entry: BaselineEntry | None) -> dict[str, list[Curve]]:
    """{"loss": [now, baseline], "accuracy": [...]}: what a learning-curve PNG draws (no baseline entry,
    or one without curves: now alone)."""
    curves = {}
    for key in ("loss", "accuracy"):
        histories = [getattr(result, f"{key}_history") for result in summary.results]
        epochs = tuple(float(epoch) for epoch in range(1, len(histories[0]) + 1))
        sides = [Curve("now", epochs, tuple(statistics.median(values) for values in zip(*histories)),
                       CurveBand.of(histories), len(histories))]
        stored = getattr(entry, f"{key}_curve") if entry else ()
        if stored:
            # Stored at most CURVE_POINTS evenly spaced epochs of the baseline's own training.
            last = entry.settings.epochs
            spaced = tuple(1 + i * (last - 1) / max(len(stored) - 1, 1) for i in range(len(stored)))
            sides.append(Curve("baseline", spaced, tuple(stored), getattr(entry, f"{key}_band"), len(entry.seeds)))
        curves[key] = sides
    return curves


def _figure(summary: Summary, entry: BaselineEntry | None):
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a CI machine
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for axis, (key, sides) in zip(axes, learning_curves(summary, entry).items()):
        for side, (colour, style) in zip(sides, (("tab:blue", "-"), ("tab:orange", "--"))):
            axis.plot(side.epochs, side.median, style, color=colour, label=f"{side.label}: median of {side.seeds} seeds")
            if side.band and side.seeds > 1:
                axis.fill_between(side.epochs, side.band.lower_quartile, side.band.upper_quartile, color=colour,
                                  alpha=0.35, linewidth=0, label=f"{side.label}: middle half of the seeds")
                axis.fill_between(side.epochs, side.band.low, side.band.high, color=colour, alpha=0.12,
                                  linewidth=0, label=f"{side.label}: every seed (min to max)")
            elif side.label == "baseline" and not side.band:
                axis.plot([], [], " ", label="baseline: seed spread not stored (made before schema 3)")
        axis.set_xlabel("epoch")
        axis.set_title(f"{summary.framing.name}: training {key}")
        axis.legend(fontsize=6)
    figure.tight_layout()
    return figure


def _plot(out: Path, summary: Summary, framing_baseline: BaselineEntry | None) -> Path:
    import matplotlib.pyplot as plt

    figure = _figure(summary, framing_baseline)
    path = out / f"{summary.framing.name}.png"
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path
