"""The statistics behind the cross-environment rules: exact rank tests and a false-alarm budget.

Seeds in two environments are two samples; if nothing changed they come from one distribution and
are exchangeable. Each rule asks one one-sided question ("are the current seeds worse?") with a
permutation test of their ranks (the Mann-Whitney statistic), exact and valid with ties (accuracies
are multiples of 1/samples) and with seeds that never reached 100% (ranked last). It counts how many
of the equally likely arrangements give each rank sum, one value at a time, rather than listing the
arrangements as scipy.stats.permutation_test does (in Python, so slowly, and by sampling beyond a
limit): exact at any size, and held to scipy's own enumeration by tests/unit/test_stats.py.

The tests of one framing share its slice of the run's false-alarm budget by Tarone's rule for
discrete tests: a test whose most extreme possible outcome cannot reach the level can never fire,
so it takes no share; the others split the slice evenly (Bonferroni among them). The family-wise
false-alarm rate of a run is then at most the budget, however many framings it judges.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Comparison:
    """One one-sided question about a metric: is `now` worse than `before`?"""

    metric: str
    before: tuple[float, ...]
    now: tuple[float, ...]
    lower_is_worse: bool  # accuracy: lower is worse; loss, epochs to 100%: higher is worse

    @property
    def p_value(self) -> float:
        return worse_p_value(self.now, self.before, self.lower_is_worse)

    @property
    def smallest_p_value(self) -> float:
        """The p-value of the most extreme arrangement of these very values: the test's reach."""
        pooled = sorted(self.before + self.now, reverse=not self.lower_is_worse)
        worst = pooled[: len(self.now)]
        return worse_p_value(worst, pooled[len(self.now):], self.lower_is_worse)


def worse_p_value(now: Sequence[float], before: Sequence[float], lower_is_worse: bool) -> float:
    """One-sided p-value that `now` ranks worse than `before` (exchangeable under no change)."""
    from scipy import stats

    pooled = np.asarray([*now, *before], dtype=float)
    if np.all(pooled == pooled[0]):
        return 1.0  # all tied: no arrangement is more extreme than another
    # Midranks for ties are halves: doubled, every rank sum is an integer. inf (never reached 100%)
    # ranks last.
    ranks = np.rint(2 * stats.rankdata(pooled)).astype(int)
    observed = int(ranks[: len(now)].sum())
    arrangements = _rank_sum_counts(ranks, len(now))
    worse = arrangements[: observed + 1] if lower_is_worse else arrangements[observed:]
    return float(worse.sum() / arrangements.sum())


def _rank_sum_counts(ranks: np.ndarray, size: int) -> np.ndarray:
    """counts[s]: how many ways of choosing `size` of the (integer) `ranks` sum to s.

    One pass over the ranks: ways[k, s] counts the subsets of the ranks seen so far with k members
    summing to s, and each rank either joins a subset of k - 1 or stays out. Floats, not integers:
    the counts outgrow 64 bits (80 choose 40 is 1e23), and only their ratios are wanted.
    """
    ways = np.zeros((size + 1, int(ranks.sum()) + 1))
    ways[0, 0] = 1.0
    for rank in ranks:
        ways[1:, rank:] = ways[1:, rank:] + ways[:-1, : ways.shape[1] - rank]
    return ways[size]


def tarone_level(smallest_p_values: Sequence[float], budget: float) -> tuple[float, list[bool]]:
    """(level, testable): the level each testable test is judged at, and which tests can reach it.

    Tarone (1990): the smallest k such that at most k tests can reach budget / k; those are judged
    at budget / k, the rest cannot fire and are only reported.
    """
    for k in range(1, len(smallest_p_values) + 1):
        level = budget / k
        testable = [p <= level for p in smallest_p_values]
        if sum(testable) <= k:
            return level, testable
    return budget, [False] * len(smallest_p_values)


def seeds_needed(baseline_seeds: int, level: float) -> int:
    """Current seeds that, against `baseline_seeds` untied values, let complete separation reach `level`."""
    current = 1
    while 1 / math.comb(baseline_seeds + current, current) > level:
        current += 1
    return current
