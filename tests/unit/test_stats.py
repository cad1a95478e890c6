"""The gate's rank test, held to scipy's exact permutation test, and the false-alarm budget."""

import math

import numpy as np
import pytest
from scipy import stats as scipy_stats

from alphabench import stats


def scipy_exact_p_value(now, before, lower_is_worse):
    """The reference: scipy's permutation test of the mean rank, every arrangement enumerated."""
    ranks = scipy_stats.rankdata([*now, *before])
    return scipy_stats.permutation_test(
        (ranks[: len(now)], ranks[len(now):]),
        lambda x, y, axis: np.mean(x, axis=axis) - np.mean(y, axis=axis),
        permutation_type="independent", vectorized=True,
        n_resamples=math.comb(len(ranks), len(now)),
        alternative="less" if lower_is_worse else "greater",
    ).pvalue


@pytest.mark.parametrize("draw", range(40))
def test_the_rank_test_gives_scipys_exact_p_value_with_ties_and_never_reached(draw):
    rng = np.random.default_rng(draw)
    now_size, before_size = rng.integers(2, 8, size=2)
    # Accuracies are multiples of 1/25, so ties are common; inf is a seed that never reached 100%.
    values = rng.choice([*np.arange(20, 26) / 25, np.inf], size=now_size + before_size)
    now, before = values[:now_size].tolist(), values[now_size:].tolist()
    if len(set(values)) == 1:
        pytest.skip("all tied: scipy's statistic is 0 everywhere")
    for lower_is_worse in (True, False):
        assert stats.worse_p_value(now, before, lower_is_worse) == pytest.approx(
            scipy_exact_p_value(now, before, lower_is_worse), rel=1e-9)


def test_one_value_against_many_is_its_rank_among_them():
    assert stats.worse_p_value([0.5], [0.6, 0.7, 0.8], lower_is_worse=True) == 0.25
    assert stats.worse_p_value([0.9, 0.9, 0.9], [0.8], lower_is_worse=False) == 0.25
    assert stats.worse_p_value([0.7, 0.7, 0.7], [0.8], lower_is_worse=False) == 1.0


def test_all_tied_is_no_evidence():
    assert stats.worse_p_value([1.0, 1.0], [1.0, 1.0, 1.0], lower_is_worse=True) == 1.0


def test_complete_separation_reaches_one_arrangement_in_all_even_beyond_64_bit_counts():
    now, before = [0.1] * 40, [0.9] * 40
    assert stats.worse_p_value(now, before, lower_is_worse=True) == pytest.approx(1 / math.comb(80, 40))
    assert stats.Comparison("accuracy", tuple(before), tuple(now), True).smallest_p_value == pytest.approx(
        1 / math.comb(80, 40))


def test_tarone_gives_no_share_to_tests_that_cannot_reach_the_level():
    level, testable = stats.tarone_level([0.001, 0.5, 0.5], budget=0.01)
    assert level == 0.01 and testable == [True, False, False]
    level, testable = stats.tarone_level([0.001, 0.004, 0.5], budget=0.01)
    assert level == 0.005 and testable == [True, True, False]


def test_seeds_needed_is_the_fewest_that_can_separate_at_the_level():
    needed = stats.seeds_needed(9, level=0.01 / 8)
    assert 1 / math.comb(9 + needed, needed) <= 0.01 / 8 < 1 / math.comb(9 + needed - 1, needed - 1)
