"""One run of the suite: which framings, with which settings; their results; the verdict.

The CLI and the pytest plugin are thin shells over a Session: it trains each framing at most once
(tests of one framing share its results), judges the runs and compares them with the environment's
baseline. It imports Keras (through the trainer) only when something is trained.
"""

from __future__ import annotations

import dataclasses
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from alphabench import baseline, gate, verdict
from alphabench.calibration import calibration_seconds
from alphabench.data import sample_count
from alphabench.deviations import Expectation, known_deviation
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
    results: dict[str, list[SeedResult]] = field(default_factory=dict)
    training_errors: dict[str, BaseException] = field(default_factory=dict)
    _calibration: float | None = None

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

    def load_baseline(self) -> Baseline | None:
        """The environment's baseline, None if there is none yet; a broken one raises BaselineError."""
        return baseline.load(self.baseline_file) if self.baseline_file.exists() else None

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
        names = list(names or self.results)
        results = {self.baseline_key(name): self.train(name) for name in names}
        if self.update:
            self.create_missing(results)
        return gate.compare_all(
            self.load_baseline(),
            results,
            self.calibration,
            {self.baseline_key(name): sample_count(get_framing(name)) for name in names},
        )

    def expected_failure(self, name: str, check: str = "accuracy") -> Expectation | None:
        from alphabench import compat

        return known_deviation(self.environment, name, check, compat.keras.__version__, self.path)

    def verdict(self, name: str) -> verdict.Verdict:
        """The framing's verdict (alphabench.verdict decides), training it first if need be.

        A framing whose training raises is judged a "training" failure, expected where a known
        deviation says so; an unexpected one also prints its traceback, which may be a bug.
        """
        checks = ["training"] + [verdict.check_name(c, self.path) for c in ("accuracy", "probes", "baseline")]
        expected = {check: self.expected_failure(name, check) for check in checks}
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

        seen = contracts.get_contract(name).violation()
        failures = [verdict.Failure("contract", seen, name)] if seen else []
        return verdict.judge(name, failures, {"contract": self.expected_failure(name, "contract")},
                             unexpected_pass=self.unexpected_pass)
