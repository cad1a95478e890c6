"""The baseline store: what each framing did last time, one JSON file per environment.

Rules:
- One file per environment, `<dir>/<environment>.json` (e.g. baselines/keras3-tensorflow.json),
  holding the environment's fingerprint, the CPU calibration time of the machine that made it and,
  per framing, the per-seed accuracy, epochs to 100%, probe outcomes, the median training curves and
  the throughput.
- Files carry a schema version. An older file is read, migrated in memory (fields it lacked are
  unknown), and `alphabench baseline upgrade FILE` rewrites it so; a newer one is refused outright
  (upgrade alphabench).
- Every problem in a file is reported on one line naming the file and the field, with what to do.
- Writes are atomic and deterministic (alphabench.atomic: temp file, fsync, rename, sorted keys), so
  a baseline is either the old file or the new one, and re-running an update changes no bytes.
- A file that cannot be read is never overwritten: the advice (alphabench.advice) is to restore it
  from git where git holds it, or to set it aside and rebuild every entry it held. The directory
  is checked (check_directory) and its writability too before any training.
- `update` keeps the framings it is not given, never overwrites a file it cannot read, and says in
  one line per framing what changed. It refuses a partial update across environments, which would
  label the untouched framings with an environment they did not run in.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from alphabench import atomic
from alphabench.advice import UPGRADE_ALPHABENCH, repair, update_command
from alphabench.errors import BaselineError
from alphabench.framings import FRAMINGS, TRAINING_PATHS
from alphabench.results import (
    CURVE_POINTS,
    Baseline,
    BaselineEntry,
    CurveBand,
    Fingerprint,
    SeedResult,
    describe_change,
    entry_framing,
    entry_key,
)

SCHEMA_VERSION = 3
_SETTINGS_TYPES = {"units": int, "epochs": int, "batch_size": int, "shuffle": bool, "stateful": bool}


def baseline_path(directory: str | os.PathLike, environment: str) -> Path:
    return Path(directory) / f"{environment}.json"


def load(path: str | os.PathLike) -> Baseline:
    """The validated baseline at `path`, older schemas migrated in memory; BaselineError for any problem."""
    return from_document(_read_json(path), str(path))


def from_document(document, name: str, advice: str | None = None) -> Baseline:
    """A baseline held in another document (a matrix cell's file: `name`), migrated and validated as
    `load` does; `advice`: what to do about a bad one (default: a baseline file's advice)."""
    document = _migrate(document, name)
    validate(document, name, advice)
    return Baseline.from_dict(document)


def _migrate(document, name: str):
    """`document` in the current schema, one version at a time; nothing in it is lost.

    Schema 1 lacked the fingerprint's CPU signature, ISA flags, package versions and threads, and
    the per-seed final loss: they become null (unknown), so the gate never trusts such a baseline
    for exact reproduction. Schema 2 lacked the seeds' curve bands (loss_band, accuracy_band): null,
    and the report draws the baseline's median alone."""
    if not isinstance(document, dict) or document.get("schema_version") not in (1, 2):
        return document
    environment = document.get("environment")
    framings = document.get("framings")
    if not isinstance(environment, dict) or not isinstance(framings, dict):
        return document  # validate() names the broken field
    if document["schema_version"] == 1:
        environment = {**{key: None for key in _ADDED_IN_2}, **environment}
        framings = {
            key: {"final_loss": [None] * len(entry.get("seeds", [])), **entry} if isinstance(entry, dict) else entry
            for key, entry in framings.items()
        }
    framings = {key: {"loss_band": None, "accuracy_band": None, **entry} if isinstance(entry, dict) else entry
                for key, entry in framings.items()}
    return {**document, "schema_version": 3, "environment": environment, "framings": framings}


_ADDED_IN_2 = ("cpu_vendor", "cpu_signature", "cpu_flags", "packages", "threads")


def _read_json(path: str | os.PathLike):
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        create = update_command(str(Path(path).parent), environment=Path(path).stem)
        raise BaselineError(f"{path}: does not exist; create it with `{create}`") from None
    except OSError as error:
        raise BaselineError(f"{path}: cannot be read ({error.strerror})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise BaselineError(
            f"{path}: not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}); "
            f"{repair(path, text=text)}"
        ) from None


def save(path: str | os.PathLike, document: Baseline) -> None:
    """Write `document` to `path` atomically: the old file or the new, never half."""
    _write_json(Path(path), document.as_dict(SCHEMA_VERSION))


def _write_json(path: Path, document: dict) -> None:
    """Validated first: an invalid baseline is never written."""
    validate(document, str(path))
    atomic.write_json(path, document)


def check_directory(directory: str | os.PathLike, create: str | None = None) -> None:
    """BaselineError now for a baselines path that is a file, or that does not exist where nothing
    will create it (`create`: the command that would), rather than a "baseline missing" after training."""
    directory = Path(directory)
    if directory.is_dir():
        return
    if directory.exists():
        raise BaselineError(f"{directory}: is a file, not a directory of baselines; name the directory "
                            "that holds the <environment>.json files")
    if create:
        raise BaselineError(f"{directory}: no such directory, so no baseline to compare with; "
                            f"create it with `{create}`")


def check_writable(path: str | os.PathLike) -> None:
    """BaselineError now if the baseline file `path` could not be written later, after the training."""
    directory = Path(path).parent
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory):
            pass
    except OSError as error:
        raise BaselineError(
            f"{directory}: baselines cannot be written there ({error.strerror}); make it writable or name "
            "another directory (--baselines DIR, in pytest --alphabench-baselines DIR)"
        ) from None


def upgrade(path: str | os.PathLike) -> None:
    """Rewrite `path` in the current schema (from schema 1 or 2: the fields it lacked as unknown)."""
    document = _read_json(path)
    version = document.get("schema_version") if isinstance(document, dict) else None
    if _is_int(version) and version > SCHEMA_VERSION:
        _check_schema_version(document, str(path))  # a newer alphabench's file: upgrade alphabench instead
    if version not in range(1, SCHEMA_VERSION + 1):
        raise BaselineError(
            f"{path}: schema_version: {version!r} has no upgrade to {SCHEMA_VERSION} in this alphabench; "
            f"{repair(path, document)}"
        )
    _write_json(Path(path), _migrate(document, str(path)))


def update_plan(
    document: Baseline | None, path: str, seeds: tuple[int, ...] | None, named: Sequence[str]
) -> dict[tuple[str, tuple[int, ...] | None], list[str]]:
    """What `alphabench baseline update` trains: {(path, seeds): framings}; seeds None: the framing's own.

    Named framings train on `path` and on `seeds`, or else on the seeds their entry holds (so naming a
    framing does not shrink its calibration seeds to the default), or else on their own. Naming none updates the whole file as it stands: every
    entry is retrained on its own path and, unless `seeds` says otherwise, on the seeds it holds (the
    calibration's 1-9, the reference path's 1), so a new machine or a new Keras takes one command;
    framings with no entry on `path` yet train there on `seeds`.
    """
    if not document:
        return {(path, seeds): list(named or FRAMINGS)}
    plan: dict[tuple[str, tuple[int, ...] | None], list[str]] = {}
    if named:
        for name in named:
            entry = document.framings.get(entry_key(name, path))
            plan.setdefault((path, seeds or (entry.seeds if entry else None)), []).append(name)
        return plan
    for key, entry in document.framings.items():
        plan.setdefault((entry.path, seeds or entry.seeds), []).append(entry_framing(key))
    held = {entry_framing(key) for key, entry in document.framings.items() if entry.path == path}
    missing = [name for name in FRAMINGS if name not in held]
    if missing:
        plan.setdefault((path, seeds), []).extend(missing)
    return plan


def add_missing(
    path: str | os.PathLike,
    results_by_key: dict[str, Sequence[SeedResult]],
    calibration_seconds: float | None,
    environment: Fingerprint,
) -> list[str]:
    """Add the entries of `results_by_key` that `path` lacks (creating the file if need be); one line each.

    Locked: under `pytest -n` several workers add their framings to one file at once.
    """
    path = Path(path)
    with _directory_locked(path.parent):
        held = load(path).framings if path.exists() else {}
        missing = {key: results for key, results in results_by_key.items() if key not in held}
        return update(path, missing, calibration_seconds, environment) if missing else []


@contextlib.contextmanager
def _directory_locked(directory: Path):
    """An exclusive lock on `directory` (flock on its descriptor: no lock file is left behind)."""
    try:
        import fcntl
    except ImportError:  # Windows: no flock; concurrent writers there must not share a baselines directory
        yield
        return
    directory.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        os.close(descriptor)  # releases the lock


def check_update(path: str | os.PathLike, keys: Sequence[str], environment: Fingerprint) -> list[str]:
    """The environment's changes if updating the entries `keys` of `path` is allowed, else BaselineError.

    Cheap, so callers run it before any training: an entry left as it is in a changed environment
    would claim an environment it did not run in.
    """
    path = Path(path)
    if not path.exists():
        return []
    old = load(path)  # a corrupt file raises here rather than being lost
    differences = old.environment.differences(environment)
    untouched = sorted(set(old.framings) - set(keys))
    if differences and untouched:
        raise BaselineError(
            f"{path}: environment: changed ({', '.join(differences)}) but {', '.join(untouched)} would not be "
            f"retrained; their baselines would claim an environment they did not run in: run "
            f"`{update_command(str(path.parent))}` (naming no framing: it retrains every entry of the file)"
        )
    return differences


def update(
    path: str | os.PathLike,
    results_by_key: dict[str, Sequence[SeedResult]],
    calibration_seconds: float | None,
    environment: Fingerprint,
) -> list[str]:
    """Replace or add the given entries' baselines in `path`, keep the rest; one line per change."""
    path = Path(path)
    differences = check_update(path, list(results_by_key), environment)
    old_framings = load(path).framings if path.exists() else {}
    changes = [f"environment: {', '.join(differences)}"] if differences else []
    new_framings = dict(old_framings)
    for key, results in results_by_key.items():
        if results[0].key != key:
            raise ValueError(f"results given for {key} are of {results[0].key}")
        new_framings[key] = BaselineEntry.from_results(results, calibration_seconds)
        changes.append(f"{key}: {describe_change(old_framings.get(key), new_framings[key])}")
    save(path, Baseline(environment, calibration_seconds, new_framings))
    return changes


# Validation ---------------------------------------------------------------------------------------


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_probe_outcomes(value) -> bool:
    return isinstance(value, dict) and all(isinstance(v, (str, bool)) for v in value.values())


_FINGERPRINT_CHECKS: dict[str, tuple[Callable[[object], bool], str]] = {
    **{
        key: (lambda v: isinstance(v, str), "expected a string")
        for key in ("environment", "keras_flavour", "keras_version", "backend", "backend_version", "python",
                    "numpy", "cpu", "platform")
    },
    "cpu_count": (lambda v: v is None or _is_int(v), "expected an integer or null"),
    # Unknown (null) in a baseline made by an older alphabench.
    **{
        key: (lambda v: v is None or isinstance(v, str), "expected a string or null")
        for key in ("cpu_vendor", "cpu_signature", "threads")
    },
    "cpu_flags": (lambda v: v is None or (isinstance(v, list) and all(isinstance(f, str) for f in v)),
                  "expected a list of strings or null"),
    "packages": (lambda v: v is None or (isinstance(v, dict) and all(isinstance(x, str) for x in v.values())),
                 "expected an object of version strings or null"),
}
_FRAMING_CHECKS: dict[str, tuple[Callable[[object], bool], str]] = {
    "path": (lambda v: v in TRAINING_PATHS, f"expected one of {', '.join(TRAINING_PATHS)}"),
    "steps_per_second": (lambda v: _is_number(v) and v >= 0, "expected a number >= 0"),
    "normalised_throughput": (lambda v: v is None or (_is_number(v) and v >= 0), "expected a number >= 0 or null"),
    **{
        curve: (
            lambda v: isinstance(v, list) and len(v) <= CURVE_POINTS and all(_is_number(x) for x in v),
            f"expected a list of at most {CURVE_POINTS} numbers",
        )
        for curve in ("loss_curve", "accuracy_curve")
    },
    **{
        band: (
            lambda v: v is None or (isinstance(v, dict) and set(v) == set(CurveBand.FIELDS) and all(
                isinstance(c, list) and len(c) <= CURVE_POINTS and all(_is_number(x) for x in c) for c in v.values())),
            f"expected null or an object of {', '.join(CurveBand.FIELDS)}, each a list of at most {CURVE_POINTS} "
            "numbers",
        )
        for band in ("loss_band", "accuracy_band")
    },
}
# Per-seed lists: the check applies to each element; the list must have one element per seed.
_PER_SEED_CHECKS: dict[str, tuple[Callable[[object], bool], str]] = {
    "accuracy": (lambda v: _is_number(v) and 0 <= v <= 1, "expected a list of numbers from 0 to 1, one per seed"),
    "epochs_to_100": (
        lambda v: v is None or (_is_int(v) and v > 0),
        "expected a list of epochs (integers) or nulls, one per seed",
    ),
    "probes": (_is_probe_outcomes, "expected a list of objects of probe outcomes (strings or booleans), one per seed"),
    "final_loss": (lambda v: v is None or (_is_number(v) and math.isfinite(v) and v >= 0),
                   "expected a list of losses (finite numbers >= 0) or nulls, one per seed"),
}


def validate(document, name: str, advice: str | None = None) -> None:
    """Raise BaselineError naming `name` and the first bad field, if `document` is not a valid baseline."""

    def fail(field: str, problem: str) -> BaselineError:
        return BaselineError(f"{name}: {field}: {problem}; {advice or repair(name, document)}")

    def require(container: dict, key: str, field: str):
        if key not in container:
            raise fail(field, "missing")
        return container[key]

    if not isinstance(document, dict):
        raise fail("(top level)", "expected a JSON object")
    _check_schema_version(document, name, advice)
    environment = require(document, "environment", "environment")
    if not isinstance(environment, dict):
        raise fail("environment", "expected an object (the environment fingerprint)")
    for key, (check, expected) in _FINGERPRINT_CHECKS.items():
        if not check(require(environment, key, f"environment.{key}")):
            raise fail(f"environment.{key}", expected)
    calibration = require(document, "calibration_seconds", "calibration_seconds")
    if not (calibration is None or (_is_number(calibration) and calibration > 0)):
        raise fail("calibration_seconds", "expected a number of seconds > 0, or null")
    framings = require(document, "framings", "framings")
    if not isinstance(framings, dict):
        raise fail("framings", "expected an object mapping framing names to baselines")
    for framing, entry in framings.items():
        prefix = f"framings.{framing}"
        if not isinstance(entry, dict):
            raise fail(prefix, "expected an object")
        for key, (check, expected) in _FRAMING_CHECKS.items():
            if not check(require(entry, key, f"{prefix}.{key}")):
                raise fail(f"{prefix}.{key}", expected)
        settings = require(entry, "settings", f"{prefix}.settings")
        if not isinstance(settings, dict):
            raise fail(f"{prefix}.settings", "expected an object")
        for key, kind in _SETTINGS_TYPES.items():
            value = require(settings, key, f"{prefix}.settings.{key}")
            if kind is bool and not isinstance(value, bool):
                raise fail(f"{prefix}.settings.{key}", "expected true or false")
            if kind is int and not (_is_int(value) and value > 0):
                raise fail(f"{prefix}.settings.{key}", "expected a positive integer")
        seeds = require(entry, "seeds", f"{prefix}.seeds")
        if not (isinstance(seeds, list) and seeds and all(_is_int(s) for s in seeds) and len(set(seeds)) == len(seeds)):
            raise fail(f"{prefix}.seeds", "expected a non-empty list of distinct integers")
        for key, (check, expected) in _PER_SEED_CHECKS.items():
            values = require(entry, key, f"{prefix}.{key}")
            if not (isinstance(values, list) and all(check(v) for v in values)):
                raise fail(f"{prefix}.{key}", expected)
            if len(values) != len(seeds):
                raise fail(f"{prefix}.{key}", f"{expected}: got {len(values)} values for {len(seeds)} seeds")


def _check_schema_version(document: dict, name: str, advice: str | None = None) -> None:
    version = document.get("schema_version")
    if _is_int(version) and version > SCHEMA_VERSION:  # nothing to repair: this alphabench is too old
        raise BaselineError(
            f"{name}: schema_version: {version} was made by a newer alphabench (this one reads "
            f"{SCHEMA_VERSION}); upgrade alphabench (`{UPGRADE_ALPHABENCH}`)"
        )
    if not _is_int(version):
        raise BaselineError(f"{name}: schema_version: missing or not an integer; {advice or repair(name, document)}")
    if version < SCHEMA_VERSION:  # load() has migrated every version it can
        raise BaselineError(
            f"{name}: schema_version: {version} is older than any this alphabench reads (1-{SCHEMA_VERSION}); "
            f"{advice or repair(name, document)}"
        )
