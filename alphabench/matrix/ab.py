"""Throughput A/B between neighbouring cells of one matrix run, in alternating rounds (alphabench.abtest)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from alphabench import abtest
from alphabench.matrix.cells import Cell, neighbours
from alphabench.matrix.environments import CellError, ensure_environment
from alphabench.matrix.files import ThroughputAB, ab_file, cell_file, load_cell, save_ab


def cell_timer(python: Path, cell: Cell, framing: str, epochs: int) -> abtest.Timer:
    return abtest.Timer(python, framing, epochs, cell.environment_variables())


def compare(before: Cell, after: Cell, directory: Path, source: Path, find_links: Sequence[str], framing: str,
            epochs: int, rounds: int, timer: Callable = cell_timer) -> ThroughputAB:
    """`framing`'s throughput in `after` against `before`, in `rounds` alternating rounds, each cell's
    environment reused or built as its cell's was (CellError if one cannot be built, MeasureError if
    one cannot time the framing)."""
    pythons = [ensure_environment(cell, directory, source, find_links) for cell in (before, after)]
    machines = set()

    def steps_per_second(side) -> float:
        measured = side()
        machines.add(measured.environment.machine)
        return measured.steps_per_second

    with timer(pythons[0], before, framing, epochs) as a, timer(pythons[1], after, framing, epochs) as b:
        pairs = abtest.interleaved(lambda: steps_per_second(a), lambda: steps_per_second(b), rounds)
    return ThroughputAB(before, after, framing, tuple(pairs), epochs, " / ".join(sorted(machines)))


def run_ab(cells: Sequence[Cell], directory: Path, source: Path, find_links: Sequence[str], framing: str, epochs: int,
           rounds: int, log=print) -> dict[tuple[Cell, Cell], str]:
    """Throughput of each cell against its neighbour, in alternating rounds, for pairs that trained
    and have no A/B file yet (a pair whose cells are not both done waits); the pairs that could not
    be timed, with why. Each cell's environment is reused, or built again as its cell's was: a matrix
    resumed on another machine times the pairs of cells trained elsewhere (compare)."""
    unmeasured = {}
    for cell, before in neighbours(cells).items():
        if before is None or ab_file(directory, before, cell).exists():
            continue
        if not all(cell_file(directory, c).exists() for c in (before, cell)):
            continue
        results = [load_cell(cell_file(directory, c)) for c in (before, cell)]
        if any(r.error is not None or framing in r.training_errors for r in results):
            continue
        log(f"A/B {framing}: {before.label} -> {cell.label}, {rounds} rounds ...")
        try:
            comparison = compare(before, cell, directory, source, find_links, framing, epochs, rounds)
        except (CellError, abtest.MeasureError) as error:
            unmeasured[(before, cell)] = str(error)
            log(f"  {before.label} -> {cell.label}: {error}")
            continue
        save_ab(directory, comparison)
        log(f"  {comparison.line()}")
    return unmeasured
