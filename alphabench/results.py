"""The vocabulary of results: typed records for what a run produced and what a baseline holds.

A seed's result (SeedResult), a framing's baseline entry (BaselineEntry), a whole baseline file
(Baseline) and the environment they came from (Fingerprint) are frozen records; JSON appears only at
the edges (alphabench.baseline reads and writes files, alphabench.report writes reports), through
`as_dict` / `from_dict`. The helpers below describe and format them; nothing here touches a file.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

CURVE_POINTS = 100  # enough to see a curve's shape, few enough to keep diffs of a baseline readable
UPDATE_COMMAND = "alphabench baseline update"
DEFAULT_BASELINES = "baselines"  # the directory of baseline files where none is named


@dataclass(frozen=True)
class Settings:
    """The hyperparameters a result was trained with; results compare only at equal settings."""

    units: int
    epochs: int
    batch_size: int
    shuffle: bool
    stateful: bool

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Fingerprint:
    """What decides a result's bits: the software, the CPU's kernels, the threads (compat.fingerprint()).

    Fields a baseline made by an older alphabench lacks are None: unknown, so never the same.
    """

    environment: str  # names the baseline file: "<keras flavour>-<backend>"
    keras_flavour: str
    keras_version: str
    backend: str
    backend_version: str
    python: str
    numpy: str
    cpu: str  # the model name; CPUs sold under one name differ in generation and ISA
    cpu_count: int | None
    platform: str
    cpu_vendor: str | None = None
    cpu_signature: str | None = None  # "family 26 model 2 stepping 1"
    # The ISA features XLA, oneDNN and Eigen choose kernels by (AVX2, FMA, AVX-512 subsets, AMX...).
    cpu_flags: tuple[str, ...] | None = None
    # The version of each package the environment computes with (compat.NUMERICAL_PACKAGES; older
    # baselines recorded every backend's, "absent" where not installed). Compared on the names both
    # record: a package only one side recorded computes nothing here.
    packages: Mapping[str, str] | None = None
    threads: str | None = None  # the compute-thread settings the run used

    # Fields that decide whether two runs can agree bit for bit: all must be known and equal.
    COMPARED = ("keras_flavour", "keras_version", "backend", "backend_version", "python", "numpy", "cpu",
                "cpu_vendor", "cpu_signature", "cpu_flags", "packages", "threads")
    # Fields that decide whether a throughput measured on one machine means anything on the other.
    MACHINE = ("cpu", "cpu_vendor", "cpu_signature", "cpu_flags", "cpu_count")

    def differences(self, other: Fingerprint, fields: Sequence[str] = COMPARED) -> list[str]:
        """'keras_version 3.3.3 -> 3.4.0' for each of `fields` that differs from `other` or is unknown."""
        return [
            _describe_difference(key, getattr(self, key), getattr(other, key))
            for key in fields
            if getattr(self, key) is None or not _same(key, getattr(self, key), getattr(other, key))
        ]

    @property
    def machine(self) -> str:
        """Where a time was measured: 'Intel(R) Xeon(R) Processor (family 6 model 167), 2 cores'."""
        model = " ".join((self.cpu_signature or "").split()[:4])  # the stepping names no other machine
        return f"{self.cpu}{f' ({model})' if model else ''}, {self.cpu_count or '?'} cores"

    def same_bits(self, other: Fingerprint) -> bool:
        """Whether a seed run here must reproduce, bit for bit, what it gave there."""
        return not self.differences(other)

    def as_dict(self) -> dict:
        values = dataclasses.asdict(self)
        values["cpu_flags"] = None if self.cpu_flags is None else list(self.cpu_flags)
        values["packages"] = None if self.packages is None else dict(self.packages)
        return values

    @classmethod
    def from_dict(cls, values: Mapping) -> Fingerprint:
        fields = {field.name: values.get(field.name) for field in dataclasses.fields(cls)}
        if fields["cpu_flags"] is not None:
            fields["cpu_flags"] = tuple(fields["cpu_flags"])
        return cls(**fields)


def _same(key: str, before, after) -> bool:
    if key == "packages" and after is not None:
        return not _changed_packages(before, after)
    return before == after


def _changed_packages(before: Mapping[str, str], after: Mapping[str, str]) -> list[str]:
    return sorted(name for name in before.keys() & after.keys() if before[name] != after[name])


def _describe_difference(key: str, before, after) -> str:
    if before is None:
        return f"{key} unknown (baseline made by an older alphabench)"
    if key == "cpu_flags":
        gained, lost = sorted(set(after or ()) - set(before)), sorted(set(before) - set(after or ()))
        return f"cpu_flags {' '.join([f'+{f}' for f in gained] + [f'-{f}' for f in lost])}"
    if key == "packages":
        if after is None:
            return "packages unknown"
        return "packages " + ", ".join(f"{name} {before[name]} -> {after[name]}" for name in _changed_packages(before, after))
    return f"{key} {before} -> {after}"


@dataclass(frozen=True)
class SeedResult:
    """One seed's training run of one framing, as alphabench.trainer.train returns it."""

    framing: str
    path: str  # "fast" or "reference" (framings.TRAINING_PATHS)
    seed: int
    settings: Settings
    accuracy: float  # on the training set, as the tutorial reports it
    epochs_to_100: int | None  # first epoch at 100% training accuracy; None: never reached
    loss_history: tuple[float, ...]  # per epoch
    accuracy_history: tuple[float, ...]  # per epoch
    probes: Mapping[str, str | bool]
    replicas: int  # models trained together in one fit call (their time is shared)
    train_seconds: float
    steps_per_second: float  # optimiser steps per second of the median epoch
    environment: Fingerprint
    # CPU cores other processes kept busy, on average, in the epochs its throughput comes from
    # (calibration.typical_interval; None: not known)
    other_load: float | None = None

    @property
    def key(self) -> str:
        """The baseline entry this result is compared with."""
        return entry_key(self.framing, self.path)

    @property
    def final_loss(self) -> float:
        return self.loss_history[-1]

    def as_dict(self) -> dict:
        return {**dataclasses.asdict(self), "probes": dict(self.probes), "environment": self.environment.as_dict()}


@dataclass(frozen=True)
class CurveBand:
    """How the seeds' curves spread, epoch by epoch: lowest, interquartile range, highest."""

    low: tuple[float, ...]
    lower_quartile: tuple[float, ...]
    upper_quartile: tuple[float, ...]
    high: tuple[float, ...]

    FIELDS = ("low", "lower_quartile", "upper_quartile", "high")

    @classmethod
    def of(cls, curves: Sequence[Sequence[float]]) -> CurveBand:
        """Per epoch over the seeds' `curves` (one seed: a band of no width)."""
        _check_same_length(curves)
        columns = [sorted(values) for values in zip(*curves)]
        quartiles = [statistics.quantiles(c, n=4, method="inclusive") if len(c) > 1 else [c[0]] * 3 for c in columns]
        return cls(
            low=tuple(round(c[0], 6) for c in columns),
            lower_quartile=tuple(round(q[0], 6) for q in quartiles),
            upper_quartile=tuple(round(q[2], 6) for q in quartiles),
            high=tuple(round(c[-1], 6) for c in columns),
        )

    def downsampled(self) -> CurveBand:
        """At the epochs a stored median curve keeps (median_curve)."""
        return CurveBand(*(_downsample(getattr(self, name)) for name in self.FIELDS))

    def as_dict(self) -> dict:
        return {name: list(getattr(self, name)) for name in self.FIELDS}

    @classmethod
    def from_dict(cls, values: Mapping) -> CurveBand:
        return cls(*(tuple(values[name]) for name in cls.FIELDS))


@dataclass(frozen=True)
class BaselineEntry:
    """What a framing did on one training path in one environment: per seed, and summarised."""

    path: str
    settings: Settings
    seeds: tuple[int, ...]
    accuracy: tuple[float, ...]  # per seed, like the two fields below
    epochs_to_100: tuple[int | None, ...]
    probes: tuple[Mapping[str, str | bool], ...]
    final_loss: tuple[float | None, ...]  # None: made by an older alphabench, which did not keep it
    steps_per_second: float
    normalised_throughput: float | None
    loss_curve: tuple[float, ...]  # median over seeds, at most CURVE_POINTS epochs
    accuracy_curve: tuple[float, ...]
    # The seeds' spread about those medians, at the same epochs; None: made before schema 3.
    loss_band: CurveBand | None = None
    accuracy_band: CurveBand | None = None

    @classmethod
    def from_results(cls, results: Sequence[SeedResult], calibration_seconds: float | None) -> BaselineEntry:
        _, path, settings = run_identity(results)
        ordered = sorted(results, key=lambda result: result.seed)
        steps_per_second = statistics.median(result.steps_per_second for result in ordered)
        return cls(
            path=path,
            settings=settings,
            seeds=tuple(result.seed for result in ordered),
            accuracy=tuple(result.accuracy for result in ordered),
            epochs_to_100=tuple(result.epochs_to_100 for result in ordered),
            probes=tuple(dict(result.probes) for result in ordered),
            final_loss=tuple(result.final_loss for result in ordered),
            steps_per_second=steps_per_second,
            normalised_throughput=normalised_throughput(steps_per_second, calibration_seconds),
            loss_curve=median_curve([result.loss_history for result in ordered]),
            accuracy_curve=median_curve([result.accuracy_history for result in ordered]),
            loss_band=CurveBand.of([result.loss_history for result in ordered]).downsampled(),
            accuracy_band=CurveBand.of([result.accuracy_history for result in ordered]).downsampled(),
        )

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "settings": self.settings.as_dict(),
            "seeds": list(self.seeds),
            "accuracy": list(self.accuracy),
            "epochs_to_100": list(self.epochs_to_100),
            "probes": [dict(outcomes) for outcomes in self.probes],
            "final_loss": list(self.final_loss),
            "steps_per_second": self.steps_per_second,
            "normalised_throughput": self.normalised_throughput,
            "loss_curve": list(self.loss_curve),
            "accuracy_curve": list(self.accuracy_curve),
            "loss_band": self.loss_band.as_dict() if self.loss_band else None,
            "accuracy_band": self.accuracy_band.as_dict() if self.accuracy_band else None,
        }

    @classmethod
    def from_dict(cls, values: Mapping) -> BaselineEntry:
        return cls(
            path=values["path"],
            settings=Settings(**values["settings"]),
            seeds=tuple(values["seeds"]),
            accuracy=tuple(values["accuracy"]),
            epochs_to_100=tuple(values["epochs_to_100"]),
            probes=tuple(dict(outcomes) for outcomes in values["probes"]),
            final_loss=tuple(values["final_loss"]),
            steps_per_second=values["steps_per_second"],
            normalised_throughput=values["normalised_throughput"],
            loss_curve=tuple(values["loss_curve"]),
            accuracy_curve=tuple(values["accuracy_curve"]),
            loss_band=CurveBand.from_dict(values["loss_band"]) if values["loss_band"] else None,
            accuracy_band=CurveBand.from_dict(values["accuracy_band"]) if values["accuracy_band"] else None,
        )


@dataclass(frozen=True)
class Baseline:
    """One environment's baseline file: where it was made, and an entry per framing and path."""

    environment: Fingerprint
    calibration_seconds: float | None  # the CPU calibration of the machine that made it
    framings: Mapping[str, BaselineEntry]  # by entry key (entry_key)

    def as_dict(self, schema_version: int) -> dict:
        return {
            "schema_version": schema_version,
            "environment": self.environment.as_dict(),
            "calibration_seconds": self.calibration_seconds,
            "framings": {key: entry.as_dict() for key, entry in self.framings.items()},
        }

    @classmethod
    def from_dict(cls, values: Mapping) -> Baseline:
        return cls(
            environment=Fingerprint.from_dict(values["environment"]),
            calibration_seconds=values["calibration_seconds"],
            framings={key: BaselineEntry.from_dict(entry) for key, entry in values["framings"].items()},
        )


def entry_key(framing: str, path: str) -> str:
    """Entries are per framing and training path; the default (fast) path's carry the bare name."""
    return framing if path == "fast" else f"{framing}@{path}"


def entry_framing(key: str) -> str:
    """The framing an entry key names (entry_key's first half)."""
    return key.partition("@")[0]


def run_identity(results: Sequence[SeedResult]) -> tuple[str, str, Settings]:
    """(framing, path, settings) shared by every per-seed result; ValueError if they are mixed."""
    if not results:
        raise ValueError("no results: need one result per seed")
    first = results[0]
    identity = (first.framing, first.path, first.settings)
    for result in results[1:]:
        if (result.framing, result.path, result.settings) != identity:
            raise ValueError(
                f"results mix runs: seed {result.seed} is {result.framing}/{result.path} "
                f"{result.settings}, seed {first.seed} is {identity[0]}/{identity[1]} {identity[2]}"
            )
    return identity


def normalised_throughput(steps_per_second: float, calibration_seconds: float | None) -> float | None:
    """Steps per duration of the calibration workload: comparable across machines of unequal speed."""
    if calibration_seconds is None:
        return None
    return round(steps_per_second * calibration_seconds, 3)


def median_curve(curves: Sequence[Sequence[float]]) -> tuple[float, ...]:
    """The per-epoch median over seeds, downsampled to at most CURVE_POINTS evenly spaced epochs."""
    _check_same_length(curves)
    return _downsample([round(statistics.median(values), 6) for values in zip(*curves)])


def _check_same_length(curves: Sequence[Sequence[float]]) -> None:
    if len({len(curve) for curve in curves}) != 1:
        raise ValueError(f"seeds trained for different numbers of epochs: {[len(c) for c in curves]}")


def _downsample(values: Sequence[float]) -> tuple[float, ...]:
    """At most CURVE_POINTS evenly spaced epochs, always including the first and the last."""
    if len(values) <= CURVE_POINTS:
        return tuple(values)
    last = len(values) - 1
    return tuple(values[round(i * last / (CURVE_POINTS - 1))] for i in range(CURVE_POINTS))


def median_epochs_to_100(values: Sequence[int | None]) -> float:
    """The median epoch of reaching 100%, counting seeds that never did as infinitely late."""
    return statistics.median(math.inf if value is None else value for value in values)


def describe_seeds(seeds: Sequence[int]) -> str:
    """'1-5' for a consecutive run of seeds, else '1, 3, 8'."""
    ordered = sorted(seeds)
    if len(ordered) > 1 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{ordered[0]}-{ordered[-1]}"
    return ", ".join(str(seed) for seed in ordered)


def format_accuracy(accuracy: float) -> str:
    return f"{accuracy:.2%}"


def format_accuracies(accuracies: Sequence[float]) -> str:
    return " ".join(format_accuracy(accuracy) for accuracy in accuracies)


def format_epochs(epochs: float | None) -> str:
    """An epochs_to_100 value (or median): 'never' for a run that did not reach 100%."""
    return "never" if epochs is None or epochs == math.inf else f"{epochs:g}"


def describe_change(old: BaselineEntry | None, new: BaselineEntry) -> str:
    """What differs between two baseline entries of one framing, in one line."""
    if old is None:
        median_accuracy = statistics.median(new.accuracy)
        return f"created (seeds {describe_seeds(new.seeds)}, median accuracy {format_accuracy(median_accuracy)})"
    if old == new:
        return "unchanged"
    changed = []
    if (old.path, old.settings) != (new.path, new.settings):
        changed.append(f"settings {_describe_settings(old)} -> {_describe_settings(new)}")
    if old.seeds != new.seeds:
        changed.append(f"seeds {describe_seeds(old.seeds)} -> {describe_seeds(new.seeds)}")
    results = {
        "accuracy": _describe_metric_change(old, new, "accuracy", statistics.median, format_accuracy),
        "epochs_to_100": _describe_metric_change(old, new, "epochs_to_100", median_epochs_to_100, format_epochs),
        "probes": _describe_seed_change(old, new, "probes"),
        "final_loss": _describe_seed_change(old, new, "final_loss"),
    }
    if changed or any(results.values()):
        return "; ".join(changed + [change or f"{metric} unchanged" for metric, change in results.items()])
    # Same results: a re-run still refreshes the timings (and, in another environment, the curves).
    refreshed = []
    if old.steps_per_second != new.steps_per_second:
        refreshed.append(f"throughput {old.steps_per_second:.1f} -> {new.steps_per_second:.1f} steps/s")
    elif old.normalised_throughput != new.normalised_throughput:
        refreshed.append("normalised throughput recalibrated")
    if (old.loss_curve, old.accuracy_curve) != (new.loss_curve, new.accuracy_curve):
        refreshed.append("training curves changed")
    return "results unchanged; " + ", ".join(refreshed)


def _describe_settings(entry: BaselineEntry) -> str:
    settings = " ".join(f"{key}={value}" for key, value in sorted(entry.settings.as_dict().items()))
    return f"{entry.path} {settings}"


def _describe_metric_change(
    old: BaselineEntry, new: BaselineEntry, metric: str, median: Callable[[Sequence], float], render: Callable
) -> str | None:
    before, after = median(getattr(old, metric)), median(getattr(new, metric))
    if before != after:
        return f"median {metric} {render(before)} -> {render(after)}"
    changed_seeds = _seeds_that_differ(old, new, metric)
    if changed_seeds:
        return f"{metric} changed for seeds {changed_seeds} (median {render(after)} unchanged)"
    return None


def _describe_seed_change(old: BaselineEntry, new: BaselineEntry, metric: str) -> str | None:
    changed_seeds = _seeds_that_differ(old, new, metric)
    return f"{metric} changed for seeds {changed_seeds}" if changed_seeds else None


def _seeds_that_differ(old: BaselineEntry, new: BaselineEntry, metric: str) -> list[int]:
    """Seeds present in both whose per-seed value of `metric` differs."""
    before = dict(zip(old.seeds, getattr(old, metric)))
    return [seed for seed, value in zip(new.seeds, getattr(new, metric)) if seed in before and before[seed] != value]
