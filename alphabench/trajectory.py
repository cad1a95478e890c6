"""Golden training trajectories: what Keras's training step computes, step by step, against fixed values.

Keras tests its layers and optimisers against golden arrays within a tolerance (lstm_test.py's
test_correctness, adam_test.py's test_correctness_with_golden). This does the same for whole training
steps of every framing: from fixed initial weights (drawn by NumPy, not by Keras, so a change of
Keras's random streams is not mistaken for a change of the step) and the fast path's batch order of
GOLDEN_SEED, the tutorial's model takes STEPS steps of Keras's own compiled train step
(`train_on_batch`, the function `fit` runs; the stateful model reset at each epoch's start). The loss
of each step and a digest of the weights after the last are recorded.

Floats differ by a few units in the last place between CPUs, kernels and releases, and those
differences grow step by step; a change of what a step computes (a default, a regularisation, a loss
reduction, the optimiser's arithmetic) moves the trajectory by orders of magnitude more. TOLERANCE
sits between the two (README, "Golden trajectories", has the measured spread and the smallest change
caught). As in Keras's golden tests, one set of values serves every backend and Keras flavour (they
agree within the spread; where one does not, a known deviation says so). It ships with alphabench in
golden_trajectories.json, made by `alphabench golden record`, and does not depend on the user's
machine, so users never remake it.

Pure: recording needs Keras and lives in alphabench.trainer.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from alphabench.atomic import write_json
from alphabench.errors import BaselineError

STEPS = 30  # more than one epoch of every batch-1 framing, so the stateful reset is inside
GOLDEN_SEED = 1
# Relative: |now - golden| <= TOLERANCE * |golden| for each loss, and for each weight array's sum and
# absolute sum against its golden absolute sum.
TOLERANCE = 1e-5
GOLDEN_FILE = Path(__file__).with_name("golden_trajectories.json")
SCHEMA_VERSION = 1
RECORD_COMMAND = "alphabench golden record"


@dataclass(frozen=True)
class Trajectory:
    framing: str
    losses: tuple[float, ...]  # after each step, as train_on_batch reports it (the step's batch loss)
    weight_sums: tuple[float, ...]  # per weight array, after the last step
    weight_abs_sums: tuple[float, ...]
    made_with: str = ""  # the Keras, backend and CPU it was recorded with, for people

    def as_dict(self) -> dict:
        return {"losses": list(self.losses), "weight_sums": list(self.weight_sums),
                "weight_abs_sums": list(self.weight_abs_sums), "made_with": self.made_with}

    @classmethod
    def from_dict(cls, framing: str, values: Mapping) -> Trajectory:
        return cls(framing, tuple(values["losses"]), tuple(values["weight_sums"]), tuple(values["weight_abs_sums"]),
                   values.get("made_with", ""))


@dataclass(frozen=True)
class Departure:
    """The first place a trajectory left the golden one's tolerance, or its largest deviation within it."""

    framing: str
    what: str  # "loss at step 3", "weights after step 30 (array 2 sum)"
    golden: float
    now: float
    deviation: float  # relative, in units of the golden value's scale

    @property
    def broken(self) -> bool:
        return self.deviation > TOLERANCE

    def line(self) -> str:
        return (f"{self.framing} trajectory (train_on_batch): {self.what} left the golden one's tolerance: golden "
                f"{self.golden:.9g}, now {self.now:.9g} (relative {self.deviation:.2g} > {TOLERANCE:g})")


def compare(golden: Trajectory, now: Trajectory) -> Departure:
    """The first departure beyond TOLERANCE, or else the largest deviation seen (not broken)."""
    if len(golden.losses) != len(now.losses) or len(golden.weight_sums) != len(now.weight_sums):
        return Departure(now.framing, f"shape ({len(now.losses)} steps, {len(now.weight_sums)} weight arrays; golden "
                         f"{len(golden.losses)}, {len(golden.weight_sums)})", math.nan, math.nan, math.inf)
    checks = [(f"loss at step {step}", g, n, abs(g))
              for step, (g, n) in enumerate(zip(golden.losses, now.losses), start=1)]
    for index, (g_sum, n_sum, g_abs, n_abs) in enumerate(
            zip(golden.weight_sums, now.weight_sums, golden.weight_abs_sums, now.weight_abs_sums)):
        after = f"weights after step {len(golden.losses)} (array {index}"
        checks += [(f"{after} sum)", g_sum, n_sum, g_abs), (f"{after} absolute sum)", g_abs, n_abs, g_abs)]
    largest = None
    for what, g, n, scale in checks:
        deviation = abs(n - g) / scale if scale else (0.0 if n == g else math.inf)
        if not math.isfinite(n):
            deviation = math.inf
        departure = Departure(now.framing, what, g, n, deviation)
        if departure.broken:
            return departure
        if largest is None or deviation > largest.deviation:
            largest = departure
    return largest


def load(path: str | os.PathLike = GOLDEN_FILE) -> dict[str, Trajectory]:
    """{framing: Trajectory}; a missing file is empty, a broken one raises BaselineError."""
    path = Path(path)
    if not path.exists():
        return {}
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("schema_version") != SCHEMA_VERSION:
            raise ValueError(f"schema_version {document.get('schema_version')!r}, this alphabench reads "
                             f"{SCHEMA_VERSION}")
        if document.get("steps") != STEPS or document.get("seed") != GOLDEN_SEED:
            raise ValueError(f"recorded for {document.get('steps')} steps of seed {document.get('seed')}, "
                             f"this alphabench takes {STEPS} of seed {GOLDEN_SEED}")
        return {framing: Trajectory.from_dict(framing, values) for framing, values in document["trajectories"].items()}
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise BaselineError(f"{path} is not a golden trajectory file ({error}); restore it from alphabench's "
                            f"release, or remake it with `{RECORD_COMMAND} --out {path}`") from None


def save(trajectories: Sequence[Trajectory], path: str | os.PathLike = GOLDEN_FILE) -> None:
    """Replace these framings' trajectories in the file, atomically; the other framings' are kept."""
    # The store's atomic writer: a half-written golden never lands.
    everything = {**load(path), **{t.framing: t for t in trajectories}}
    write_json(Path(path), {
        "schema_version": SCHEMA_VERSION, "steps": STEPS, "seed": GOLDEN_SEED,
        "trajectories": {name: everything[name].as_dict() for name in sorted(everything)},
    })
