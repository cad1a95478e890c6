"""Rendering: the terminal table, and the JSON / Markdown / PNG report for CI artifacts."""

from __future__ import annotations

import json
from pathlib import Path

from alphabench.gate import Finding
from alphabench.verdict import Summary, format_accuracies

COLUMNS = ("framing", "accuracy (median)", "per seed", "tutorial", "epochs to 100%", "train s", "steps/s", "verdict")


def verdict_of(summary: Summary, findings: list[Finding], expected_failure: str | None, judged: bool) -> str:
    if not judged:
        return "not judged"
    failed = bool(summary.problems()) or any(f.kind == "regression" for f in findings)
    if expected_failure:
        return "expected failure" if failed else "UNEXPECTED PASS"
    return "FAIL" if failed else "ok"


def rows(summaries: list[Summary], findings_by_framing, expected_failures, judged=True) -> list[tuple[str, ...]]:
    table = []
    for summary in summaries:
        name = summary.framing.name
        epochs = summary.median_epochs_to_100
        table.append(
            (
                name,
                f"{summary.median_accuracy:.2%}",
                format_accuracies(summary.accuracies),
                summary.framing.reported_range,
                "never" if epochs is None else f"{epochs:g}",
                f"{summary.train_seconds:.1f}",
                f"{summary.steps_per_second:.0f}",
                verdict_of(summary, findings_by_framing.get(name, []), expected_failures.get(name), judged),
            )
        )
    return table


def text_table(table: list[tuple[str, ...]]) -> str:
    widths = [max(len(str(row[i])) for row in [COLUMNS, *table]) for i in range(len(COLUMNS))]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip() for row in [COLUMNS, *table]]
    lines.insert(1, "  ".join("-" * width for width in widths))
    return "\n".join(lines)


def markdown_table(table: list[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    lines += ["| " + " | ".join(row) + " |" for row in table]
    return "\n".join(lines)


def write(directory: str, environment: dict, summaries, findings, problems, table, baseline_doc) -> list[Path]:
    """report.json, report.md and one learning-curve PNG per framing (now against the baseline)."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    document = {
        "environment": environment,
        "results": {s.framing.name: list(s.results) for s in summaries},
        "problems": problems,
        "findings": [f.__dict__ for f in findings],
    }
    written = [out / "report.json", out / "report.md"]
    written[0].write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    plots = [_plot(out, s, (baseline_doc or {}).get("framings", {}).get(s.framing.name)) for s in summaries]
    markdown = [
        f"# alphabench: {environment['environment']} (Keras {environment['keras_version']}, "
        f"{environment['backend']} {environment['backend_version']})",
        "",
        markdown_table(table),
        "",
        "## Problems and regressions",
        "",
        *(f"- {line}" for line in problems + [f.line() for f in findings if f.kind != "note"]),
        *(["- none"] if not problems and not any(f.kind != "note" for f in findings) else []),
        "",
        "## Notes",
        "",
        *(f"- {f.line()}" for f in findings if f.kind == "note"),
        "",
        "## Learning curves (median over seeds; dashed: baseline)",
        "",
        *(f"![{p.stem}]({p.name})" for p in plots),
    ]
    written[1].write_text("\n".join(markdown) + "\n")
    return written + plots


def _plot(out: Path, summary: Summary, framing_baseline: dict | None) -> Path:
    import matplotlib

    matplotlib.use("Agg")  # files only: no display on a CI machine
    import matplotlib.pyplot as plt
    import numpy as np

    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(9, 3.2))
    for key, axis in (("loss", loss_axis), ("accuracy", accuracy_axis)):
        curves = np.array([r["history"][key] for r in summary.results])
        axis.plot(np.arange(1, curves.shape[1] + 1), np.median(curves, axis=0), label="now")
        if framing_baseline and framing_baseline.get(f"{key}_curve"):
            baseline_curve = framing_baseline[f"{key}_curve"]
            epochs = np.linspace(1, curves.shape[1], len(baseline_curve))
            axis.plot(epochs, baseline_curve, "--", label="baseline")
        axis.set_xlabel("epoch")
        axis.set_title(f"{summary.framing.name}: training {key}")
        axis.legend()
    figure.tight_layout()
    path = out / f"{summary.framing.name}.png"
    figure.savefig(path, dpi=80)
    plt.close(figure)
    return path
