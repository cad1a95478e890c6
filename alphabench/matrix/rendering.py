"""matrix.md (a row per cell, every non-pass cell explained), matrix.png (framing x cell) and
matrix-throughput.png (each release's A/B throughput against the previous one, per line)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from alphabench import verdict
from alphabench.matrix.cells import BACKENDS, Cell, neighbours, ordered
from alphabench.matrix.files import CellResult, ThroughputAB
from alphabench.matrix.judging import is_error, judge_all, lines

# How a verdict is shown: the word in the table, the word in a finding, its colour in the picture.
# An error (nothing measured) and a regression are both verdict.FAIL; judging.is_error tells them apart.
PASS, EXPECTED, UNEXPECTED_PASS, REGRESSION, ERROR = "pass", "expected deviation", "unexpected pass", "regression", "error"
LEGEND = (PASS, EXPECTED, UNEXPECTED_PASS, REGRESSION, ERROR)
SYMBOLS = {PASS: "ok", EXPECTED: "expected", UNEXPECTED_PASS: "UNEXPECTED PASS", REGRESSION: "REGRESSION",
           ERROR: "ERROR"}
COLOURS = {PASS: "#4caf50", EXPECTED: "#9e9e9e", UNEXPECTED_PASS: "#2196f3", REGRESSION: "#e53935", ERROR: "#ff9800"}
# Written in each cell of the picture, so it reads without the colours (in grey print, to colour-blind eyes).
CELL_WORDS = {PASS: "ok", EXPECTED: "expected", UNEXPECTED_PASS: "unexpected\npass", REGRESSION: "REGRESSION",
              ERROR: "ERROR"}
NOT_RUN = "not run"


def shown_as(judged: verdict.Verdict) -> str:
    """One of LEGEND."""
    if judged.status == verdict.FAIL:
        return ERROR if is_error(judged) else REGRESSION
    return {verdict.OK: PASS, verdict.EXPECTED_FAILURE: EXPECTED, verdict.UNEXPECTED_PASS: UNEXPECTED_PASS}[judged.status]


Judged = Mapping[Cell, Mapping[str, verdict.Verdict]]


def _subjects(judged: Judged) -> list[str]:
    return list(dict.fromkeys(subject for verdicts in judged.values() for subject in verdicts))


def markdown(judged: Judged, results: Mapping[Cell, CellResult], ab: Mapping[tuple[Cell, Cell], ThroughputAB]) -> str:
    """One row per cell, one column per framing and contract, then every non-pass cell's lines."""
    subjects = _subjects(judged)
    paired = neighbours(judged)
    header = ["cell", *subjects, "throughput vs previous [90% interval]", "minutes", "machine"]
    rows = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    findings = []
    for cell, verdicts in judged.items():
        comparison = ab.get((paired[cell], cell)) if paired[cell] else None
        if comparison is None:
            throughput = "-" if paired[cell] is None else "not measured"
        else:
            low, high = comparison.comparison.interval()
            shown = _throughput_shown(comparison)
            word = {REGRESSION: "**SLOWER** ", EXPECTED: "slower, expected: "}.get(shown, "")
            throughput = f"{word}{comparison.comparison.ratio:.2f}x [{low:.2f}-{high:.2f}]"
            if shown != PASS:
                findings.append(f"- {cell.label}: {SYMBOLS[shown].upper()} {comparison.line()}")
        columns = [SYMBOLS[shown_as(verdicts[s])] if s in verdicts else "" for s in subjects]
        minutes = f"{results[cell].seconds / 60:.1f}"
        rows.append(f"| {cell.label} | " + " | ".join(columns) + f" | {throughput} | {minutes} | {_machine(results[cell], comparison)} |")
        for subject, judged_subject in verdicts.items():
            for line in lines(judged_subject):
                findings.append(f"- {cell.label}, {subject} ({shown_as(judged_subject)}): {line}")
    return "\n".join(rows + ["", f"Findings ({len(findings)}):", ""] + (findings or ["none"])) + "\n"


def _throughput_shown(comparison: ThroughputAB) -> str:
    """PASS, EXPECTED (slower by a known slowdown) or REGRESSION."""
    timed = comparison.comparison
    return REGRESSION if timed.regressed else EXPECTED if timed.slower else PASS


def _machine(result: CellResult, comparison: ThroughputAB | None) -> str:
    """Where the cell trained, and where its A/B was timed if elsewhere (or not recorded)."""
    trained = result.baseline.environment.machine if result.baseline else "-"
    if comparison is None or comparison.machine == trained:
        return trained
    return f"{trained}; A/B: {comparison.machine or 'not recorded'}"


def cell_words(judged: Judged) -> list[list[str]]:
    """The words the heatmap writes: a row per framing (and contract), a column per cell."""
    return [[CELL_WORDS[shown_as(judged[cell][subject])] if subject in judged[cell] else NOT_RUN for cell in judged]
            for subject in _subjects(judged)]


def _pyplot():
    """matplotlib's pyplot, drawing to files. Late: it takes a second to import, and only rendering needs it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def heatmap(judged: Judged, path: str | os.PathLike) -> None:
    """Framing (and contract) x cell, coloured by verdict, the verdict written in each cell too."""
    plt = _pyplot()
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    cells = list(judged)
    subjects = _subjects(judged)
    grid = [[LEGEND.index(shown_as(judged[c][s])) if s in judged[c] else -1 for c in cells] for s in subjects]
    masked = np.ma.masked_less(np.array(grid, dtype=float), 0)
    figure, axes = plt.subplots(figsize=(1.5 + 0.75 * len(cells), 1.5 + 0.35 * len(subjects)))
    axes.imshow(masked, cmap=ListedColormap([COLOURS[o] for o in LEGEND]), vmin=0, vmax=len(LEGEND) - 1,
                aspect="auto")
    for row, words in enumerate(cell_words(judged)):
        for column, word in enumerate(words):
            axes.text(column, row, word, ha="center", va="center", fontsize=7,
                      color="grey" if word == NOT_RUN else "black")
    axes.set_xticks(range(len(cells)), [c.label.replace(" / ", "\n") for c in cells], rotation=90, fontsize=7)
    axes.set_yticks(range(len(subjects)), subjects, fontsize=7)
    axes.legend(handles=[Patch(color=COLOURS[o], label=o) for o in LEGEND], loc="upper left",
                bbox_to_anchor=(1.01, 1), fontsize=7)
    axes.set_title("alphabench across Keras releases and backends", fontsize=9)
    figure.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(figure)


def throughput_picture(ab: Mapping[tuple[Cell, Cell], ThroughputAB], path: str | os.PathLike) -> None:
    """Per line (Keras on a backend, tf-keras): each release's training throughput relative to the
    previous one's (the A/B median ratio, its 90% interval as a bar), with the regression threshold."""
    from alphabench.abtest import SLOWDOWN

    plt = _pyplot()

    by_line: dict[tuple[str, str], list[ThroughputAB]] = {}
    for (_, after), comparison in ab.items():
        by_line.setdefault(after.line, []).append(comparison)
    lines_ = sorted(by_line, key=lambda line: (BACKENDS.index(line[1]), line[0]))
    figure, axes = plt.subplots(max(len(lines_), 1), 1, figsize=(9, 1.2 + 2.2 * max(len(lines_), 1)), squeeze=False)
    for axis, line in zip(axes[:, 0], lines_):
        order = ordered(c.after for c in by_line[line])
        comparisons = sorted(by_line[line], key=lambda c: order.index(c.after))
        ratios = [c.comparison.ratio for c in comparisons]
        intervals = [c.comparison.interval() for c in comparisons]
        below = [ratio - low for ratio, (low, _) in zip(ratios, intervals)]
        above = [high - ratio for ratio, (_, high) in zip(ratios, intervals)]
        colours = [COLOURS[_throughput_shown(c)] for c in comparisons]
        positions = range(len(comparisons))
        axis.errorbar(positions, ratios, yerr=[below, above], fmt="none", ecolor="black", capsize=3, linewidth=1)
        axis.scatter(positions, ratios, c=colours, zorder=3)
        axis.axhline(1.0, color="grey", linewidth=0.8)
        axis.axhline(1 / SLOWDOWN, color=COLOURS[REGRESSION], linewidth=0.8, linestyle="--")
        axis.set_xticks(list(positions), [c.after.keras_version for c in comparisons], rotation=45, fontsize=7)
        axis.set_ylabel("throughput vs\nprevious release", fontsize=7)
        axis.set_title(f"{line[0]} on {line[1]} ({comparisons[0].framing}; dashed: 1/{SLOWDOWN:g}, a regression "
                       f"below it if significant; grey: slower, as a known slowdown expects)", fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def write_report(judged: Judged, results: Mapping[Cell, CellResult], ab: Mapping[tuple[Cell, Cell], ThroughputAB],
                 out: Path) -> str:
    """matrix.md (the pictures, then the table), matrix.png and matrix-throughput.png in `out`; the table's
    Markdown is returned too (for a terminal or a CI summary, where the pictures' paths do not resolve)."""
    text = markdown(judged, results, ab)
    out.mkdir(parents=True, exist_ok=True)
    heatmap(judged, out / "matrix.png")
    pictures = ["![verdict of every framing and contract in every cell](matrix.png)"]
    if ab:
        throughput_picture(ab, out / "matrix-throughput.png")
        pictures.append("![each release's throughput against the previous one, A/B](matrix-throughput.png)")
    (out / "matrix.md").write_text("\n\n".join(pictures) + "\n\n" + text)
    return text


def report(results: Mapping[Cell, CellResult], references: Mapping, ab: Mapping[tuple[Cell, Cell], ThroughputAB],
           out: Path) -> str:
    """Judge, then write matrix.md and matrix.png to `out`; the Markdown is returned too."""
    return write_report(judge_all(results, references), results, ab, out)
