"""`alphabench matrix` and `alphabench bisect`: the suite across Keras releases and backends.

A cell is one installation: a Keras (a release, a keras-nightly build, or Keras 2 through tf-keras)
with one backend at one version. Each cell gets its own virtual environment, made with uv from its
cached wheels and reused while its requirements stay the same; alphabench is installed there from
this source tree (editable, without dependencies, so nothing replaces the cell's Keras), and
`alphabench matrix cell` runs inside it: the contracts, then a few framings on the fast path. Its
JSON (a schema 2 baseline of what it trained, plus the contracts' outcomes, the expectations' failures
and any training errors) is written atomically as soon as the cell finishes, so an interrupted
matrix resumes with the first cell that has no file.

The outside process judges the cells, here or after merging the files of separate CI jobs:
each framing of a cell by its own expectations, against the neighbouring cell (the next older
release of the same Keras line on the same backend: what a user upgrading one step sees) and
against the committed baseline of its environment, by the gate's cross-environment rules, with
alphabench.verdict deciding and the known deviations (with their Keras ranges) making expected
failures. Throughput is left out of those comparisons: a figure from another process, cell or
machine cannot tell a slower release from a busier machine. Between neighbouring cells of one
matrix run it is measured A/B instead, in alternating rounds (alphabench.abtest).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from alphabench.errors import UsageError

CELL_SCHEMA_VERSION = 1
KERAS_LINES = ("keras", "keras-nightly", "tf-keras")
BACKENDS = ("tensorflow", "jax", "torch")
# Cells train few framings on their default seeds: a cell must take about a minute on a 2-core machine.
DEFAULT_FRAMINGS = ("one_char", "timestep_window", "stateful")
PYTHON = "3.11"
# The backend releases current when each Keras 3 minor came out (TensorFlow's own requirement on
# keras decides which TensorFlow accepts it), and a NumPy cap where those releases predate NumPy 2.
# TensorFlow 2.16 is the first that installs Keras 3; a Keras 3 release needs no newer one.
ERA = {
    (3, 0): ("2.16.2", "0.4.23", "<2"), (3, 1): ("2.16.2", "0.4.23", "<2"), (3, 2): ("2.16.2", "0.4.26", "<2"),
    (3, 3): ("2.16.2", "0.4.28", "<2"), (3, 4): ("2.17.1", "0.4.30", ""), (3, 5): ("2.17.1", "0.4.31", ""),
    (3, 6): ("2.18.1", "0.4.34", ""), (3, 7): ("2.18.1", "0.4.35", ""), (3, 8): ("2.18.1", "0.5.0", ""),
    (3, 9): ("2.19.1", "0.5.3", ""), (3, 10): ("2.19.1", "0.6.2", ""), (3, 11): ("2.20.0", "0.7.0", ""),
    (3, 12): ("2.20.0", "0.7.2", ""), (3, 13): ("2.21.0", "0.8.2", ""), (3, 14): ("2.21.0", "0.9.2", ""),
}
NEWEST_ERA = ("2.21.0", "0.10.2", "")
# PyTorch's CPU wheels are not on PyPI (its Linux wheels there pull gigabytes of CUDA libraries): a
# torch cell uses the CPU build given by --torch, from --find-links or an index that has it.
DEFAULT_TORCH = "2.13.0+cpu"


@dataclass(frozen=True, order=True)
class Cell:
    keras: str  # one of KERAS_LINES
    keras_version: str
    backend: str  # one of BACKENDS
    backend_version: str

    @property
    def id(self) -> str:
        """A file name: keras-3.0.5_tensorflow-2.16.2."""
        return f"{self.keras}-{self.keras_version}_{self.backend}-{self.backend_version}"

    @property
    def text(self) -> str:
        """The form parse_cell reads: keras==3.0.5/tensorflow==2.16.2."""
        return f"{self.keras}=={self.keras_version}/{self.backend}=={self.backend_version}"

    @property
    def line(self) -> tuple[str, str]:
        """Cells a user upgrades between: keras releases and nightlies are one line, tf-keras another."""
        return ("tf-keras" if self.keras == "tf-keras" else "keras", self.backend)

    @property
    def label(self) -> str:
        keras = {"keras": "Keras", "keras-nightly": "nightly", "tf-keras": "tf-keras"}[self.keras]
        return f"{keras} {self.keras_version} / {self.backend} {self.backend_version}"

    def requirements(self) -> list[str]:
        # jax[cpu]: before 0.4.2x jax did not require its jaxlib, and on its own cannot start.
        backend = "jax[cpu]" if self.backend == "jax" else self.backend
        requirements = [f"{self.keras}=={self.keras_version}", f"{backend}=={self.backend_version}"]
        numpy_cap = era(self.keras_version if self.keras == "keras" else "99")[2]
        if self.keras == "tf-keras" and _release(self.backend_version) < (2, 17):
            numpy_cap = "<2"
        return requirements + ([f"numpy{numpy_cap}"] if numpy_cap else [])

    def environment_variables(self) -> dict[str, str]:
        if self.keras == "tf-keras":
            return {"TF_USE_LEGACY_KERAS": "1", "KERAS_BACKEND": "tensorflow"}
        return {"KERAS_BACKEND": self.backend}


def _release(version: str) -> tuple[int, ...]:
    from packaging.version import Version

    return Version(version).release


def era(keras_version: str) -> tuple[str, str, str]:
    """(TensorFlow, JAX, NumPy cap) of the Keras release's time (ERA); the newest for later ones."""
    return ERA.get(_release(keras_version)[:2], NEWEST_ERA)


def _tensorflow_of_minor(version: str) -> str:
    """The TensorFlow release of ERA with `version`'s minor (tf-keras 2.17.0: TensorFlow 2.17.1)."""
    for tensorflow, _, _ in [*ERA.values(), NEWEST_ERA]:
        if _release(tensorflow)[:2] == _release(version)[:2]:
            return tensorflow
    return version


def parse_cell(text: str, torch: str = DEFAULT_TORCH) -> Cell:
    """'keras==3.0.5/tensorflow==2.16.2'; the backend's version may be left out ('keras==3.8.0/jax'):
    the release's era's (ERA; torch: `torch`)."""
    from packaging.version import InvalidVersion, Version

    keras_part, slash, backend_part = text.strip().partition("/")
    keras, _, keras_version = keras_part.partition("==")
    backend, _, backend_version = backend_part.partition("==")
    form = "KERAS==VERSION/BACKEND[==VERSION], e.g. keras==3.0.5/tensorflow==2.16.2 or tf-keras==2.16.0/tensorflow"
    if not slash or keras not in KERAS_LINES or backend not in BACKENDS or not keras_version:
        raise UsageError(f"cell {text!r}: expected {form}; Keras from {', '.join(KERAS_LINES)}, "
                         f"backend from {', '.join(BACKENDS)}")
    try:
        Version(keras_version)
        if backend_version:
            Version(backend_version)
    except InvalidVersion:
        raise UsageError(f"cell {text!r}: not a version number in it (expected {form})") from None
    if keras == "tf-keras" and backend != "tensorflow":
        raise UsageError(f"cell {text!r}: tf-keras (Keras 2) runs on tensorflow only")
    if not backend_version:
        if backend == "torch":
            backend_version = torch
        elif keras == "tf-keras":  # tf-keras's releases follow TensorFlow's minors
            backend_version = _tensorflow_of_minor(keras_version)
        else:
            tensorflow, jax, _ = era(keras_version if keras == "keras" else "99")
            backend_version = tensorflow if backend == "tensorflow" else jax
    return Cell(keras, keras_version, backend, backend_version)


def parse_cells(lines: Iterable[str], torch: str = DEFAULT_TORCH) -> list[Cell]:
    """Cells from lines (a --cells file): blank lines and '#' comments skipped, duplicates once."""
    cells = [parse_cell(line.split("#")[0], torch) for line in lines if line.split("#")[0].strip()]
    return list(dict.fromkeys(cells))


def last_patches(versions: Iterable[str]) -> list[str]:
    """Every Keras 3 minor's newest final release, oldest first."""
    from packaging.version import Version

    newest: dict[tuple[int, ...], Version] = {}
    for text in versions:
        version = Version(text)
        if version.release[0] == 3 and not version.is_prerelease:
            minor = version.release[:2]
            newest[minor] = max(newest.get(minor, version), version)
    return [str(newest[minor]) for minor in sorted(newest)]


def default_cells(keras_versions: Sequence[str], nightly: str | None, tf_keras_versions: Sequence[str],
                  torch: str = DEFAULT_TORCH) -> list[Cell]:
    """Every Keras 3 minor's last patch and the newest nightly on the three backends, and tf-keras
    for each TensorFlow release that has one (2.16 on: the ones that install Keras 3 beside it)."""
    releases = [f"keras=={version}" for version in last_patches(keras_versions)]
    releases += [f"keras-nightly=={nightly}"] if nightly else []
    cells = [parse_cell(f"{keras}/{backend}", torch) for backend in BACKENDS for keras in releases]
    newest_tf_keras: dict[tuple[int, ...], str] = {}
    for version in tf_keras_versions:
        if _release(version)[:2] >= (2, 16):
            minor = _release(version)[:2]
            newest_tf_keras[minor] = max(newest_tf_keras.get(minor, version), version, key=_release)
    cells += [parse_cell(f"tf-keras=={version}/tensorflow") for _, version in sorted(newest_tf_keras.items())]
    return cells


def ordered(cells: Iterable[Cell]) -> list[Cell]:
    """Cells by line, then oldest release first (a nightly after every release)."""
    from packaging.version import Version

    return sorted(cells, key=lambda c: (BACKENDS.index(c.backend), c.line, Version(c.keras_version), c.keras,
                                        Version(c.backend_version.split("+")[0])))


def neighbours(cells: Iterable[Cell]) -> dict[Cell, Cell | None]:
    """Each cell's predecessor: the next older cell of its line (None for a line's oldest)."""
    previous: dict[tuple[str, str], Cell] = {}
    paired = {}
    for cell in ordered(cells):
        paired[cell] = previous.get(cell.line)
        previous[cell.line] = cell
    return paired


# Package index ------------------------------------------------------------------------------------


def index_versions(package: str, pre: bool = False) -> list[str]:
    """Every version of `package` the package index lists, through pip (its configured index)."""
    command = [sys.executable, "-m", "pip", "index", "versions", package] + (["--pre"] if pre else [])
    done = subprocess.run(command, capture_output=True, text=True)
    for line in done.stdout.splitlines():
        if line.startswith("Available versions:"):
            return [version.strip() for version in line.partition(":")[2].split(",")]
    raise UsageError(f"`pip index versions {package}` listed nothing ({(done.stderr.strip() or 'no output')[-200:]}); "
                     "is the package index reachable?")


# Cell files ---------------------------------------------------------------------------------------


def cell_file(directory: str | os.PathLike, cell: Cell) -> Path:
    return Path(directory) / "cells" / f"{cell.id}.json"


def pending(cells: Sequence[Cell], directory: str | os.PathLike) -> list[Cell]:
    """The cells with no result file yet: what a resumed matrix runs (delete a file to rerun its cell)."""
    return [cell for cell in cells if not cell_file(directory, cell).exists()]


def write_json(path: Path, document: dict) -> None:
    """Atomically: the old file or the new one, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, prefix=f".{path.name}.", delete=False) as temporary:
        json.dump(document, temporary, indent=1, sort_keys=True)
        temporary.flush()
        os.fsync(temporary.fileno())
    os.replace(temporary.name, path)


def load_cell_documents(paths: Iterable[str | os.PathLike]) -> dict[Cell, dict]:
    """Cell files from files or directories (searched recursively), by cell."""
    documents = {}
    for given in paths:
        given = Path(given)
        files = sorted(given.rglob("*.json")) if given.is_dir() else [given]
        for file in files:
            try:
                document = json.loads(file.read_text())
            except (OSError, json.JSONDecodeError) as error:
                raise UsageError(f"{file}: not a readable cell file ({error})") from None
            if not isinstance(document, dict) or document.get("cell_schema_version") != CELL_SCHEMA_VERSION:
                continue  # another JSON file in an artifact directory
            documents[parse_cell(document["cell"])] = document
    if not documents:
        raise UsageError(f"no cell files (JSON with cell_schema_version {CELL_SCHEMA_VERSION}) in {', '.join(map(str, paths))}")
    return documents


# Inside a cell ------------------------------------------------------------------------------------


def run_inside_cell(framings: Sequence[str], seeds: tuple[int, ...] | None, path: str, progress=print) -> dict:
    """What `alphabench matrix cell` measures in this environment, as the cell file's body."""
    from alphabench import compat, verdict
    from alphabench.baseline import SCHEMA_VERSION
    from alphabench.contracts import CONTRACTS
    from alphabench.results import Baseline, BaselineEntry
    from alphabench.session import Session

    session = Session(seeds=seeds, path=path, baselines=tempfile.mkdtemp(prefix="alphabench-cell-"))
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
        expectations[name] = [[f.check, f.line] for f in verdict.failures_of(name, session.summary(name), [], path)]
        progress(f"{name}: trained in {time.perf_counter() - start:.0f}s")
    return {
        "keras_version": compat.keras.__version__,
        "environment": compat.ENVIRONMENT,
        "baseline": Baseline(compat.fingerprint(), None, entries).as_dict(SCHEMA_VERSION),
        "contracts": contracts,
        "expectations": expectations,
        "training_errors": errors,
    }


# Building and running cells -----------------------------------------------------------------------


def _uv() -> list[str]:
    found = shutil.which("uv")
    if found:
        return [found]
    import importlib.util

    if importlib.util.find_spec("uv") is None:  # pip install uv: the binary comes with its module
        raise UsageError("the matrix makes its environments with uv: pip install uv")
    return [sys.executable, "-m", "uv"]


def _run(command: Sequence[str], what: str, env: dict | None = None) -> None:
    done = subprocess.run(list(command), capture_output=True, text=True, env=env)
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()
        raise CellError(f"{what} failed: {' '.join(line.strip() for line in last[-3:])[-400:]}")


class CellError(Exception):
    """A cell could not be built or run: recorded in its file, the matrix goes on."""


def ensure_environment(cell: Cell, directory: Path, source: Path, find_links: Sequence[str] = ()) -> Path:
    """The cell's interpreter, its environment made (or reused: same requirements) under `directory`."""
    root = Path(directory).absolute() / "envs" / cell.id  # absolute: the cell runs in a scratch directory
    python = root / "bin" / "python"
    marker = root / "alphabench-cell.json"
    wanted = {"requirements": cell.requirements(), "source": str(source)}
    if python.exists() and marker.exists() and json.loads(marker.read_text()) == wanted:
        return python
    shutil.rmtree(root, ignore_errors=True)
    uv = _uv()
    links = [arg for link in find_links for arg in ("--find-links", link)]
    _run(uv + ["venv", "--quiet", "--python", PYTHON, str(root)], f"uv venv {root}")
    install = uv + ["pip", "install", "--quiet", "--python", str(python), *links]
    # alphabench's own needs inside a cell (its Keras and backend come from the cell's requirements).
    _run(install + cell.requirements() + ["packaging", "scipy"], f"installing {' '.join(cell.requirements())}")
    if cell.keras == "keras-nightly":
        # TensorFlow requires `keras`, so a release was installed beside the nightly into the same
        # module directory: remove it, then put the nightly's files back.
        _run(uv + ["pip", "uninstall", "--quiet", "--python", str(python), "keras"], "removing release keras")
        _run(install + ["--reinstall", "--no-deps", f"keras-nightly=={cell.keras_version}"], "reinstalling keras-nightly")
    _run(install + ["--no-deps", "-e", str(source)], "installing alphabench")
    marker.write_text(json.dumps(wanted))
    return python


def run_cell(cell: Cell, directory: Path, source: Path, framings: Sequence[str], seeds: str | None,
             find_links: Sequence[str] = (), log=print) -> dict:
    """Build (or reuse) the cell's environment, run `alphabench matrix cell` in it, write its file."""
    start = time.perf_counter()
    document = {"cell_schema_version": CELL_SCHEMA_VERSION, "cell": cell.text, "framings": list(framings)}
    try:
        python = ensure_environment(cell, directory, source, find_links)
        document["install_seconds"] = round(time.perf_counter() - start, 1)
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
            document.update(json.loads(out.read_text()))
    except CellError as error:
        document["error"] = str(error)
    document["seconds"] = round(time.perf_counter() - start, 1)
    write_json(cell_file(directory, cell), document)
    return document


def run_matrix(cells: Sequence[Cell], directory: Path, source: Path, framings: Sequence[str], seeds: str | None,
               find_links: Sequence[str] = (), log=print) -> None:
    """Run every cell that has no file yet, one at a time, with a progress line per cell."""
    todo = pending(cells, directory)
    log(f"{len(cells) - len(todo)} of {len(cells)} cells already done in {directory}; running {len(todo)}")
    for position, cell in enumerate(todo, start=1):
        log(f"[{position}/{len(todo)}] {cell.label} ...")
        document = run_cell(cell, directory, source, framings, seeds, find_links, log)
        outcome = f"ERROR: {document['error']}" if "error" in document else \
            f"{len(document['training_errors'])} training errors"
        log(f"[{position}/{len(todo)}] {cell.label}: done in {document['seconds']:.0f}s ({outcome})")


# Throughput A/B between neighbouring cells --------------------------------------------------------


def measure_throughput(python: Path, cell: Cell, framing: str, epochs: int) -> float:
    command = [str(python), "-m", "alphabench", "throughput", framing, "--epochs", str(epochs)]
    done = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **cell.environment_variables()})
    if done.returncode != 0:
        raise CellError(f"timing {framing} in {cell.label} failed: {(done.stderr.strip() or 'no output').splitlines()[-1]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["steps_per_second"]


def ab_file(directory: Path, before: Cell, after: Cell) -> Path:
    return directory / "ab" / f"{before.id}__{after.id}.json"


def run_ab(cells: Sequence[Cell], directory: Path, framing: str, epochs: int, rounds: int, log=print) -> None:
    """Throughput of each cell against its neighbour, in alternating rounds, for pairs that trained."""
    from alphabench import abtest

    for cell, before in neighbours(cells).items():
        if before is None or ab_file(directory, before, cell).exists():
            continue
        documents = [json.loads(cell_file(directory, c).read_text()) for c in (before, cell)]
        if any("error" in d or framing in d.get("training_errors", {}) for d in documents):
            continue
        pythons = [directory.absolute() / "envs" / c.id / "bin" / "python" for c in (before, cell)]
        log(f"A/B {framing}: {before.label} -> {cell.label}, {rounds} rounds ...")
        try:
            pairs = abtest.interleaved(lambda: measure_throughput(pythons[0], before, framing, epochs),
                                       lambda: measure_throughput(pythons[1], cell, framing, epochs), rounds)
        except CellError as error:
            log(f"  {error}")
            continue
        write_json(ab_file(directory, before, cell), {"before": before.text, "after": cell.text, "framing": framing,
                                                      "epochs": epochs, "pairs": pairs})


def load_ab(directory: Path) -> dict[tuple[Cell, Cell], dict]:
    found = {}
    for file in sorted((directory / "ab").glob("*.json")):
        document = json.loads(file.read_text())
        found[(parse_cell(document["before"]), parse_cell(document["after"]))] = document
    return found


# Judging ------------------------------------------------------------------------------------------

PASS, REGRESSION, EXPECTED, ERROR, UNEXPECTED_PASS = "pass", "regression", "expected deviation", "error", "unexpected pass"
OUTCOMES = (PASS, EXPECTED, UNEXPECTED_PASS, REGRESSION, ERROR)


@dataclass(frozen=True)
class Outcome:
    status: str  # one of OUTCOMES
    lines: tuple[str, ...] = ()


def _seed_results(key: str, entry, fingerprint) -> list:
    """A baseline entry's seeds as the gate's per-seed results (what the cell trained)."""
    from alphabench.results import SeedResult, entry_framing

    return [
        SeedResult(framing=entry_framing(key), path=entry.path, seed=seed, settings=entry.settings, accuracy=accuracy,
                   epochs_to_100=epochs, loss_history=() if loss is None else (loss,), accuracy_history=(),
                   probes=probes, replicas=len(entry.seeds), train_seconds=0.0,
                   steps_per_second=entry.steps_per_second, environment=fingerprint)
        for seed, accuracy, epochs, probes, loss in zip(entry.seeds, entry.accuracy, entry.epochs_to_100,
                                                          entry.probes, entry.final_loss)
    ]


def _regressions(document: dict, key: str, against, against_name: str) -> list[str]:
    """The gate's regression lines for one entry of a cell against another baseline (throughput aside)."""
    from alphabench import gate
    from alphabench.data import sample_count
    from alphabench.framings import get_framing
    from alphabench.results import Baseline, entry_framing

    mine = Baseline.from_dict(document["baseline"])
    if against is None or key not in against.framings:
        return []
    results = {key: _seed_results(key, mine.framings[key], mine.environment)}
    # No calibration: throughput is judged A/B between neighbouring cells, never from stored figures.
    findings = gate.compare_all(against, results, None, {key: sample_count(get_framing(entry_framing(key)))})
    return [f"vs {against_name}: {f.line()}" for f in findings if f.kind == "regression"]


def judge_cell(document: dict, neighbour: dict | None, reference, reference_name: str) -> dict[str, Outcome]:
    """Every framing's and contract's outcome in one cell (alphabench.verdict decides)."""
    from alphabench import verdict
    from alphabench.deviations import known_deviation
    from alphabench.results import Baseline

    subjects = list(document["framings"])
    if "error" in document:
        return {subject: Outcome(ERROR, (document["error"],)) for subject in subjects}
    cell = parse_cell(document["cell"])
    if document["keras_version"] != cell.keras_version:
        line = f"asked for {cell.keras} {cell.keras_version}, but the cell imported Keras {document['keras_version']}"
        return {subject: Outcome(ERROR, (line,)) for subject in subjects}
    environment, keras_version = document["environment"], document["keras_version"]
    neighbour_baseline = Baseline.from_dict(neighbour["baseline"]) if neighbour and "baseline" in neighbour else None
    neighbour_name = f"{parse_cell(neighbour['cell']).label}" if neighbour else ""
    outcomes = {}
    for name, seen in document["contracts"].items():
        failures = [verdict.Failure("contract", seen, name)] if seen else []
        expected = {"contract": known_deviation(environment, name, "contract", keras_version)}
        outcomes[f"contract {name}"] = _outcome(verdict.judge(name, failures, expected))
    for name in subjects:
        expected = {check: known_deviation(environment, name, check, keras_version)
                    for check in ("training", "accuracy", "probes", "baseline")}
        if name in document["training_errors"]:
            line = f"{name}: training failed ({document['training_errors'][name]})"
            judged = verdict.judge(name, [verdict.Failure("training", line, "training")], expected)
            outcomes[name] = _outcome(judged, training_failed=True)
            continue
        failures = [verdict.Failure(check, line, "expectation") for check, line in document["expectations"].get(name, [])]
        failures += [verdict.Failure("baseline", line, "neighbour")
                     for line in _regressions(document, name, neighbour_baseline, neighbour_name)]
        failures += [verdict.Failure("baseline", line, "reference")
                     for line in _regressions(document, name, reference, reference_name)]
        outcomes[name] = _outcome(verdict.judge(name, failures, expected))
    return outcomes


def _outcome(judged, training_failed: bool = False) -> Outcome:
    from alphabench import verdict

    lines = tuple(judged.lines())
    if judged.status == verdict.FAIL:
        return Outcome(ERROR if training_failed else REGRESSION, lines)
    if judged.status == verdict.UNEXPECTED_PASS:
        return Outcome(UNEXPECTED_PASS, (f"recorded as failing ({', '.join(judged.unexpected_passes)}), but passed",))
    if judged.status == verdict.EXPECTED_FAILURE:
        return Outcome(EXPECTED, lines)
    return Outcome(PASS)


def reference_baselines(directory: str | os.PathLike) -> dict[str, object]:
    """The committed baselines by environment (baselines/<environment>.json)."""
    from alphabench import baseline

    return {path.stem: baseline.load(path) for path in sorted(Path(directory).glob("*.json"))}


def judge_all(documents: dict[Cell, dict], references: dict) -> dict[Cell, dict[str, Outcome]]:
    paired = neighbours(documents)
    judged = {}
    for cell in ordered(documents):
        document, before = documents[cell], paired[cell]
        reference = references.get(document.get("environment", ""))
        name = (f"the committed baseline ({document.get('environment')}, Keras "
                f"{reference.environment.keras_version})") if reference else ""
        judged[cell] = judge_cell(document, documents[before] if before else None, reference, name)
    return judged


# Rendering ----------------------------------------------------------------------------------------

SYMBOLS = {PASS: "ok", EXPECTED: "expected", UNEXPECTED_PASS: "UNEXPECTED PASS", REGRESSION: "REGRESSION",
           ERROR: "ERROR"}


def ab_line(document: dict) -> tuple[bool, str]:
    """(slower, line) of one A/B throughput comparison."""
    from alphabench import abtest

    comparison = abtest.Comparison(tuple(tuple(pair) for pair in document["pairs"]))
    before, after = parse_cell(document["before"]).label, parse_cell(document["after"]).label
    return comparison.slower, f"{document['framing']} throughput: {comparison.line(before, after)}"


def markdown(judged: dict[Cell, dict[str, Outcome]], documents: dict[Cell, dict],
             ab: dict[tuple[Cell, Cell], dict]) -> str:
    """One row per cell, one column per framing and contract, then every non-pass cell's lines."""
    subjects = list(dict.fromkeys(subject for outcomes in judged.values() for subject in outcomes))
    paired = neighbours(judged)
    header = ["cell", *subjects, "throughput vs previous", "minutes"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    findings = []
    for cell, outcomes in judged.items():
        comparison = ab.get((paired[cell], cell)) if paired[cell] else None
        if comparison is None:
            throughput = "-" if paired[cell] is None else "not measured"
        else:
            slower, line = ab_line(comparison)
            ratio = line.split(" trains at ")[1].split("x")[0]
            throughput = f"{'**SLOWER** ' if slower else ''}{ratio}x"
            if slower:
                findings.append(f"- {cell.label}: REGRESSION {line}")
        cells = [SYMBOLS[outcomes[s].status] if s in outcomes else "" for s in subjects]
        minutes = f"{documents[cell].get('seconds', 0) / 60:.1f}"
        lines.append(f"| {cell.label} | " + " | ".join(cells) + f" | {throughput} | {minutes} |")
        for subject, outcome in outcomes.items():
            for line in outcome.lines:
                findings.append(f"- {cell.label}, {subject} ({outcome.status}): {line}")
    return "\n".join(lines + ["", f"Findings ({len(findings)}):", ""] + (findings or ["none"])) + "\n"


def heatmap(judged: dict[Cell, dict[str, Outcome]], path: str | os.PathLike) -> None:
    """Framing (and contract) x cell, coloured by outcome."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    cells = list(judged)
    subjects = list(dict.fromkeys(subject for outcomes in judged.values() for subject in outcomes))
    colours = {PASS: "#4caf50", EXPECTED: "#9e9e9e", UNEXPECTED_PASS: "#2196f3", REGRESSION: "#e53935",
               ERROR: "#ff9800"}
    grid = [[OUTCOMES.index(judged[c][s].status) if s in judged[c] else -1 for c in cells] for s in subjects]
    import numpy as np

    masked = np.ma.masked_less(np.array(grid, dtype=float), 0)
    figure, axes = plt.subplots(figsize=(1.0 + 0.45 * len(cells), 1.5 + 0.3 * len(subjects)))
    axes.imshow(masked, cmap=ListedColormap([colours[o] for o in OUTCOMES]), vmin=0, vmax=len(OUTCOMES) - 1,
                aspect="auto")
    axes.set_xticks(range(len(cells)), [c.label.replace(" / ", "\n") for c in cells], rotation=90, fontsize=7)
    axes.set_yticks(range(len(subjects)), subjects, fontsize=7)
    axes.legend(handles=[Patch(color=colours[o], label=o) for o in OUTCOMES], loc="upper left",
                bbox_to_anchor=(1.01, 1), fontsize=7)
    axes.set_title("alphabench across Keras releases and backends", fontsize=9)
    figure.savefig(path, dpi=90, bbox_inches="tight")
    plt.close(figure)


def report(documents: dict[Cell, dict], references: dict, ab: dict, out: Path) -> str:
    """Judge, then write matrix.md and matrix.png to `out`; the Markdown is returned too."""
    judged = judge_all(documents, references)
    text = markdown(judged, documents, ab)
    out.mkdir(parents=True, exist_ok=True)
    (out / "matrix.md").write_text(text)
    heatmap(judged, out / "matrix.png")
    return text


# Bisect -------------------------------------------------------------------------------------------


def first_bad(versions: Sequence[str], is_bad: Callable[[str], bool]) -> tuple[str, list[str]]:
    """The first bad version, given versions[0] good and versions[-1] bad; and the versions probed.

    Binary search: each probe halves the range between the last good and the first bad known.
    """
    good, bad = 0, len(versions) - 1
    probed = []
    while bad - good > 1:
        middle = (good + bad) // 2
        probed.append(versions[middle])
        if is_bad(versions[middle]):
            bad = middle
        else:
            good = middle
    return versions[bad], probed


def between(versions: Iterable[str], good: str, bad: str) -> list[str]:
    """Final releases from `good` to `bad`, both included, oldest first."""
    from packaging.version import Version

    low, high = Version(good), Version(bad)
    if not low < high:
        raise UsageError(f"GOOD ({good}) must be an older release than BAD ({bad})")
    chosen = sorted({Version(v) for v in versions if low <= Version(v) <= high and not Version(v).is_prerelease})
    return [str(v) for v in chosen]


# CLI ----------------------------------------------------------------------------------------------


def add_commands(commands) -> None:
    """`alphabench matrix [run|merge|cell]` and `alphabench bisect`, on the CLI's subparsers."""
    from alphabench import options

    matrix = commands.add_parser("matrix", help="the suite across Keras releases x backends, one virtual "
                                 "environment per cell (run, merge CI jobs' cells)")
    actions = matrix.add_subparsers(required=True, metavar="ACTION")
    run = actions.add_parser("run", help="run the cells that have no result yet, then judge and render them")
    run.add_argument("cells", nargs="*", metavar="CELL",
                     help="cells like keras==3.0.5/tensorflow==2.16.2, keras-nightly==V/jax, tf-keras==2.16.0/tensorflow "
                     "(default: every Keras 3 minor's last patch and the newest nightly x the three backends, and tf-keras)")
    _add_cell_options(run)
    run.add_argument("--ab-rounds", type=int, default=8, metavar="N",
                     help="alternating throughput rounds between neighbouring cells (default 8; 0: none)")
    run.add_argument("--ab-framing", type=options.framing_name, default="one_char", metavar="FRAMING")
    run.add_argument("--ab-epochs", type=options.positive_int, default=30, metavar="N")
    run.set_defaults(command=_run_command)
    merge = actions.add_parser("merge", help="judge and render cell files made elsewhere (e.g. CI jobs' artifacts)")
    merge.add_argument("paths", nargs="+", metavar="DIR", help="cell JSON files, or directories holding them")
    merge.add_argument("--out", default=".", metavar="DIR", help="where matrix.md and matrix.png go (default: .)")
    options.add_baseline_option(merge.add_argument)
    merge.set_defaults(command=_merge_command)
    cell = actions.add_parser("cell", help="(run inside a cell's environment by `matrix run`) measure this "
                              "environment and write its cell file")
    cell.add_argument("framings", nargs="*", type=options.framing_name, metavar="FRAMING")
    cell.add_argument("--out", required=True, metavar="FILE")
    cell.add_argument("--seeds", type=options.seed_list, default=None, metavar="SEEDS")
    cell.set_defaults(command=_cell_command)

    bisect = commands.add_parser("bisect", help="find the first Keras release between GOOD and BAD where a framing "
                                 "fails, one matrix cell per probe")
    bisect.add_argument("good", metavar="GOOD", help="a Keras release where the framing passes, e.g. 3.2.1")
    bisect.add_argument("bad", metavar="BAD", help="a later release where it fails")
    bisect.add_argument("--framing", type=options.framing_name, required=True)
    bisect.add_argument("--backend", choices=BACKENDS, default="tensorflow")
    bisect.add_argument("--backend-version", metavar="V", help="hold the backend at this version "
                        "(default: each probed release's era's, see ERA)")
    _add_cell_options(bisect, framings=False)
    bisect.set_defaults(command=_bisect_command)


def _add_cell_options(parser, framings: bool = True) -> None:
    from alphabench import options

    if framings:
        parser.add_argument("--framings", type=lambda t: tuple(options.framing_name(n) for n in t.split(",")),
                            default=DEFAULT_FRAMINGS, metavar="A,B", help=f"default: {','.join(DEFAULT_FRAMINGS)}")
    parser.add_argument("--seeds", default=None, metavar="SEEDS", help="default: each framing's own")
    parser.add_argument("--dir", default=".matrix", metavar="DIR",
                        help="environments (envs/), cell files (cells/), A/B files (ab/), matrix.md/png (default: .matrix)")
    parser.add_argument("--cells-file", metavar="FILE", help="read cells from FILE, one a line")
    parser.add_argument("--torch", default=DEFAULT_TORCH, metavar="V", help=f"torch cells' version (default {DEFAULT_TORCH})")
    parser.add_argument("--find-links", action="append", default=[], metavar="DIR",
                        help="extra wheels for uv (e.g. a directory holding torch's CPU wheel)")
    options.add_baseline_option(parser.add_argument)


def _source() -> Path:
    return Path(__file__).resolve().parent.parent


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _chosen_cells(args) -> list[Cell]:
    if args.cells_file:
        return ordered(parse_cells(Path(args.cells_file).read_text().splitlines(), args.torch))
    if args.cells:
        return ordered(parse_cells(args.cells, args.torch))
    nightlies = index_versions("keras-nightly", pre=True)  # newest first, as pip lists them
    return ordered(default_cells(index_versions("keras"), nightlies[0] if nightlies else None,
                                 index_versions("tf-keras"), args.torch))


def _run_command(args) -> int:
    directory = Path(args.dir)
    cells = _chosen_cells(args)
    start = time.perf_counter()
    run_matrix(cells, directory, _source(), args.framings, args.seeds, args.find_links, _log)
    if args.ab_rounds:
        run_ab(cells, directory, args.ab_framing, args.ab_epochs, args.ab_rounds, _log)
    documents = load_cell_documents([cell_file(directory, cell) for cell in cells])
    print(report(documents, reference_baselines(args.baselines), load_ab(directory), directory), end="")
    _log(f"matrix: {len(cells)} cells in {(time.perf_counter() - start) / 60:.1f} min this run; "
         f"{directory / 'matrix.md'}, {directory / 'matrix.png'}")
    return 0


def _merge_command(args) -> int:
    documents = load_cell_documents(args.paths)
    # Cells from separate jobs ran on separate machines: their throughputs are not compared.
    print(report(documents, reference_baselines(args.baselines), {}, Path(args.out)), end="")
    return 0


def _cell_command(args) -> int:
    framings = list(dict.fromkeys(args.framings)) or list(DEFAULT_FRAMINGS)
    body = run_inside_cell(framings, args.seeds, "fast", lambda line: _log(f"cell: {line}"))
    write_json(Path(args.out), body)
    return 0


def _bisect_command(args) -> int:
    directory = Path(args.dir)
    versions = between(index_versions("keras"), args.good, args.bad)
    if len(versions) < 2:
        raise UsageError(f"the index lists no releases from {args.good} to {args.bad}")
    references = reference_baselines(args.baselines)
    judged_by_version: dict[str, Outcome] = {}

    def outcome(version: str) -> Outcome:
        if version not in judged_by_version:
            backend = f"{args.backend}=={args.backend_version}" if args.backend_version else args.backend
            cell = parse_cell(f"keras=={version}/{backend}", args.torch)
            path = cell_file(directory, cell)
            if not path.exists():
                _log(f"probing {cell.label} ...")
                run_cell(cell, directory, _source(), (args.framing,), args.seeds, args.find_links, _log)
            document = json.loads(path.read_text())
            reference = references.get(document.get("environment", ""))
            judged = judge_cell({**document, "framings": [args.framing]}, None, reference, "the committed baseline")
            judged_by_version[version] = judged[args.framing]
            _log(f"  Keras {version}: {judged_by_version[version].status}")
        return judged_by_version[version]

    for version, must_fail in ((versions[0], False), (versions[-1], True)):
        if (outcome(version).status not in (PASS, EXPECTED)) != must_fail:
            raise UsageError(f"{args.framing} {'passes' if must_fail else 'fails'} on Keras {version}: "
                             f"bisect needs GOOD passing and BAD failing")
    first, probed = first_bad(versions, lambda v: outcome(v).status not in (PASS, EXPECTED))
    print(f"{args.framing} on {args.backend}: first failing release Keras {first} "
          f"({len(probed)} probes between {versions[0]} and {versions[-1]}, {len(versions)} releases: "
          f"{', '.join(probed) or 'none'})")
    for line in outcome(first).lines:
        print(f"  {line}")
    return 0
