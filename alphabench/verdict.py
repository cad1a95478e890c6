"""What a framing's runs add up to: summary statistics and whether they show what they must.

Pure Python: the CLI, the pytest plugin and the reports all judge runs through this module.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass

from alphabench.baseline import describe_seeds, median_epochs_to_100
from alphabench.framings import ALPHABET, Framing

# What the probes must show, from ../shared/FRAMINGS.md. cold_start is the tutorial's documented
# limitation (it answers as if it were at the start of the alphabet): pinned so a change is noticed.
EXPECTED_PROBES = {"recite": ALPHABET[1:], "cold_start": "BCDEF", "batch_independence": True}
# Structural probes must hold on every seed; learnt behaviour on a majority of seeds, like accuracy.
EVERY_SEED_PROBES = {"batch_independence"}


@dataclass(frozen=True)
class Summary:
    framing: Framing
    results: tuple[dict, ...]

    @property
    def seeds(self) -> list[int]:
        return [r["seed"] for r in self.results]

    @property
    def accuracies(self) -> list[float]:
        return [r["accuracy"] for r in self.results]

    @property
    def median_accuracy(self) -> float:
        return statistics.median(self.accuracies)

    @property
    def median_epochs_to_100(self) -> float | None:
        """Median over seeds, a seed that never reached 100% counting as never (None if most didn't)."""
        median = median_epochs_to_100([r["epochs_to_100"] for r in self.results])
        return None if median == float("inf") else median

    @property
    def train_seconds(self) -> float:
        # Replicas share one training run; count each run's time once.
        return sum(r["train_seconds"] / r["replicas"] for r in self.results)

    @property
    def steps_per_second(self) -> float:
        return statistics.median(r["steps_per_second"] for r in self.results)

    def probe_values(self, probe: str) -> list:
        return [r["probes"][probe] for r in self.results if probe in r["probes"]]

    def problems(self) -> list[str]:
        """One line per way these runs fail the framing's expectations (empty: all shown)."""
        problems = []
        accuracy_problem = self.framing.expectation.violation(self.median_accuracy)
        if accuracy_problem:
            problems.append(f"{accuracy_problem} (seeds {describe_seeds(self.seeds)}: {format_accuracies(self.accuracies)})")
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


def format_accuracies(accuracies: list[float]) -> str:
    return " ".join(f"{a:.2%}" for a in accuracies)
