"""One run of the suite: which framings, with which settings; their results; the verdict.

The CLI and the pytest plugin are thin shells over a Session: it trains each framing at most once
(tests of one framing share its results), judges the runs and compares them with the environment's
baseline. It imports Keras (through the trainer) only when something is trained.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from alphabench import baseline, gate, verdict
from alphabench.advice import Advice
from alphabench.calibration import calibration_seconds
from alphabench.data import sample_count, training_cost
from alphabench.deviations import Expectation
from alphabench.errors import UsageError
from alphabench.framings import AUTO_PATH, FUSED_SEEDS, Framing, get_framing
from alphabench.results import Baseline, SeedResult, entry_key
from alphabench.summary import Summary


@dataclass
class Session:
    seeds: tuple[int, ...] | None = None  # None: each framing's own default seeds
    path: str = "fast"
    epochs: int | None = None
    units: int | None = None
    baselines: str = "baselines"
    # Create the baseline entries that are missing, rather than fail them; `announce` says what was written.
    update: bool = False
    unexpected_pass: str = "fail"  # of verdict.UNEXPECTED_PASS_POLICIES: does an unexpected pass fail the run
    announce: Callable[[str], None] = print
    jobs: int = 1  # processes that train framings side by side (train_in_processes)
    # How suggested commands are worded (the pytest plugin gives its own); None: the CLI's, from these options.
    advice: Advice | None = None
    results: dict[str, list[SeedResult]] = field(default_factory=dict)
    training_errors: dict[str, BaseException] = field(default_factory=dict)
    _calibration: float | None = None
    # The baseline as last read, with the file's signature then; each framing's findings against it.
    _baseline: tuple[tuple | None, Baseline | None] | None = field(default=None, init=False, repr=False)
    _findings: dict[str, tuple[tuple | None, list]] = field(default_factory=dict, init=False, repr=False)

    @property
    def overridden(self) -> bool:
        """Settings differ from the tutorial's: expectations and baselines do not apply."""
        return bool(self.epochs or self.units)

    def with_options(self, **changes) -> Session:
        """A session with this one's options but for `changes`, and none of its results."""
        return dataclasses.replace(self, results={}, training_errors={}, **changes)

    def framing(self, name: str) -> Framing:
        return get_framing(name).with_settings(epochs=self.epochs, units=self.units)

    def seeds_for(self, name: str) -> tuple[int, ...]:
        return self.seeds or (FUSED_SEEDS if self.path == "fused" else get_framing(name).seeds)

    def train(self, name: str, progress=None) -> list[SeedResult]:
        """Train `name` on its seeds, once per session (a failure, too, is raised again, not retried).

        Seeds train in groups of the path's default size, so a seed's numbers and the measured
        throughput do not depend on how many other seeds were asked for: a 9-seed baseline holds,
        for seeds 1-3, exactly what a default 3-seed run produces.
        """
        if name in self.training_errors:
            raise self.training_errors[name]
        if name not in self.results:
            from alphabench import trainer  # imports Keras: only when something is trained

            self.resolve_path()
            # The fused path trains FUSED_SEEDS at a time: XLA may vectorise another number of seeds
            # differently, and a seed must give the same bits in a default run and in a baseline.
            seeds = self.seeds_for(name)
            group = len(FUSED_SEEDS) if self.path == "fused" else len(get_framing(name).seeds)
            try:
                self.results[name] = [
                    result
                    for start in range(0, len(seeds), group)
                    for result in trainer.train(self.framing(name), seeds[start : start + group], self.path, progress)
                ]
            except Exception as error:
                self.training_errors[name] = error
                raise
        return self.results[name]

    def train_in_processes(self, names: Sequence[str], finished: Callable[[str, float, bool], None]) -> None:
        """Train `names` as `train` would, each framing in one of `jobs` fresh processes, the costliest
        first; `finished(name, seconds, trained)` as each ends. A seed gives the same numbers in any
        process (one CPU thread each, op determinism on), and a framing's throughput is still its own
        process's: one core each, where the cores are not fewer than `jobs`."""
        todo = sorted((n for n in names if n not in self.results and n not in self.training_errors),
                      key=lambda name: training_cost(get_framing(name)), reverse=True)
        if not todo:
            return
        self.resolve_path()
        options = {"seeds": self.seeds, "path": self.path, "epochs": self.epochs, "units": self.units}
        # spawn: a forked child would inherit this process's Keras and TensorFlow state, threads included.
        with ProcessPoolExecutor(min(self.jobs, len(todo)), mp_context=multiprocessing.get_context("spawn")) as pool:
            running = {pool.submit(_train_alone, options, name): name for name in todo}
            for future in as_completed(running):
                name = running[future]
                try:
                    self.results[name], seconds = future.result()
                except Exception as error:  # the worker's traceback is its __cause__
                    self.training_errors[name], seconds = error, 0.0
                finished(name, seconds, name in self.results)

    def summary(self, name: str) -> Summary:
        return Summary(self.framing(name), tuple(self.train(name)))

    @property
    def environment(self) -> str:
        from alphabench import compat

        return compat.ENVIRONMENT

    @property
    def baseline_file(self) -> Path:
        return baseline.baseline_path(self.baselines, self.environment)

    @property
    def calibration(self) -> float:
        if self._calibration is None:
            self._calibration = calibration_seconds()
        return self._calibration

    def resolve_path(self) -> None:
        """"auto" becomes the fused path where this environment has it (16 seeds a framing: the rank
        tests' power), else the fast one. Imports Keras."""
        if self.path == AUTO_PATH:
            from alphabench import compat

            self.path = "fused" if compat.FUSED else "fast"

    def check_path(self) -> None:
        """A path this environment cannot train on is refused now, not framing by framing."""
        from alphabench import trainer  # imports Keras

        self.resolve_path()
        trainer.check_path(self.path)

    def _baseline_signature(self) -> tuple[int, int, int] | None:
        """What tells one state of the baseline file from another (an atomic write makes a new inode)."""
        try:
            status = self.baseline_file.stat()
        except OSError:  # as Path.exists() takes it: no file there
            return None
        return status.st_ino, status.st_mtime_ns, status.st_size

    def load_baseline(self) -> Baseline | None:
        """The environment's baseline, None if there is none yet; a broken one raises BaselineError.

        Read and validated once, and again only when the file changed (another worker, or --update,
        wrote entries to it)."""
        signature = self._baseline_signature()
        if self._baseline is None or self._baseline[0] != signature:
            self._baseline = (signature, None if signature is None else baseline.load(self.baseline_file))
        return self._baseline[1]

    def baseline_key(self, name: str) -> str:
        return entry_key(name, self.path)

    def check_can_create(self) -> None:
        """With `update`: refuse now, before any training, a baselines directory that cannot be written."""
        if self.update:
            baseline.check_writable(self.baseline_file)

    def create_missing(self, results_by_key: dict[str, list[SeedResult]]) -> None:
        """Write the entries the baseline lacks for `results_by_key`, and announce each."""
        from alphabench import compat

        for line in baseline.add_missing(self.baseline_file, results_by_key, self.calibration, compat.fingerprint()):
            self.announce(f"{self.baseline_file}: {line} (--update: check it in)")

    def findings(self, names=None) -> list[gate.Finding]:
        """The gate's findings for each framing against the baseline, computed once per framing for
        each state of the baseline file."""
        names = list(names or self.results)
        if self.update:
            current = self.load_baseline()
            held = current.framings if current else {}
            missing = {self.baseline_key(name): self.train(name) for name in names if self.baseline_key(name) not in held}
            if missing:
                self.create_missing(missing)
        current = self.load_baseline()
        signature = self._baseline[0]
        found = []
        for name in names:
            cached = self._findings.get(name)
            if cached is None or cached[0] != signature:
                key = self.baseline_key(name)
                compared = gate.compare_all(current, {key: self.train(name)}, self.calibration,
                                            {key: sample_count(get_framing(name))},
                                            self.advice or Advice(self.baselines, self.seeds))
                cached = self._findings[name] = (signature, compared)
            found += cached[1]
        return found

    def expectations(self, name: str, checks: Sequence[str] | None = None) -> dict[str, Expectation | None]:
        """What the framing (or contract) is expected to do here, as alphabench.verdict assembles it."""
        from alphabench import compat

        return verdict.expectations(self.environment, name, compat.keras.__version__, self.path, checks)

    def expected_failure(self, name: str, check: str = "accuracy") -> Expectation | None:
        """The known deviation that breaks `check` of the framing (or contract) here, as far as its
        measurements reach this release (alphabench.verdict decides what it means), or None."""
        return self.expectations(name, (check,))[check]

    def verdict(self, name: str) -> verdict.Verdict:
        """The framing's verdict (alphabench.verdict decides), training it first if need be.

        A framing whose training raises is judged a "training" failure, expected where a known
        deviation says so; an unexpected one also prints its traceback, which may be a bug.
        """
        expected = self.expectations(name)
        try:
            self.train(name)
        except Exception as error:
            if not expected["training"]:
                traceback.print_exception(error)
            message = f"{type(error).__name__}: {error}".splitlines()[0]
            return verdict.judge(name, verdict.failures_of(name, None, [], self.path, message), expected,
                                 unexpected_pass=self.unexpected_pass)
        if self.overridden:  # expectations and baselines hold for the tutorial's settings only
            return verdict.judge(name, [], {}, judged=False)
        failures = verdict.failures_of(name, self.summary(name), self.findings([name]), self.path)
        return verdict.judge(name, failures, expected, unexpected_pass=self.unexpected_pass)

    def contract_verdict(self, name: str) -> verdict.Verdict:
        """Whether Keras keeps one of the contracts the tutorial relies on (alphabench.contracts)."""
        from alphabench import contracts  # imports Keras

        return verdict.contract_verdict(name, contracts.get_contract(name).violation(),
                                        self.expectations(name, ("contract",)), self.unexpected_pass)

    def update_baseline(self, named: Sequence[str], train_all: Callable[[Session, list[str]], None]) -> None:
        """`alphabench baseline update`: train what baseline.update_plan says, then write the file
        atomically, each change said to `announce`. `train_all(session, names)` trains (with a display).

        Whatever the environment or the file system forbids is refused before any training; a
        framing that fails to train is left out where a known deviation says it cannot, else nothing
        is written and its error is raised.
        """
        from alphabench import compat

        if self.overridden:
            raise UsageError("baselines record each framing's tutorial settings: drop --epochs/--units")
        self.check_path()
        current = self.load_baseline()  # a broken baseline file is reported now, not after the training
        plan = baseline.update_plan(current, self.path, self.seeds, list(dict.fromkeys(named)))
        runs = [(self.with_options(path=path, seeds=seeds), names) for (path, seeds), names in plan.items()]
        keys = [run.baseline_key(name) for run, names in runs for name in names]
        baseline.check_update(self.baseline_file, keys, compat.fingerprint())
        baseline.check_writable(self.baseline_file)
        results = {}
        for run, names in runs:
            train_all(run, names)
            for name in names:
                error = run.training_errors.get(name)
                if error is None:
                    results[run.baseline_key(name)] = run.train(name)
                elif run.expected_failure(name, "training"):
                    self.announce(f"{name}: not in the baseline: training failed as recorded ({type(error).__name__})")
                else:
                    raise error  # a new failure: nothing is written, and its traceback shows
        for line in baseline.update(self.baseline_file, results, self.calibration, compat.fingerprint()):
            self.announce(line)
        self.announce(f"wrote {self.baseline_file}")


def _train_alone(options: dict, name: str) -> tuple[list[SeedResult], float]:
    """In a worker process of Session.train_in_processes: one framing's results, and how long it took."""
    started = time.perf_counter()
    return Session(**options).train(name), time.perf_counter() - started
