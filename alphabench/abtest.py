"""A/B throughput: two environments (or two versions of one) measured in turns on one machine.

A throughput stored on another machine, or on another day of a shared one, cannot tell a release
twice as slow from a slower machine. Measured in alternating rounds (ABBA...), the machine's drift
falls on both sides alike, and each round's ratio B/A is one paired observation; a one-sided
Wilcoxon signed-rank test (scipy.stats) on their logarithms says whether B is slower beyond chance,
and the median ratio how much.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass

# An A/B comparison is its own check with its own false-alarm budget.
FALSE_ALARM_BUDGET = 0.01
# Slower than this (B's throughput below 1/SLOWDOWN of A's) and significant: a regression. Smaller
# slowdowns are reported; the smallest this can resolve depends on the rounds (README).
SLOWDOWN = 1.2


def interleaved(measure_a: Callable[[], float], measure_b: Callable[[], float], rounds: int) -> list[tuple[float, float]]:
    """`rounds` pairs (a, b) of throughputs, measured A then B, then B then A, and so on."""
    pairs = []
    for round_number in range(rounds):
        if round_number % 2 == 0:
            a = measure_a()
            b = measure_b()
        else:
            b = measure_b()
            a = measure_a()
        pairs.append((a, b))
    return pairs


@dataclass(frozen=True)
class Comparison:
    pairs: tuple[tuple[float, float], ...]

    @property
    def ratio(self) -> float:
        """B's throughput over A's, the median over rounds (0.5: B takes twice as long)."""
        return statistics.median(b / a for a, b in self.pairs)

    @property
    def p_value(self) -> float:
        """One-sided: that B is slower than A (exact signed-rank distribution for small samples)."""
        from scipy import stats

        logs = [math.log(b / a) for a, b in self.pairs]
        if all(value == 0 for value in logs):
            return 1.0
        return float(stats.wilcoxon(logs, alternative="less").pvalue)

    @property
    def slower(self) -> bool:
        return self.p_value <= FALSE_ALARM_BUDGET and self.ratio < 1 / SLOWDOWN

    def line(self, a: str, b: str) -> str:
        verdict = "REGRESSION" if self.slower else "ok"
        return (f"{verdict}: {b} trains at {self.ratio:.2f}x the throughput of {a} (median of {len(self.pairs)} "
                f"alternating rounds; one-sided Wilcoxon p = {self.p_value:.2g}; fails below "
                f"1/{SLOWDOWN:g} at p <= {FALSE_ALARM_BUDGET:g})")
