"""Throughput A/B between neighbouring cells of one matrix run, in alternating rounds (alphabench.abtest)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from alphabench import abtest
from alphabench.matrix.cells import Cell, neighbours
from alphabench.matrix.environments import python_of
from alphabench.matrix.files import ThroughputAB, ab_file, cell_file, load_cell, save_ab


def steps_per_second(python: Path, cell: Cell, framing: str, epochs: int) -> float:
    return abtest.measure_in(python, framing, epochs, cell.environment_variables()).steps_per_second


def run_ab(cells: Sequence[Cell], directory: Path, framing: str, epochs: int, rounds: int, log=print) -> None:
    """Throughput of each cell against its neighbour, in alternating rounds, for pairs that trained."""
    for cell, before in neighbours(cells).items():
        if before is None or ab_file(directory, before, cell).exists():
            continue
        results = [load_cell(cell_file(directory, c)) for c in (before, cell)]
        if any(r.error is not None or framing in r.training_errors for r in results):
            continue
        pythons = [python_of(directory, c) for c in (before, cell)]
        log(f"A/B {framing}: {before.label} -> {cell.label}, {rounds} rounds ...")
        try:
            pairs = abtest.interleaved(lambda: steps_per_second(pythons[0], before, framing, epochs),
                                       lambda: steps_per_second(pythons[1], cell, framing, epochs), rounds)
        except abtest.MeasureError as error:
            log(f"  {before.label} -> {cell.label}: {error}")
            continue
        save_ab(directory, ThroughputAB(before, cell, framing, tuple(pairs), epochs))
