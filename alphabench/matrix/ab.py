"""Throughput A/B between neighbouring cells of one matrix run, in alternating rounds (alphabench.abtest)."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from alphabench import abtest
from alphabench.matrix.cells import Cell, neighbours
from alphabench.matrix.environments import CellError, python_of
from alphabench.matrix.files import ThroughputAB, ab_file, cell_file, load_cell, save_ab


def measure_throughput(python: Path, cell: Cell, framing: str, epochs: int) -> float:
    command = [str(python), "-m", "alphabench", "throughput", framing, "--epochs", str(epochs)]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **cell.environment_variables()})
    if done.returncode != 0:
        raise CellError(f"timing {framing} in {cell.label} failed: {(done.stderr.strip() or 'no output').splitlines()[-1]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["steps_per_second"]


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
            pairs = abtest.interleaved(lambda: measure_throughput(pythons[0], before, framing, epochs),
                                       lambda: measure_throughput(pythons[1], cell, framing, epochs), rounds)
        except CellError as error:
            log(f"  {error}")
            continue
        save_ab(directory, ThroughputAB(before, cell, framing, tuple(pairs), epochs))
