"""The baseline store: what each framing did last time, one JSON file per environment.

Rules:
- One file per environment, `<dir>/<environment>.json` (e.g. baselines/keras3-tensorflow.json),
  holding the environment's fingerprint, the CPU calibration time of the machine that made it and,
  per framing, the per-seed accuracy, epochs to 100%, probe outcomes, the median training curves and
  the throughput.
- Files carry a schema version. An older file is refused with the command that upgrades it
  (`alphabench baseline upgrade FILE`); a newer one is refused outright (upgrade alphabench).
- Every problem in a file is reported on one line naming the file and the field, with what to do.
- Writes are atomic (temp file in the same directory, fsync, rename) and deterministic (sorted keys),
  so a baseline is either the old file or the new one, and re-running an update changes no bytes.
- `update` keeps the framings it is not given, never overwrites a file it cannot read, and says in
  one line per framing what changed. It refuses a partial update across environments, which would
  label the untouched framings with an environment they did not run in.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from alphabench.framings import FRAMINGS, TRAINING_PATHS

SCHEMA_VERSION = 1
UPDATE_COMMAND = "alphabench baseline update"
CURVE_POINTS = 100  # enough to see a curve's shape, few enough to keep diffs of the file readable
# The fingerprint fields that decide whether two runs can be expected to agree bit for bit.
COMPARED_ENVIRONMENT_KEYS = (
    "keras_flavour",
    "keras_version",
    "backend",
    "backend_version",
    "python",
    "numpy",
    "cpu",
)
_SETTINGS_TYPES = {"units": int, "epochs": int, "batch_size": int, "shuffle": bool, "stateful": bool}
_REGENERATE = f"fix it, restore it from git or regenerate it with `{UPDATE_COMMAND}`"


class BaselineError(Exception):
    """A baseline file cannot be used; the one-line message names the file, the field and the fix."""


def baseline_path(directory: str | os.PathLike, environment: str) -> Path:
    return Path(directory) / f"{environment}.json"


def describe_seeds(seeds: Sequence[int]) -> str:
    """'1-5' for a consecutive run of seeds, else '1, 3, 8'."""
    ordered = sorted(seeds)
    if len(ordered) > 1 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{ordered[0]}-{ordered[-1]}"
    return ", ".join(str(seed) for seed in ordered)


def environment_differences(before: dict, after: dict) -> list[str]:
    """'keras_version 3.3.3 -> 3.4.0' for each compared fingerprint field that differs."""
    return [
        f"{key} {before.get(key)} -> {after.get(key)}"
        for key in COMPARED_ENVIRONMENT_KEYS
        if before.get(key) != after.get(key)
    ]


def entry_key(framing: str, path: str) -> str:
    """Entries are per framing and training path; the default (fast) path's carry the bare name."""
    return framing if path == "fast" else f"{framing}@{path}"


def entry_framing(key: str) -> str:
    """The framing an entry key names (entry_key's first half)."""
    return key.partition("@")[0]


def run_identity(results: Sequence[dict]) -> tuple[str, str, dict]:
    """(framing, path, settings) shared by every per-seed result; ValueError if they are mixed."""
    if not results:
        raise ValueError("no results: need one result per seed")
    first = results[0]
    identity = (first["framing"], first["path"], first["settings"])
    for result in results[1:]:
        if (result["framing"], result["path"], result["settings"]) != identity:
            raise ValueError(
                f"results mix runs: seed {result['seed']} is {result['framing']}/{result['path']} "
                f"{result['settings']}, seed {first['seed']} is {identity[0]}/{identity[1]} {identity[2]}"
            )
    return identity


def median_epochs_to_100(values: Sequence[int | None]) -> float:
    """The median epoch of reaching 100%, counting seeds that never did as infinitely late."""
    return statistics.median(math.inf if value is None else value for value in values)


def format_accuracy(accuracy: float) -> str:
    return f"{accuracy:.2%}"


def format_epochs(epochs: float | None) -> str:
    """An epochs_to_100 value (or median): 'never' for a run that did not reach 100%."""
    return "never" if epochs is None or epochs == math.inf else f"{epochs:g}"


def framing_baseline(results: Sequence[dict], calibration_seconds: float | None) -> dict:
    """One framing's baseline entry from its per-seed results (the trainer's dicts)."""
    _, path, settings = run_identity(results)
    ordered = sorted(results, key=lambda result: result["seed"])
    steps_per_second = statistics.median(result["steps_per_second"] for result in ordered)
    return {
        "path": path,
        "settings": dict(settings),
        "seeds": [result["seed"] for result in ordered],
        "accuracy": [result["accuracy"] for result in ordered],
        "epochs_to_100": [result["epochs_to_100"] for result in ordered],
        "probes": [dict(result["probes"]) for result in ordered],
        "steps_per_second": steps_per_second,
        "normalised_throughput": normalised_throughput(steps_per_second, calibration_seconds),
        "loss_curve": _median_curve([result["history"]["loss"] for result in ordered]),
        "accuracy_curve": _median_curve([result["history"]["accuracy"] for result in ordered]),
    }


def normalised_throughput(steps_per_second: float, calibration_seconds: float | None) -> float | None:
    """Steps per duration of the calibration workload: comparable across machines of unequal speed."""
    if calibration_seconds is None:
        return None
    return round(steps_per_second * calibration_seconds, 3)


def _median_curve(curves: Sequence[Sequence[float]]) -> list[float]:
    """The per-epoch median over seeds, downsampled to at most CURVE_POINTS evenly spaced epochs."""
    if len({len(curve) for curve in curves}) != 1:
        raise ValueError(f"seeds trained for different numbers of epochs: {[len(c) for c in curves]}")
    medians = [round(statistics.median(values), 6) for values in zip(*curves)]
    if len(medians) <= CURVE_POINTS:
        return medians
    # Evenly spaced epochs, always including the first and the last.
    last = len(medians) - 1
    return [medians[round(i * last / (CURVE_POINTS - 1))] for i in range(CURVE_POINTS)]


def load(path: str | os.PathLike) -> dict:
    """The validated baseline document at `path`; BaselineError for any problem."""
    document = _read_json(path)
    validate(document, str(path))
    return document


def _read_json(path: str | os.PathLike):
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BaselineError(f"{path}: does not exist; create it with `{UPDATE_COMMAND}`") from None
    except OSError as error:
        raise BaselineError(f"{path}: cannot be read ({error.strerror})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise BaselineError(
            f"{path}: not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}); "
            f"restore it from git (git checkout -- {path}) or regenerate with `{UPDATE_COMMAND}`"
        ) from None


def save(path: str | os.PathLike, document: dict) -> None:
    """Validate `document` and write it to `path` atomically: the old file or the new, never half."""
    path = Path(path)
    validate(document, str(path))
    text = json.dumps(document, indent=1, sort_keys=True) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = tempfile.NamedTemporaryFile(
        "w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False
    )
    try:
        with temporary:
            temporary.write(text)
            temporary.flush()
            os.fsync(temporary.fileno())  # the data is on disk before the rename makes it visible
        os.replace(temporary.name, path)
    except BaseException:
        Path(temporary.name).unlink(missing_ok=True)
        raise


def upgrade(path: str | os.PathLike) -> None:
    """Rewrite `path` in the current schema.

    Schema 1 is the only version so far, so a current file is validated and rewritten as it is and
    any other version is refused; upgrade steps go here when SCHEMA_VERSION moves on.
    """
    document = _read_json(path)
    version = document.get("schema_version") if isinstance(document, dict) else None
    if version != SCHEMA_VERSION:
        raise BaselineError(
            f"{path}: schema_version: {version!r} has no upgrade to {SCHEMA_VERSION} in this alphabench; "
            f"regenerate the file with `{UPDATE_COMMAND}`"
        )
    save(path, document)


def update_plan(
    document: dict | None, path: str, seeds: tuple[int, ...] | None, named: Sequence[str]
) -> dict[tuple[str, tuple[int, ...] | None], list[str]]:
    """What `alphabench baseline update` trains: {(path, seeds): framings}; seeds None: the framing's own.

    Named framings train on `path` and `seeds`. Naming none updates the whole file as it stands: every
    entry is retrained on its own path and, unless `seeds` says otherwise, on the seeds it holds (the
    calibration's 1-9, the reference path's 1), so a new machine or a new Keras takes one command;
    framings with no entry on `path` yet train there on `seeds`.
    """
    if named or not document:
        return {(path, seeds): list(named or FRAMINGS)}
    plan: dict[tuple[str, tuple[int, ...] | None], list[str]] = {}
    for key, entry in document["framings"].items():
        plan.setdefault((entry["path"], seeds or tuple(entry["seeds"])), []).append(entry_framing(key))
    held = {entry_framing(key) for key, entry in document["framings"].items() if entry["path"] == path}
    missing = [name for name in FRAMINGS if name not in held]
    if missing:
        plan.setdefault((path, seeds), []).extend(missing)
    return plan


def check_update(path: str | os.PathLike, keys: Sequence[str], environment: dict) -> list[str]:
    """The environment's changes if updating the entries `keys` of `path` is allowed, else BaselineError.

    Cheap, so callers run it before any training: an entry left as it is in a changed environment
    would claim an environment it did not run in.
    """
    path = Path(path)
    if not path.exists():
        return []
    old = load(path)  # a corrupt file raises here rather than being lost
    differences = environment_differences(old["environment"], environment)
    untouched = sorted(set(old["framings"]) - set(keys))
    if differences and untouched:
        raise BaselineError(
            f"{path}: environment: changed ({', '.join(differences)}) but {', '.join(untouched)} would not be "
            f"retrained; their baselines would claim an environment they did not run in: run "
            f"`{UPDATE_COMMAND}` naming no framing, which retrains every entry of the file"
        )
    return differences


def update(
    path: str | os.PathLike,
    results_by_framing: dict[str, list[dict]],
    calibration_seconds: float | None,
    environment: dict,
) -> list[str]:
    """Replace or add the given framings' baselines in `path`, keep the rest; one line per change."""
    path = Path(path)
    differences = check_update(path, list(results_by_framing), environment)
    old_framings = load(path)["framings"] if path.exists() else {}
    changes = [f"environment: {', '.join(differences)}"] if differences else []
    new_framings = dict(old_framings)
    for name, results in results_by_framing.items():
        if entry_key(*run_identity(results)[:2]) != name:
            raise ValueError(f"results given for {name} are of {entry_key(*run_identity(results)[:2])}")
        new_framings[name] = framing_baseline(results, calibration_seconds)
        changes.append(f"{name}: {describe_change(old_framings.get(name), new_framings[name])}")
    save(
        path,
        {
            "schema_version": SCHEMA_VERSION,
            "environment": dict(environment),
            "calibration_seconds": calibration_seconds,
            "framings": new_framings,
        },
    )
    return changes


def describe_change(old: dict | None, new: dict) -> str:
    """What differs between two baselines of one framing, in one line."""
    if old is None:
        median_accuracy = statistics.median(new["accuracy"])
        return f"created (seeds {describe_seeds(new['seeds'])}, median accuracy {format_accuracy(median_accuracy)})"
    if old == new:
        return "unchanged"
    changed = []
    if (old["path"], old["settings"]) != (new["path"], new["settings"]):
        changed.append(f"settings {_describe_settings(old)} -> {_describe_settings(new)}")
    if old["seeds"] != new["seeds"]:
        changed.append(f"seeds {describe_seeds(old['seeds'])} -> {describe_seeds(new['seeds'])}")
    results = {
        "accuracy": _describe_metric_change(old, new, "accuracy", statistics.median, format_accuracy),
        "epochs_to_100": _describe_metric_change(old, new, "epochs_to_100", median_epochs_to_100, format_epochs),
        "probes": _describe_probe_change(old, new),
    }
    if changed or any(results.values()):
        return "; ".join(changed + [change or f"{metric} unchanged" for metric, change in results.items()])
    # Same results: a re-run still refreshes the timings (and, in another environment, the curves).
    refreshed = []
    if old["steps_per_second"] != new["steps_per_second"]:
        refreshed.append(f"throughput {old['steps_per_second']:.1f} -> {new['steps_per_second']:.1f} steps/s")
    elif old["normalised_throughput"] != new["normalised_throughput"]:
        refreshed.append("normalised throughput recalibrated")
    if (old["loss_curve"], old["accuracy_curve"]) != (new["loss_curve"], new["accuracy_curve"]):
        refreshed.append("training curves changed")
    return "results unchanged; " + ", ".join(refreshed)


def _describe_settings(entry: dict) -> str:
    settings = " ".join(f"{key}={value}" for key, value in sorted(entry["settings"].items()))
    return f"{entry['path']} {settings}"


def _describe_metric_change(
    old: dict, new: dict, metric: str, median: Callable[[Sequence], float], render: Callable[[float], str]
) -> str | None:
    before, after = median(old[metric]), median(new[metric])
    if before != after:
        return f"median {metric} {render(before)} -> {render(after)}"
    changed_seeds = _seeds_that_differ(old, new, metric)
    if changed_seeds:
        return f"{metric} changed for seeds {changed_seeds} (median {render(after)} unchanged)"
    return None


def _describe_probe_change(old: dict, new: dict) -> str | None:
    changed_seeds = _seeds_that_differ(old, new, "probes")
    return f"probes changed for seeds {changed_seeds}" if changed_seeds else None


def _seeds_that_differ(old: dict, new: dict, metric: str) -> list[int]:
    """Seeds present in both whose per-seed value of `metric` differs."""
    before = dict(zip(old["seeds"], old[metric]))
    return [seed for seed, value in zip(new["seeds"], new[metric]) if seed in before and before[seed] != value]


# Validation ---------------------------------------------------------------------------------------


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_probe_outcomes(value) -> bool:
    return isinstance(value, dict) and all(isinstance(v, (str, bool)) for v in value.values())


_FINGERPRINT_CHECKS: dict[str, tuple[Callable[[object], bool], str]] = {
    **{
        key: (lambda v: isinstance(v, str), "expected a string")
        for key in ("environment", *COMPARED_ENVIRONMENT_KEYS, "platform")
    },
    "cpu_count": (lambda v: v is None or _is_int(v), "expected an integer or null"),
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
}
# Per-seed lists: the check applies to each element; the list must have one element per seed.
_PER_SEED_CHECKS: dict[str, tuple[Callable[[object], bool], str]] = {
    "accuracy": (lambda v: _is_number(v) and 0 <= v <= 1, "expected a list of numbers from 0 to 1, one per seed"),
    "epochs_to_100": (
        lambda v: v is None or (_is_int(v) and v > 0),
        "expected a list of epochs (integers) or nulls, one per seed",
    ),
    "probes": (_is_probe_outcomes, "expected a list of objects of probe outcomes (strings or booleans), one per seed"),
}


def validate(document, name: str) -> None:
    """Raise BaselineError naming `name` and the first bad field, if `document` is not a valid baseline."""

    def fail(field: str, problem: str) -> BaselineError:
        return BaselineError(f"{name}: {field}: {problem}; {_REGENERATE}")

    def require(container: dict, key: str, field: str):
        if key not in container:
            raise fail(field, "missing")
        return container[key]

    if not isinstance(document, dict):
        raise fail("(top level)", "expected a JSON object")
    _check_schema_version(document, name)
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


def _check_schema_version(document: dict, name: str) -> None:
    version = document.get("schema_version")
    if not _is_int(version):
        raise BaselineError(f"{name}: schema_version: missing or not an integer; {_REGENERATE}")
    if version < SCHEMA_VERSION:
        raise BaselineError(
            f"{name}: schema_version: {version} is older than {SCHEMA_VERSION}; "
            f"upgrade the file with `alphabench baseline upgrade {name}`"
        )
    if version > SCHEMA_VERSION:
        raise BaselineError(
            f"{name}: schema_version: {version} was made by a newer alphabench (this one reads "
            f"{SCHEMA_VERSION}); upgrade alphabench"
        )
