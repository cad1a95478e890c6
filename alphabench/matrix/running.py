"""Running a cell: from outside (build its environment, run `alphabench matrix cell` there, keep its
file), and inside it (what `matrix cell` measures in this environment)."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from alphabench import atomic, baseline, verdict
from alphabench.errors import BaselineError
from alphabench.matrix.cells import CELL_SCHEMA_VERSION, Cell
from alphabench.matrix.environments import CellError, ensure_environment
from alphabench.matrix.files import CellResult, checkpoint_file, pending, save_cell
from alphabench.results import Baseline, BaselineEntry
from alphabench.session import Session


def run_inside_cell(framings: Sequence[str], seeds: tuple[int, ...] | None, path: str, progress=print,
                    checkpoint: Path | None = None) -> dict:
    """What `alphabench matrix cell` measures in this environment, as the cell file's body.

    Each framing's outcome is kept in `checkpoint` as it ends: a torch cell trains for up to two and a
    half hours, and a run stopped in it starts again from its last finished framing, carrying over
    what the same code trained in the same environment with the same seeds (anything else is trained
    again). The body's `carried_seconds` is the training time carried over."""
    # Late: these load Keras, which only a cell's own process does.
    from alphabench import compat
    from alphabench.contracts import CONTRACTS

    session = Session(seeds=seeds, path=path, baselines=tempfile.mkdtemp(prefix="alphabench-cell-"))
    session.resolve_path()  # "auto": the fused path where this environment has it
    fingerprint = compat.fingerprint()
    # As JSON has it, to be compared with the checkpoint's.
    identity = json.loads(json.dumps({"fingerprint": fingerprint.as_dict(), "path": session.path,
                                      "seeds": list(seeds) if seeds else None, "source": _source_digest()}))
    outcomes = _carried_over(checkpoint, identity, framings, progress)
    carried_seconds = sum(outcome["seconds"] for outcome in outcomes.values())
    contracts = {contract.name: contract.violation() for contract in CONTRACTS}
    for name in framings:
        if name in outcomes:
            continue
        start = time.perf_counter()
        try:
            results = session.train(name)
        except Exception as error:  # the release cannot train this framing: said per framing, then on
            outcome = {"error": f"{type(error).__name__}: {error}".splitlines()[0][:400]}
            progress(f"{name}: training failed ({outcome['error'][:120]})")
        else:
            outcome = {"entry": BaselineEntry.from_results(results, None).as_dict(),
                       "expectations": [[f.check, f.line] for f in
                                        verdict.failures_of(name, session.summary(name), [], session.path)]}
            progress(f"{name}: trained in {time.perf_counter() - start:.0f}s")
        outcomes[name] = {**outcome, "seconds": time.perf_counter() - start}
        if checkpoint is not None:
            atomic.write_json(checkpoint, {**identity, "outcomes": outcomes})
    trained = {name: outcome for name, outcome in outcomes.items() if "entry" in outcome}
    entries = {session.baseline_key(name): BaselineEntry.from_dict(outcome["entry"]) for name, outcome in trained.items()}
    return {
        "keras_version": compat.keras.__version__,
        "environment": compat.ENVIRONMENT,
        "path": session.path,
        "baseline": Baseline(fingerprint, None, entries).as_dict(baseline.SCHEMA_VERSION),
        "contracts": contracts,
        "expectations": {name: outcome["expectations"] for name, outcome in trained.items()},
        "training_errors": {name: outcome["error"] for name, outcome in outcomes.items() if "error" in outcome},
        "carried_seconds": round(carried_seconds, 1),
    }


def _carried_over(checkpoint: Path | None, identity: dict, framings: Sequence[str], progress) -> dict[str, dict]:
    """The outcomes of `framings` an interrupted run of this cell kept in `checkpoint`, where it ran
    the same code in the same environment with the same seeds; else none."""
    if checkpoint is None or not checkpoint.exists():
        return {}
    try:
        kept = json.loads(checkpoint.read_text())
        if {key: kept.get(key) for key in identity} != identity:
            progress(f"ignoring {checkpoint}: made by other code, environment or seeds; training every framing")
            return {}
        outcomes = {name: kept["outcomes"][name] for name in framings if name in kept["outcomes"]}
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        progress(f"ignoring {checkpoint}, unreadable ({type(error).__name__}): training every framing")
        return {}
    for name, outcome in outcomes.items():
        progress(f"{name}: carried over from the interrupted run ({outcome['seconds']:.0f}s)")
    return outcomes


def _source_digest() -> str:
    """What identifies the alphabench code that trains: its package's files (an editable install in a cell)."""
    package = Path(__file__).resolve().parent.parent
    digest = hashlib.sha256()
    for file in sorted(package.rglob("*")):
        if file.suffix in (".py", ".json") and "__pycache__" not in file.parts:
            digest.update(file.relative_to(package).as_posix().encode() + b"\0" + file.read_bytes())
    return digest.hexdigest()


def run_cell(cell: Cell, directory: Path, source: Path, framings: Sequence[str], seeds: str | None,
             find_links: Sequence[str] = (), log=print) -> CellResult:
    """Build (or reuse) the cell's environment, run `alphabench matrix cell` in it, write its file."""
    start, carried_seconds = time.perf_counter(), 0.0
    checkpoint = checkpoint_file(directory, cell)
    document = {"cell_schema_version": CELL_SCHEMA_VERSION, "cell": cell.text, "framings": list(framings)}
    try:
        python = ensure_environment(cell, directory, source, find_links)
        document["install_seconds"] = round(time.perf_counter() - start, 1)
        measured = _cell_body(python, cell, framings, seeds, checkpoint, log)
        carried_seconds = measured.pop("carried_seconds")
        # Validated here, so a cell whose results are not a valid baseline is an error cell, not a crash later.
        result = CellResult.from_dict({**document, **measured}, cell.id)
    except (CellError, BaselineError) as error:
        result = CellResult.from_dict({**document, "error": str(error)}, cell.id)
    result = dataclasses.replace(result, seconds=round(time.perf_counter() - start + carried_seconds, 1))
    save_cell(directory, result)
    if result.error is None:
        checkpoint.unlink(missing_ok=True)
    return result


def _cell_body(python: Path, cell: Cell, framings: Sequence[str], seeds: str | None, checkpoint: Path, log) -> dict:
    """The cell file's body, from `alphabench matrix cell` run by the cell's interpreter."""
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "cell.json"
        command = [str(python), "-m", "alphabench", "matrix", "cell", "--out", str(out),
                   "--checkpoint", str(checkpoint.resolve()), *framings]
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
