"""The statistics behind the cross-environment rules: exact rank tests and a false-alarm budget.

Seeds in two environments are two samples; if nothing changed they come from one distribution and
are exchangeable. Each rule asks one one-sided question ("are the current seeds worse?") with a
permutation test of their ranks (the Mann-Whitney statistic): exact where the arrangements can be
enumerated, and valid with ties (accuracies are multiples of 1/samples) and with seeds that never
reached 100% (ranked last). scipy.stats does the permutation test.

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

EXACT_ARRANGEMENTS = 50_000  # up to this many arrangements the test enumerates them all
RANDOM_ARRANGEMENTS = 50_000  # beyond, a fixed-seed sample: the same data give the same p


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
    ranks = stats.rankdata(pooled)  # midranks for ties; inf (never reached 100%) ranks last
    if min(len(now), len(before)) < 2:  # scipy wants two of each; one value's rank among N is the test
        mine = ranks[0] if len(now) == 1 else ranks[len(now)]
        extreme = np.sum(ranks <= mine) if (len(now) == 1) == lower_is_worse else np.sum(ranks >= mine)
        return float(extreme / len(ranks))
    arrangements = math.comb(len(pooled), len(now))
    result = stats.permutation_test(
        (ranks[: len(now)], ranks[len(now):]),
        lambda x, y, axis: np.mean(x, axis=axis) - np.mean(y, axis=axis),
        permutation_type="independent",
        vectorized=True,
        n_resamples=arrangements if arrangements <= EXACT_ARRANGEMENTS else RANDOM_ARRANGEMENTS,
        alternative="less" if lower_is_worse else "greater",
        rng=0,
    )
    return float(result.pvalue)


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
