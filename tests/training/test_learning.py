"""What each framing must reach and show, trained for real on the installed Keras (slow tier)."""

import pytest

from alphabench.framings import FRAMINGS
from alphabench.pytest_plugin import expect_known_deviation, framing_params
from alphabench.summary import EXPECTED_PROBES

pytestmark = pytest.mark.slow


@pytest.fixture
def judged(alphabench):
    """The session, when its settings are the tutorial's (expectations and baselines hold for those)."""
    if alphabench.overridden:
        pytest.skip("--alphabench-epochs/--alphabench-units override the tutorial's settings")
    return alphabench


@pytest.mark.parametrize("name", framing_params(FRAMINGS))
def test_accuracy_meets_expectation(judged, request, name):
    expect_known_deviation(request, judged, name, "accuracy")
    problems = judged.verdict(name).lines("accuracy")
    assert not problems, f"{problems[0]} ({judged.framing(name).expectation.why})"


PROBED = [name for name, f in FRAMINGS.items() if set(f.probes) & set(EXPECTED_PROBES)]


@pytest.mark.parametrize("name", framing_params(PROBED))
def test_probes_show_expected_behaviour(judged, request, name):
    expect_known_deviation(request, judged, name, "probes")
    problems = judged.verdict(name).lines("probes")
    assert not problems, "; ".join(problems)


@pytest.mark.parametrize("name", framing_params(FRAMINGS))
def test_no_regression_against_baseline(judged, request, name):
    expect_known_deviation(request, judged, name, "baseline")
    regressions = judged.verdict(name).lines("baseline")
    assert not regressions, "\n".join(regressions)


# The tutorial's lessons, as comparisons between framings (all in the "lessons" xdist group).


@pytest.mark.xdist_group("lessons")
def test_timestep_window_beats_feature_window(judged):
    timesteps, features = judged.summary("timestep_window"), judged.summary("feature_window")
    assert timesteps.median_accuracy > features.median_accuracy, (timesteps.accuracies, features.accuracies)


@pytest.mark.xdist_group("lessons")
def test_stateful_recites_the_alphabet_and_one_char_does_not_reach_it(judged, request):
    expect_known_deviation(request, judged, "stateful", "lessons")
    recitations = judged.summary("stateful").probe_values("recite")
    assert recitations.count(EXPECTED_PROBES["recite"]) > len(recitations) / 2, recitations
    one_char = judged.summary("one_char")
    assert one_char.median_accuracy < 1.0, one_char.accuracies


# The tutorial's own calls in full: fit's own shuffle, its epoch loop and fit-then-reset_states, one
# seed each, gated against the baseline's "<framing>@reference" entries. On purpose only (minutes on
# batch-1 fit): every default run checks what fit adds through the contracts (fit_shuffles,
# fit_reshuffles, reset_zeroes_state, state_carries_between_batches), fit against the fast path in
# test_equivalence.py, and the golden trajectories through train_on_batch.
REFERENCE_SEEDS = (1,)


@pytest.mark.thorough
@pytest.mark.parametrize("name", ["timestep_window", "stateful"])
def test_reference_path_reaches_the_tutorials_result_and_its_baseline(alphabench, request, name):
    session = alphabench.with_options(seeds=REFERENCE_SEEDS, path="reference")  # its epochs, baselines, ...
    expect_known_deviation(request, session, name, "reference")
    failures = session.verdict(name).lines("reference")
    assert not failures, "\n".join(failures)
