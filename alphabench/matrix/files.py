"""A matrix's files and their typed records: one cell's result (cells/), one A/B comparison (ab/).

JSON appears only here, where records are stored; everything else reads CellResult and ThroughputAB.
A cell's baseline is read by the baseline store's loader, so it is validated and migrated like any.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from alphabench import abtest, atomic, baseline, deviations
from alphabench.errors import UsageError
from alphabench.matrix.cells import CELL_SCHEMA_VERSION, Cell, parse_cell
from alphabench.results import Baseline


_ADVICE = "delete the cell file to rerun its cell"


@dataclass(frozen=True)
class CellResult:
    """What one cell did: an `error` if it could not be built or run, else what it measured."""

    cell: Cell
    framings: tuple[str, ...]
    error: str | None = None
    keras_version: str = ""  # the Keras the cell imported (a mismatch with the cell's is an error)
    environment: str = ""
    path: str = "fast"  # the training path the cell's framings took (cell schema 1: always fast)
    baseline: Baseline | None = None  # what it trained, without calibration
    contracts: Mapping[str, str | None] = field(default_factory=dict)  # name -> violation, or None
    expectations: Mapping[str, tuple[tuple[str, str], ...]] = field(default_factory=dict)  # (check, line)
    training_errors: Mapping[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    install_seconds: float | None = None

    @classmethod
    def from_dict(cls, document: dict, name: str = "cell file") -> CellResult:
        measured = "baseline" in document
        return cls(
            cell=parse_cell(document["cell"]),
            framings=tuple(document["framings"]),
            error=document.get("error"),
            keras_version=document.get("keras_version", ""),
            environment=document.get("environment", ""),
            path=document.get("path", "fast"),
            baseline=baseline.from_document(document["baseline"], f"{name}: baseline", _ADVICE) if measured else None,
            contracts=dict(document.get("contracts", {})),
            expectations={framing: tuple((check, line) for check, line in failures)
                          for framing, failures in document.get("expectations", {}).items()},
            training_errors=dict(document.get("training_errors", {})),
            seconds=document.get("seconds", 0),
            install_seconds=document.get("install_seconds"),
        )

    def as_dict(self) -> dict:
        document = {"cell_schema_version": CELL_SCHEMA_VERSION, "cell": self.cell.text, "framings": list(self.framings),
                    "seconds": self.seconds}
        if self.install_seconds is not None:
            document["install_seconds"] = self.install_seconds
        if self.error is not None:
            document["error"] = self.error
        if self.baseline is not None:
            document.update(keras_version=self.keras_version, environment=self.environment, path=self.path,
                            baseline=self.baseline.as_dict(baseline.SCHEMA_VERSION), contracts=dict(self.contracts),
                            expectations={f: [list(x) for x in failures] for f, failures in self.expectations.items()},
                            training_errors=dict(self.training_errors))
        return document


@dataclass(frozen=True)
class ThroughputAB:
    """One framing's throughput in two neighbouring cells, measured in alternating rounds."""

    before: Cell
    after: Cell
    framing: str
    pairs: tuple[tuple[float, float], ...]
    epochs: int | None = None
    machine: str | None = None  # Fingerprint.machine of the rounds; None in files made before it was kept

    @cached_property  # its Wilcoxon test is asked for again by each verdict and table
    def comparison(self) -> abtest.Comparison:
        """With the known slowdown this pair's upgrade crosses, if any (none between two lines)."""
        b, a = self.before, self.after
        known = deviations.known_slowdown(a.backend, self.framing, a.line[0], (b.keras_version, b.backend_version),
                                          (a.keras_version, a.backend_version)) if b.line == a.line else None
        return abtest.Comparison(self.pairs, known)

    def line(self) -> str:
        return f"{self.framing} throughput: {self.comparison.line(self.before.label, self.after.label)}"

    @classmethod
    def from_dict(cls, document: dict) -> ThroughputAB:
        return cls(parse_cell(document["before"]), parse_cell(document["after"]), document["framing"],
                   tuple((a, b) for a, b in document["pairs"]), document.get("epochs"), document.get("machine"))

    def as_dict(self) -> dict:
        return {"before": self.before.text, "after": self.after.text, "framing": self.framing, "epochs": self.epochs,
                "pairs": [list(pair) for pair in self.pairs], "machine": self.machine}


def cell_file(directory: str | os.PathLike, cell: Cell) -> Path:
    return Path(directory) / "cells" / f"{cell.id}.json"


def checkpoint_file(directory: str | os.PathLike, cell: Cell) -> Path:
    """Where a cell's run keeps its finished framings until the cell file is written (a stopped run resumes there)."""
    return Path(directory) / "partial" / f"{cell.id}.json"


def pending(cells: Sequence[Cell], directory: str | os.PathLike) -> list[Cell]:
    """The cells with no result file yet: what a resumed matrix runs (delete a file to rerun its cell)."""
    return [cell for cell in cells if not cell_file(directory, cell).exists()]


def save_cell(directory: str | os.PathLike, result: CellResult) -> None:
    atomic.write_json(cell_file(directory, result.cell), result.as_dict())


def load_cell(path: str | os.PathLike) -> CellResult:
    return CellResult.from_dict(json.loads(Path(path).read_text()), str(path))


def load_cells(paths: Iterable[str | os.PathLike]) -> dict[Cell, CellResult]:
    """Cell files from files or directories (searched recursively), by cell."""
    results = {}
    for file, document in _documents(paths):
        if isinstance(document, dict) and document.get("cell_schema_version") == CELL_SCHEMA_VERSION:
            result = CellResult.from_dict(document, str(file))
            results[result.cell] = result
    if not results:
        raise UsageError(f"no cell files (JSON with cell_schema_version {CELL_SCHEMA_VERSION}) in {', '.join(map(str, paths))}")
    return results


def _documents(paths: Iterable[str | os.PathLike]):
    """(file, its JSON) for each file given and each JSON file under each directory given, except in
    virtual environments (a matrix directory holds its cells' environments, whose JSON is not results)."""
    for given in map(Path, paths):
        for file in _json_files(given) if given.is_dir() else [given]:
            try:
                yield file, json.loads(file.read_text())
            except (OSError, json.JSONDecodeError) as error:
                raise UsageError(f"{file}: not a readable matrix file ({error})") from None


def _json_files(directory: Path) -> Iterable[Path]:
    for root, directories, names in os.walk(directory):
        directories[:] = sorted(d for d in directories if not (Path(root) / d / "pyvenv.cfg").exists())
        yield from (Path(root) / name for name in sorted(names) if name.endswith(".json"))


def ab_file(directory: Path, before: Cell, after: Cell) -> Path:
    return directory / "ab" / f"{before.id}__{after.id}.json"


def save_ab(directory: Path, comparison: ThroughputAB) -> None:
    atomic.write_json(ab_file(directory, comparison.before, comparison.after), comparison.as_dict())


def load_ab(paths: Iterable[str | os.PathLike]) -> dict[tuple[Cell, Cell], ThroughputAB]:
    """A/B files from files or directories (searched recursively), by pair. Each was measured in
    alternating rounds on one machine, so files made on different machines can be set side by side."""
    found = {}
    for _, document in _documents(paths):
        if isinstance(document, dict) and {"before", "after", "pairs"} <= document.keys():
            comparison = ThroughputAB.from_dict(document)
            found[(comparison.before, comparison.after)] = comparison
    return found
