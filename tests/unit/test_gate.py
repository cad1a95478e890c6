"""The regression rules, on hand-built results: what fails, what is only reported, and how it reads."""

from __future__ import annotations

import dataclasses

import pytest

from alphabench import gate
from alphabench.gate import Finding
from alphabench.results import Baseline, BaselineEntry, Settings
from fakes import ENVIRONMENT, RECITED, UPGRADED, fake_results, with_probes

SAMPLES = 25  # one_char has 25 pairs: one sample is 4%
CALIBRATION = 0.2


BASELINE = BaselineEntry.from_results(fake_results(), CALIBRATION)


def compare(results, calibration=CALIBRATION, baseline=BASELINE, baseline_env=ENVIRONMENT) -> list[Finding]:
    return gate.compare("one_char", baseline, results, calibration, baseline_env, SAMPLES)


def kinds(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(finding.kind, finding.metric) for finding in findings]


def test_false_alarm_rate():
    assert gate.false_alarm_rate(5, 5) == 1 / 252
    assert gate.false_alarm_rate(5, 1) == 1 / 6


def test_same_environment_ignores_the_machine_count_and_platform():
    assert gate.same_environment(ENVIRONMENT, dataclasses.replace(ENVIRONMENT, cpu_count=16))
    assert not gate.same_environment(ENVIRONMENT, UPGRADED)


def test_identical_results_in_the_same_environment_give_no_findings():
    assert compare(fake_results()) == []


def test_a_changed_seed_in_the_same_environment_is_a_numerical_change():
    results = fake_results(accuracies=(0.80, 0.84, 0.88, 0.88, 0.92))
    results[4] = with_probes(results[4], recite="BCDEF", batch_independence=True)
    findings = compare(results)
    assert kinds(findings) == [("regression", "accuracy[seed 3]"), ("regression", "probes.recite[seed 5]")]
    assert findings[0].line() == (
        "REGRESSION one_char accuracy[seed 3]: baseline 84.00%, now 88.00%; "
        "rule: same environment and seed must reproduce the baseline exactly (numerical change)"
    )


def test_new_seeds_in_the_same_environment_are_compared_as_a_distribution():
    assert compare(fake_results(seeds=range(6, 11))) == []


def test_all_seeds_much_lower_in_another_environment_is_a_regression():
    findings = compare(fake_results(accuracies=(0.4,) * 5, environment=UPGRADED))
    assert kinds(findings) == [("regression", "accuracy")]
    assert findings[0].line() == (
        "REGRESSION one_char accuracy: baseline 84.00% (median of seeds 1-5), now 40.00% (median of seeds 1-5); "
        "rule: every seed below the baseline's worst by >= 1 sample (false-alarm rate 0.40%)"
    )


def test_all_seeds_exactly_one_sample_below_the_worst_is_a_regression():
    findings = compare(fake_results(accuracies=(0.76,) * 5, environment=UPGRADED))
    assert kinds(findings) == [("regression", "accuracy")]


def test_one_bad_seed_in_another_environment_is_no_regression():
    assert compare(fake_results(accuracies=(0.2, 0.84, 0.84, 0.88, 0.92), environment=UPGRADED)) == []


def test_all_seeds_above_the_best_is_a_note():
    findings = compare(fake_results(accuracies=(0.96,) * 5, environment=UPGRADED))
    assert kinds(findings) == [("note", "accuracy")]


def test_a_large_move_of_epochs_to_100_is_reported_not_failed():
    baseline = BaselineEntry.from_results(fake_results(epochs_to_100=100), CALIBRATION)
    findings = compare(fake_results(epochs_to_100=200, environment=UPGRADED), baseline=baseline)
    assert kinds(findings) == [("change", "epochs_to_100")]
    assert "baseline 100 (median of seeds 1-5), now 200 (median of seeds 1-5)" in findings[0].line()
    assert compare(fake_results(epochs_to_100=140, environment=UPGRADED), baseline=baseline) == []


def test_a_changed_probe_majority_in_another_environment_is_a_regression():
    probes = {"recite": "BCDEF", "batch_independence": True}
    results = fake_results(environment=UPGRADED)
    results[:3] = [with_probes(result, **probes) for result in results[:3]]
    findings = compare(results)
    assert kinds(findings) == [("regression", "probes.recite")]
    assert findings[0].line() == (
        f"REGRESSION one_char probes.recite: baseline {RECITED!r} on 5 of 5 seeds, "
        f"now {RECITED!r} on 2 of 5 seeds (most common now: 'BCDEF'); "
        "rule: the outcome of most baseline seeds must stay the outcome of most seeds"
    )


def test_a_probe_without_a_baseline_majority_is_not_judged():
    results = [with_probes(result, random_patterns=f"{15 + seed}/20") for seed, result in enumerate(fake_results())]
    baseline = BaselineEntry.from_results(results, CALIBRATION)
    assert compare(fake_results(environment=UPGRADED), baseline=baseline) == []


def test_a_throughput_drop_beyond_the_tolerance_is_a_regression():
    findings = compare(fake_results(steps_per_second=200.0))
    assert kinds(findings) == [("regression", "throughput")]
    assert findings[0].line() == (
        "REGRESSION one_char throughput: baseline 80.0 steps per calibration time (400.0 steps/s), "
        "now 40.0 steps per calibration time (200.0 steps/s); "
        "rule: normalised throughput more than 40% below the baseline's"
    )


def test_a_reference_path_throughput_drop_is_reported_not_failed():
    baseline = BaselineEntry.from_results(fake_results(path="reference"), CALIBRATION)
    findings = compare(fake_results(path="reference", steps_per_second=200.0), baseline=baseline)
    assert kinds(findings) == [("change", "throughput")]
    assert "reference path: reported, not failed" in findings[0].line()


def test_throughput_is_normalised_by_the_calibration():
    # Half the steps per second on a machine twice as slow: the same normalised throughput.
    assert compare(fake_results(steps_per_second=200.0), calibration=2 * CALIBRATION) == []


def test_a_throughput_drop_within_the_tolerance_is_fine():
    assert compare(fake_results(steps_per_second=300.0)) == []


def test_a_throughput_rise_beyond_the_tolerance_is_a_note():
    assert kinds(compare(fake_results(steps_per_second=600.0))) == [("note", "throughput")]


def test_missing_calibration_is_a_note():
    findings = compare(fake_results(), calibration=None)
    assert kinds(findings) == [("note", "throughput")]
    assert "uncalibrated (400.0 steps/s)" in findings[0].line()


def test_other_settings_give_only_a_note():
    results = fake_results(accuracies=(0.1,) * 5, settings=Settings(32, 50, 1, True, False))
    findings = compare(results)
    assert kinds(findings) == [("note", "settings")]
    assert findings[0].line() == (
        "NOTE one_char settings: baseline epochs 3, now epochs 50; rule: no valid comparison across "
        "training settings; `alphabench baseline update` makes a baseline for these"
    )


def test_compare_all_without_a_baseline_fails_each_framing_with_the_command_that_creates_it():
    # A check with nothing to compare against is a failure, not a pass (as in pytest-regressions).
    results = {"one_char": fake_results(), "stateful": fake_results(framing="stateful")}
    findings = gate.compare_all(None, results, CALIBRATION, {"one_char": 25, "stateful": 25})
    assert kinds(findings) == [("regression", "baseline"), ("regression", "baseline")]
    assert "no baseline for this environment; create it with `alphabench baseline update`" in findings[0].line()


def test_compare_all_fails_a_framing_missing_from_the_baseline():
    document = Baseline(ENVIRONMENT, CALIBRATION, {"one_char": BASELINE})
    results = {"one_char": fake_results(), "stateful": fake_results(framing="stateful")}
    findings = gate.compare_all(document, results, CALIBRATION, {"one_char": 25, "stateful": 25})
    assert kinds(findings) == [("regression", "baseline")]
    assert findings[0].framing == "stateful"


def test_finding_kinds_are_checked():
    with pytest.raises(ValueError, match="kind"):
        Finding("one_char", "accuracy", "84.00%", "40.00%", "rule", "warning")


def test_a_throughput_drop_against_a_baseline_from_another_cpu_is_reported_not_failed():
    findings = compare(fake_results(steps_per_second=200.0), baseline_env=dataclasses.replace(ENVIRONMENT, cpu="Other CPU"))
    assert kinds(findings) == [("change", "throughput")]
    assert "baseline measured on another CPU, Other CPU: reported, not failed" in findings[0].line()
