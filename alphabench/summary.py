"""What a framing's seeds add up to: medians, majorities, and what the tutorial says they must show.

Pure Python; alphabench.verdict turns these problems and the gate's findings into the verdict.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from alphabench.framings import ALPHABET, Framing
from alphabench.results import SeedResult, describe_seeds, format_accuracies, median_epochs_to_100

# What the probes must show (README, "Framings"). cold_start is the tutorial's documented
# limitation (it answers as if it were at the start of the alphabet): pinned so a change is noticed.
EXPECTED_PROBES = {"recite": ALPHABET[1:], "cold_start": "BCDEF", "batch_independence": True}
# Structural probes must hold on every seed; learnt behaviour on a majority of seeds, like accuracy.
EVERY_SEED_PROBES = {"batch_independence"}


@dataclass(frozen=True)
class Summary:
    framing: Framing
    results: tuple[SeedResult, ...]

    @property
    def seeds(self) -> list[int]:
        return [r.seed for r in self.results]

    @property
    def accuracies(self) -> list[float]:
        return [r.accuracy for r in self.results]

    @property
    def median_accuracy(self) -> float:
        return statistics.median(self.accuracies)

    @property
    def median_epochs_to_100(self) -> float | None:
        """Median over seeds, a seed that never reached 100% counting as never (None if most didn't)."""
        median = median_epochs_to_100([r.epochs_to_100 for r in self.results])
        return None if median == float("inf") else median

    @property
    def train_seconds(self) -> float:
        # Replicas share one training run; count each run's time once.
        return sum(r.train_seconds / r.replicas for r in self.results)

    @property
    def steps_per_second(self) -> float:
        return statistics.median(r.steps_per_second for r in self.results)

    def probe_values(self, probe: str) -> list:
        return [r.probes[probe] for r in self.results if probe in r.probes]

    def accuracy_problem(self) -> str | None:
        """How the median accuracy breaks the framing's expectation, or None."""
        problem = self.framing.expectation.violation(self.median_accuracy)
        if problem is None:
            return None
        return f"{problem} (seeds {describe_seeds(self.seeds)}: {format_accuracies(self.accuracies)})"

    def probe_problems(self) -> list[str]:
        """One line per probe that does not show what it must on enough seeds."""
        problems = []
        for probe, expected in EXPECTED_PROBES.items():
            values = self.probe_values(probe)
            if not values:
                continue
            held = sum(value == expected for value in values)
            needed = len(values) if probe in EVERY_SEED_PROBES else len(values) // 2 + 1
            if held < needed:
                problems.append(
                    f"probe {probe}: expected {expected!r} on {needed}/{len(values)} seeds, "
                    f"held on {held} (got {values})"
                )
        return problems

