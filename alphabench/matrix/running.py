"""Running a cell: from outside (build its environment, run `alphabench matrix cell` there, keep its
file), and inside it (what `matrix cell` measures in this environment)."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from alphabench import baseline, verdict
from alphabench.errors import BaselineError
from alphabench.matrix.cells import CELL_SCHEMA_VERSION, Cell
from alphabench.matrix.environments import CellError, ensure_environment
from alphabench.matrix.files import CellResult, pending, save_cell
from alphabench.results import Baseline, BaselineEntry
from alphabench.session import Session


def run_inside_cell(framings: Sequence[str], seeds: tuple[int, ...] | None, path: str, progress=print) -> dict:
    """What `alphabench matrix cell` measures in this environment, as the cell file's body."""
    # Late: these load Keras, which only a cell's own process does.
    from alphabench import compat
    from alphabench.contracts import CONTRACTS

    session = Session(seeds=seeds, path=path, baselines=tempfile.mkdtemp(prefix="alphabench-cell-"))
    session.resolve_path()  # "auto": the fused path where this environment has it
    contracts = {contract.name: contract.violation() for contract in CONTRACTS}
    entries, expectations, errors = {}, {}, {}
    for name in framings:
        start = time.perf_counter()
        try:
            results = session.train(name)
        except Exception as error:  # the release cannot train this framing: said per framing, then on
            errors[name] = f"{type(error).__name__}: {error}".splitlines()[0][:400]
            progress(f"{name}: training failed ({errors[name][:120]})")
            continue
        entries[session.baseline_key(name)] = BaselineEntry.from_results(results, None)
        expectations[name] = [[f.check, f.line] for f in verdict.failures_of(name, session.summary(name), [], session.path)]
        progress(f"{name}: trained in {time.perf_counter() - start:.0f}s")
    return {
        "keras_version": compat.keras.__version__,
        "environment": compat.ENVIRONMENT,
        "path": session.path,
        "baseline": Baseline(compat.fingerprint(), None, entries).as_dict(baseline.SCHEMA_VERSION),
        "contracts": contracts,
        "expectations": expectations,
        "training_errors": errors,
    }


def run_cell(cell: Cell, directory: Path, source: Path, framings: Sequence[str], seeds: str | None,
             find_links: Sequence[str] = (), log=print) -> CellResult:
    """Build (or reuse) the cell's environment, run `alphabench matrix cell` in it, write its file."""
    start = time.perf_counter()
    document = {"cell_schema_version": CELL_SCHEMA_VERSION, "cell": cell.text, "framings": list(framings)}
    try:
        python = ensure_environment(cell, directory, source, find_links)
        document["install_seconds"] = round(time.perf_counter() - start, 1)
        measured = _cell_body(python, cell, framings, seeds, log)
        # Validated here, so a cell whose results are not a valid baseline is an error cell, not a crash later.
        result = CellResult.from_dict({**document, **measured}, cell.id)
    except (CellError, BaselineError) as error:
        result = CellResult.from_dict({**document, "error": str(error)}, cell.id)
    result = dataclasses.replace(result, seconds=round(time.perf_counter() - start, 1))
    save_cell(directory, result)
    return result


def _cell_body(python: Path, cell: Cell, framings: Sequence[str], seeds: str | None, log) -> dict:
    """The cell file's body, from `alphabench matrix cell` run by the cell's interpreter."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "cell.json"
        command = [str(python), "-m", "alphabench", "matrix", "cell", "--out", str(out), *framings]
        command += ["--seeds", seeds] if seeds else []
        env = {**os.environ, **cell.environment_variables()}
        if cell.keras != "tf-keras":
            env.pop("TF_USE_LEGACY_KERAS", None)
        done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=scratch)
        for line in done.stderr.splitlines():
            if line.startswith("cell: "):
                log(f"  {line[6:]}")
        if done.returncode != 0 or not out.exists():
            last = (done.stderr.strip() or "no output").splitlines()[-1]
            raise CellError(f"alphabench in the cell exited {done.returncode}: {last[-400:]}")
        return json.loads(out.read_text())


def run_matrix(cells: Sequence[Cell], directory: Path, source: Path, framings: Sequence[str], seeds: str | None,
               find_links: Sequence[str] = (), log=print, after_each: Callable[[], None] = lambda: None) -> None:
    """Run every cell that has no file yet, one at a time, with a progress line per cell, calling
    `after_each` when each ends (the matrix's A/B of the pairs now complete)."""
    todo = pending(cells, directory)
    log(f"{len(cells) - len(todo)} of {len(cells)} cells already done in {directory}; running {len(todo)}")
    for position, cell in enumerate(todo, start=1):
        log(f"[{position}/{len(todo)}] {cell.label} ...")
        result = run_cell(cell, directory, source, framings, seeds, find_links, log)
        outcome = f"ERROR: {result.error}" if result.error is not None else \
            f"{len(result.training_errors)} training errors"
        log(f"[{position}/{len(todo)}] {cell.label}: done in {result.seconds:.0f}s ({outcome})")
        after_each()
