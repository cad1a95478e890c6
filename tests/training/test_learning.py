"""What each framing must reach and show, trained for real on the installed Keras (slow tier)."""

import pytest

from alphabench.framings import FRAMINGS
from alphabench.pytest_plugin import expect_known_deviation, framing_params
from alphabench.verdict import EXPECTED_PROBES

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("name", framing_params(FRAMINGS))
def test_accuracy_meets_expectation(alphabench, request, name):
    expect_known_deviation(request, alphabench, name)
    summary = alphabench.summary(name)
    problem = summary.framing.expectation.violation(summary.median_accuracy)
    assert problem is None, f"{name}: {problem}; per seed {summary.accuracies} ({summary.framing.expectation.why})"


PROBED = [name for name, f in FRAMINGS.items() if set(f.probes) & set(EXPECTED_PROBES)]


@pytest.mark.parametrize("name", framing_params(PROBED))
def test_probes_show_expected_behaviour(alphabench, request, name):
    expect_known_deviation(request, alphabench, name)
    problems = [p for p in alphabench.summary(name).problems() if p.startswith("probe")]
    assert not problems, f"{name}: " + "; ".join(problems)


@pytest.mark.parametrize("name", framing_params(FRAMINGS))
def test_no_regression_against_baseline(alphabench, name):
    alphabench.train(name)
    if alphabench.epochs or alphabench.units:
        pytest.skip("settings overridden: the baselines record the tutorial's settings")
    findings = alphabench.findings([name])
    regressions = [f.line() for f in findings if f.kind == "regression"]
    assert not regressions, "\n".join(regressions)


# The tutorial's lessons, as comparisons between framings (all in the "lessons" xdist group).


@pytest.mark.xdist_group("lessons")
def test_timestep_window_beats_feature_window(alphabench):
    timesteps, features = alphabench.summary("timestep_window"), alphabench.summary("feature_window")
    assert timesteps.median_accuracy > features.median_accuracy, (timesteps.accuracies, features.accuracies)


@pytest.mark.xdist_group("lessons")
def test_stateful_recites_the_alphabet_and_one_char_does_not_reach_it(alphabench):
    recitations = alphabench.summary("stateful").probe_values("recite")
    assert recitations.count(EXPECTED_PROBES["recite"]) > len(recitations) / 2, recitations
    one_char = alphabench.summary("one_char")
    assert one_char.median_accuracy < 1.0, one_char.accuracies


# The fast path shuffles itself and resets state from a callback; these runs keep fit's own shuffle,
# its epoch loop and the tutorial's fit-then-reset_states pattern exercised in every default run.
@pytest.mark.parametrize("name", ["timestep_window", "stateful"])
def test_reference_path_reaches_the_tutorials_result(request, name):
    from alphabench.session import Session

    session = Session(seeds=(1,), path="reference")
    expect_known_deviation(request, session, name)
    summary = session.summary(name)
    assert summary.problems() == [], summary.problems()
