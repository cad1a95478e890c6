"""Judging cells: each framing's and contract's Verdict (alphabench.verdict decides), and the
matrix's own outcome, MatrixVerdict, which gives `matrix run` its exit status."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from alphabench import baseline, gate, verdict
from alphabench.data import sample_count
from alphabench.framings import get_framing
from alphabench.matrix.cells import Cell, neighbours, ordered
from alphabench.matrix.files import CellResult, ThroughputAB
from alphabench.results import Baseline, SeedResult, entry_framing, entry_key

# A failure of this check is an error (nothing was measured), not a regression: a framing that
# could not train, or a cell that could not be built, run, or imported another Keras than asked.
ERROR_CHECK = "training"


def is_error(judged: verdict.Verdict) -> bool:
    return judged.status == verdict.FAIL and any(f.check == ERROR_CHECK for f in judged.unexpected_failures)


def lines(judged: verdict.Verdict) -> tuple[str, ...]:
    """What to say about a verdict: its failures, then what an unexpected pass contradicts and where
    a deviation's measurements do not reach this release (a pass that may be a fix, say)."""
    return tuple(judged.lines()) + tuple(judged.explanations(causes=False))


def _seed_results(key: str, entry, fingerprint) -> list[SeedResult]:
    """A baseline entry's seeds as the gate's per-seed results (what the cell trained)."""
    return [
        SeedResult(framing=entry_framing(key), path=entry.path, seed=seed, settings=entry.settings, accuracy=accuracy,
                   epochs_to_100=epochs, loss_history=() if loss is None else (loss,), accuracy_history=(),
                   probes=probes, replicas=len(entry.seeds), train_seconds=0.0,
                   steps_per_second=entry.steps_per_second, environment=fingerprint)
        for seed, accuracy, epochs, probes, loss in zip(entry.seeds, entry.accuracy, entry.epochs_to_100,
                                                          entry.probes, entry.final_loss)
    ]


def _regressions(result: CellResult, key: str, against: Baseline | None, against_name: str) -> list[str]:
    """The gate's regression lines for one entry of a cell against another baseline (throughput aside)."""
    mine = result.baseline
    if against is None or key not in against.framings:
        return []
    results = {key: _seed_results(key, mine.framings[key], mine.environment)}
    # No calibration: throughput is judged A/B between neighbouring cells, never from stored figures.
    findings = gate.compare_all(against, results, None, {key: sample_count(get_framing(entry_framing(key)))})
    return [f"vs {against_name}: {f.line()}" for f in findings if f.kind == "regression"]


def _cell_error(subject: str, line: str) -> verdict.Verdict:
    """Nothing was measured: no known deviation can make this expected."""
    return verdict.judge(subject, [verdict.Failure(ERROR_CHECK, line, "cell")], {})


def judge_cell(result: CellResult, neighbour: CellResult | None, reference: Baseline | None,
               reference_name: str, unexpected_pass: str = "fail") -> dict[str, verdict.Verdict]:
    """Every framing's and contract's verdict in one cell (`unexpected_pass`: of
    verdict.UNEXPECTED_PASS_POLICIES, whether a recorded deviation that no longer shows fails it)."""
    subjects = list(result.framings)
    if result.error is not None:
        return {subject: _cell_error(subject, result.error) for subject in subjects}
    cell = result.cell
    if result.keras_version != cell.keras_version:
        line = f"asked for {cell.keras} {cell.keras_version}, but the cell imported Keras {result.keras_version}"
        return {subject: _cell_error(subject, line) for subject in subjects}
    environment, keras_version = result.environment, result.keras_version
    neighbour_baseline = neighbour.baseline if neighbour else None
    neighbour_name = neighbour.cell.label if neighbour else ""
    judged = {}
    for name, seen in result.contracts.items():
        expected = verdict.expectations(environment, name, keras_version, result.path, ("contract",))
        judged[f"contract {name}"] = verdict.contract_verdict(name, seen, expected, unexpected_pass)
    for name in subjects:
        expected = verdict.expectations(environment, name, keras_version, result.path)
        if name in result.training_errors:
            line = f"{name}: training failed ({result.training_errors[name]})"
            judged[name] = verdict.judge(name, [verdict.Failure("training", line, "training")], expected,
                                         unexpected_pass=unexpected_pass)
            continue
        failures = [verdict.Failure(check, line, "expectation") for check, line in result.expectations.get(name, ())]
        key = entry_key(name, result.path)
        failures += [verdict.Failure("baseline", line, "neighbour")
                     for line in _regressions(result, key, neighbour_baseline, neighbour_name)]
        failures += [verdict.Failure("baseline", line, "reference")
                     for line in _regressions(result, key, reference, reference_name)]
        judged[name] = verdict.judge(name, failures, expected, unexpected_pass=unexpected_pass)
    return judged


def reference_baselines(directory: str | os.PathLike) -> dict[str, Baseline]:
    """The committed baselines by environment (baselines/<environment>.json)."""
    return {path.stem: baseline.load(path) for path in sorted(Path(directory).glob("*.json"))}


def judge_all(results: Mapping[Cell, CellResult], references: Mapping[str, Baseline], unexpected_pass: str = "fail"
              ) -> dict[Cell, dict[str, verdict.Verdict]]:
    paired = neighbours(results)
    judged = {}
    for cell in ordered(results):
        result, before = results[cell], paired[cell]
        reference = references.get(result.environment)
        name = (f"the committed baseline ({result.environment}, Keras "
                f"{reference.environment.keras_version})") if reference else ""
        judged[cell] = judge_cell(result, results[before] if before else None, reference, name, unexpected_pass)
    return judged


def neighbouring_ab(results: Mapping[Cell, CellResult], ab: Mapping[tuple[Cell, Cell], ThroughputAB]
                    ) -> dict[tuple[Cell, Cell], ThroughputAB]:
    """The A/B comparisons that judge the matrix: each cell's against its neighbour's. Others (a
    throughput bisect's probes against its older end, kept in the same --dir) are evidence of their own."""
    paired = neighbours(results)
    return {(before, after): timed for (before, after), timed in ab.items() if paired.get(after) == before}


@dataclass(frozen=True)
class MatrixVerdict:
    """The matrix as a gate: which cells erred, which regressed (a verdict or an A/B throughput), and
    which neighbouring pairs could not be timed (nothing to compare is not a pass)."""

    cells: Mapping[Cell, Mapping[str, verdict.Verdict]]
    ab: Mapping[tuple[Cell, Cell], ThroughputAB]
    unmeasured: Mapping[tuple[Cell, Cell], str] = field(default_factory=dict)  # (before, after): why

    @property
    def errors(self) -> dict[Cell, str]:
        """Each cell that could not be built, run or train, with its first error line."""
        found = {}
        for cell, judged in self.cells.items():
            erred = [v for v in judged.values() if is_error(v)]
            if erred:
                found[cell] = lines(erred[0])[0]
        return found

    @property
    def regressions(self) -> dict[Cell, list[str]]:
        """Each other cell that fails the run, with what failed there (a deviation that no longer
        shows fails it too, as in any run: the record of known deviations is then out of date)."""
        found: dict[Cell, list[str]] = {}
        for cell, judged in self.cells.items():
            failed = [subject + (" (unexpected pass)" if v.status == verdict.UNEXPECTED_PASS else "")
                      for subject, v in judged.items() if v.fails_run and not is_error(v)]
            if failed and cell not in self.errors:
                found[cell] = failed
        for (_, after), comparison in self.ab.items():
            if after in self.cells and after not in self.errors and comparison.comparison.regressed:
                found.setdefault(after, []).append(f"{comparison.framing} throughput")
        return found

    @property
    def warned(self) -> dict[Cell, list[str]]:
        """Each cell's unexpected passes that do not fail the run (--unexpected-pass warn): said as
        prominently as a regression, since a recorded deviation no longer holds there."""
        found = {cell: [s for s, v in judged.items() if v.warned] for cell, judged in self.cells.items()}
        return {cell: subjects for cell, subjects in found.items() if subjects}

    @property
    def exit_status(self) -> int:
        """0: every cell as expected; 1: a regression; 3: a cell erred or a pair could not be timed (the
        matrix is incomplete)."""
        return 3 if self.errors or self.unmeasured else 1 if self.regressions else 0

    def summary_lines(self) -> list[str]:
        return ([f"matrix: ERROR {cell.label}: {line}" for cell, line in self.errors.items()]
                + [f"matrix: ERROR A/B {before.label} -> {after.label}: {why}"
                   for (before, after), why in self.unmeasured.items()]
                + [f"matrix: REGRESSION {cell.label}: {', '.join(failed)}" for cell, failed in self.regressions.items()]
                + [f"matrix: UNEXPECTED PASS {cell.label}: {', '.join(subjects)} (--unexpected-pass warn: not failing "
                   "the matrix)" for cell, subjects in self.warned.items()])
