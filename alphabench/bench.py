"""Time the fast path against the tutorial-style reference path, per framing, in one run.

Each (framing, path) trains in a fresh process, so neither inherits the other's compiled functions
or memory, and the peak resident memory of each can be read separately. Wall time is the whole
trainer.train call (model building, compilation, training, evaluation, probes; imports excluded).
The reference path of a long framing may be timed on a fraction of its epochs: its training part is
then extrapolated per step, the rest counted once; the output says so.

Rows are typed records (PathComparison, FusedRow); JSON only where `alphabench bench --json` writes them.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import importlib.util
import multiprocessing
import os
import resource
import statistics
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from alphabench.data import sample_count, steps_per_epoch
from alphabench.errors import UsageError
from alphabench.framings import FUSED_ENVIRONMENTS, Framing, fused_baseline_seeds
from alphabench.progress import seeds_text
from alphabench.results import SeedResult

# The reference path of variable_length alone takes far longer than every other framing's (README,
# "Measured: fast vs reference"): 5% of its epochs time it well enough.
DEFAULT_REFERENCE_EPOCHS = {"variable_length": 25}


@dataclass(frozen=True)
class TimedRun:
    """One framing trained in a fresh process: its results, wall time, and the process's so far."""

    results: tuple[SeedResult, ...]
    wall_seconds: float
    process_seconds: float  # imports and earlier framings too
    peak_rss_mb: float


class _Row:
    """JSON at the edge: a row as the --json file holds it, and back."""

    def to_dict(self) -> dict:
        return {name: list(value) if isinstance(value, tuple) else value
                for name, value in dataclasses.asdict(self).items()}

    @classmethod
    def from_dict(cls, document: Mapping):
        return cls(**{name: tuple(value) if isinstance(value, list) else value for name, value in document.items()})


@dataclass(frozen=True)
class PathComparison(_Row):
    """A framing's fast path against its reference path (`alphabench bench`)."""

    framing: str
    seeds: tuple[int, ...]
    fast_environment: str
    reference_environment: str
    reference_epochs: int
    extrapolated: bool
    fast_seconds: float
    reference_seconds: float
    speedup: float
    fast_one_seed_seconds: float
    fast_steps_per_second: float
    reference_steps_per_second: float
    fast_accuracy: tuple[float, ...]
    reference_accuracy: tuple[float, ...]
    samples: int
    fast_peak_rss_mb: float
    reference_peak_rss_mb: float


@dataclass(frozen=True)
class FusedRow(_Row):
    """A framing's fused path on one seed and on its baseline's seeds (`alphabench bench --fused`)."""

    framing: str
    seeds: tuple[int, ...]
    one_seed_seconds: float
    one_seed_process_seconds: float
    seconds: float
    train_seconds: float
    seed_step_microseconds: float
    accuracy: tuple[float, ...]
    peak_rss_mb: float
    environment: str


def _train_in_this_process(framings: list[Framing], seeds, path: str, backend: str | None) -> list[TimedRun]:
    process_start = time.perf_counter()
    if backend:  # before Keras is imported in this fresh process: Keras reads it once, at import
        os.environ["KERAS_BACKEND"] = backend
    from alphabench import trainer

    runs = []
    for framing in framings:
        start = time.perf_counter()
        results = trainer.train(framing, seeds, path)
        runs.append(TimedRun(tuple(results), time.perf_counter() - start, time.perf_counter() - process_start,
                             resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    return runs


def timed_runs(framings: list[Framing], seeds, path: str, backend: str | None = None) -> list[TimedRun]:
    """Train each framing in turn in one fresh process (on `backend`, default: this environment's);
    per framing its wall time (training, evaluation, probes), results and peak memory so far."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_train_in_this_process, list(framings), tuple(seeds), path, backend).result()


def timed_run(framing: Framing, seeds, path: str, backend: str | None = None) -> TimedRun:
    """timed_runs for one framing."""
    return timed_runs([framing], seeds, path, backend)[0]


def compare_paths(
    framing: Framing, seeds, reference_epochs: int | None = None, reference_backend: str | None = None
) -> PathComparison:
    """Fast path on all seeds at once, and on the first seed alone (what the other seeds cost);
    reference path one seed after another, as the tutorial runs (on `reference_backend` if given:
    e.g. the JAX fast path against the TensorFlow reference)."""
    fast = timed_run(framing, seeds, "fast")
    one_seed = timed_run(framing, seeds[:1], "fast") if len(seeds) > 1 else fast
    reference_framing = framing.with_settings(epochs=reference_epochs) if reference_epochs else framing
    reference = timed_run(reference_framing, seeds, "reference", reference_backend)
    # Scale the reference's training (not its set-up and evaluation) to the full number of epochs.
    reference_training = sum(r.train_seconds for r in reference.results)
    reference_wall = reference.wall_seconds + reference_training * (framing.epochs / reference_framing.epochs - 1)
    steps = sum(r.settings.epochs for r in fast.results) * steps_per_epoch(framing)
    return PathComparison(
        framing=framing.name,
        seeds=tuple(seeds),
        fast_environment=fast.results[0].environment.environment,
        reference_environment=reference.results[0].environment.environment,
        reference_epochs=reference_framing.epochs,
        extrapolated=reference_framing.epochs != framing.epochs,
        fast_seconds=fast.wall_seconds,
        reference_seconds=reference_wall,
        speedup=reference_wall / fast.wall_seconds,
        fast_one_seed_seconds=one_seed.wall_seconds,
        fast_steps_per_second=steps / fast.wall_seconds,
        reference_steps_per_second=steps / reference_wall,
        fast_accuracy=tuple(r.accuracy for r in fast.results),
        reference_accuracy=tuple(r.accuracy for r in reference.results),
        samples=sample_count(framing),
        fast_peak_rss_mb=fast.peak_rss_mb,
        reference_peak_rss_mb=reference.peak_rss_mb,
    )


def compare_framings(framings: Sequence[Framing], seeds, reference_epochs: Mapping[str, int],
                     reference_backend: str | None = None, log: Callable[[str], None] = print) -> list[PathComparison]:
    """compare_paths for each framing, its reference epochs from `reference_epochs` over the defaults."""
    epochs = {**DEFAULT_REFERENCE_EPOCHS, **reference_epochs}
    rows = []
    for framing in framings:
        log(f"timing {framing.name} ({seeds_text(seeds)}): fast, then reference ...")
        rows.append(compare_paths(framing, seeds, epochs.get(framing.name), reference_backend))
    return rows


def one_seed_each(framings: list[Framing], backend: str | None = None) -> list[TimedRun]:
    """The fused path on one seed of every framing, one after another in one fresh process, as
    `alphabench run --path fused --seeds 1` trains them."""
    return timed_runs(framings, (1,), "fused", backend)


def fused_row(framing: Framing, seeds, one_seed: TimedRun, backend: str | None = None) -> FusedRow:
    """The fused path on `seeds` in a fresh process, compilation included, beside `one_seed`'s run."""
    many = timed_run(framing, seeds, "fused", backend)
    seed_steps = len(seeds) * framing.epochs * steps_per_epoch(framing)
    return FusedRow(
        framing=framing.name,
        seeds=tuple(seeds),
        one_seed_seconds=one_seed.wall_seconds,
        one_seed_process_seconds=one_seed.process_seconds,
        seconds=many.wall_seconds,
        train_seconds=many.results[0].train_seconds,
        seed_step_microseconds=many.results[0].train_seconds / seed_steps * 1e6,
        accuracy=tuple(r.accuracy for r in many.results),
        peak_rss_mb=many.peak_rss_mb,
        environment=many.results[0].environment.environment,
    )


def fused_backends() -> list[str]:
    """The Keras 3 backends with a fused path that are installed here; UsageError if none is."""
    backends = [environment.split("-")[1] for environment in FUSED_ENVIRONMENTS]
    installed = [backend for backend in backends if importlib.util.find_spec(backend)]
    if not installed:
        raise UsageError(f"the fused path needs Keras 3 with {' or '.join(backends)}: "
                         'pip install "alphabench[jax]" or "alphabench[tensorflow]"')
    return installed


def time_fused(framings: Sequence[Framing], log: Callable[[str], None] = print) -> Iterator[tuple[str, list[FusedRow]]]:
    """(backend, its rows) for each fused backend installed, side by side in one run, each framing's
    seeds in a fresh process; yielded as each backend is done."""
    for backend in fused_backends():
        log(f"timing the fused path on {backend}: one seed of every framing, in one process ...")
        one_seed = one_seed_each(list(framings), backend)
        rows = []
        for framing, one_seed_run in zip(framings, one_seed):
            seeds = fused_baseline_seeds(framing.name)
            log(f"timing {framing.name} on {backend}: fused path, {len(seeds)} seeds ...")
            rows.append(fused_row(framing, seeds, one_seed_run, backend))
        yield backend, rows


def fused_table(rows: list[FusedRow]) -> str:
    header = ("framing", "1 seed s", "seeds", "all seeds s", "of it training s", "us per seed-step",
              "median acc", "peak MB")
    lines = [header] + [
        (
            row.framing, f"{row.one_seed_seconds:.1f}", str(len(row.seeds)), f"{row.seconds:.1f}",
            f"{row.train_seconds:.1f}", f"{row.seed_step_microseconds:.2f}",
            f"{statistics.median(row.accuracy):.2%}", f"{row.peak_rss_mb:.0f}",
        )
        for row in rows
    ]
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines]
    text.append(f"total ({rows[0].environment}, fused path, compilation included): one seed of every framing "
                f"{rows[-1].one_seed_process_seconds:.1f}s in one fresh process, imports included "
                f"({sum(r.one_seed_seconds for r in rows):.1f}s of it training, evaluating, probing); "
                f"all seeds {sum(r.seconds for r in rows):.1f}s, a fresh process a framing")
    return "\n".join(text)


def table(rows: list[PathComparison]) -> str:
    header = ("framing", "seeds", "reference s", "fast s", "speedup", "fast 1 seed s", "seeds/1 seed",
              "ref steps/s", "fast steps/s", "ref acc (median)", "fast acc (median)", "fast-ref samples",
              "ref MB", "fast MB")
    lines = [header]
    for row in rows:
        # The median accuracy's difference in samples: within one sample counts as unchanged.
        shift = (statistics.median(row.fast_accuracy) - statistics.median(row.reference_accuracy)) * row.samples
        lines.append(
            (
                row.framing,
                str(len(row.seeds)),
                f"{row.reference_seconds:.1f}" + ("*" if row.extrapolated else ""),
                f"{row.fast_seconds:.1f}",
                f"{row.speedup:.1f}x",
                f"{row.fast_one_seed_seconds:.1f}",
                f"{row.fast_seconds / row.fast_one_seed_seconds:.2f}x",
                f"{row.reference_steps_per_second:.0f}",
                f"{row.fast_steps_per_second:.0f}",
                f"{statistics.median(row.reference_accuracy):.2%}",
                f"{statistics.median(row.fast_accuracy):.2%}",
                f"{shift:+.1f}",
                f"{row.reference_peak_rss_mb:.0f}",
                f"{row.fast_peak_rss_mb:.0f}",
            )
        )
    total_reference = sum(r.reference_seconds for r in rows)
    total_fast = sum(r.fast_seconds for r in rows)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines]
    text.append(f"total: reference {total_reference:.1f}s ({rows[0].reference_environment}), "
                f"fast {total_fast:.1f}s ({rows[0].fast_environment}), speedup {total_reference / total_fast:.1f}x")
    if any(r.extrapolated for r in rows):
        text.append("* reference timed on fewer epochs (ref acc is at those epochs) and extrapolated per step")
    return "\n".join(text)
