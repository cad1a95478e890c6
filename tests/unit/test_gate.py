"""The regression rules, on hand-built results: what fails, what is only reported, and how it reads."""

from __future__ import annotations

import dataclasses

import pytest

from alphabench import gate, options
from alphabench.advice import Advice, seeds_argument
from alphabench.gate import Finding
from alphabench.results import Baseline, BaselineEntry, Settings
from fakes import ENVIRONMENT, UPGRADED, fake_results, with_probes

SAMPLES = 25  # one_char has 25 pairs: one sample is 4%
CALIBRATION = 0.2
ELSEWHERE = dataclasses.replace(ENVIRONMENT, cpu_signature="family 26 model 2 stepping 1",
                                cpu_flags=("avx", "avx2", "avx512f", "fma"))
# 20 baseline seeds spread as one_char's do: enough for 5 current seeds to be judged at the budget.
SPREAD = (0.80, 0.84, 0.84, 0.88, 0.92) * 4
BASELINE = BaselineEntry.from_results(fake_results(), CALIBRATION)
WIDE_BASELINE = BaselineEntry.from_results(fake_results(SPREAD), CALIBRATION)


def compare(results, calibration=CALIBRATION, baseline=BASELINE, baseline_env=ENVIRONMENT) -> list[Finding]:
    return gate.compare("one_char", baseline, results, calibration, baseline_env, SAMPLES)


def kinds(findings: list[Finding], without_notes=False) -> list[tuple[str, str]]:
    return [(f.kind, f.metric) for f in findings if not (without_notes and f.kind == "note")]


def test_same_bits_needs_every_field_that_decides_them_known_and_equal():
    assert ENVIRONMENT.same_bits(dataclasses.replace(ENVIRONMENT, cpu_count=16, platform="darwin"))
    assert not ENVIRONMENT.same_bits(UPGRADED)
    assert not ENVIRONMENT.same_bits(ELSEWHERE)  # one model name, another CPU generation
    assert ELSEWHERE.differences(ENVIRONMENT)[-1] == "cpu_flags -avx512f"
    unknown = dataclasses.replace(ENVIRONMENT, threads=None)  # a baseline from an older alphabench
    assert not unknown.same_bits(ENVIRONMENT) and not unknown.same_bits(unknown)


def test_identical_results_with_the_same_bits_give_no_findings():
    assert compare(fake_results()) == []


def test_a_changed_seed_with_the_same_bits_is_a_numerical_change():
    results = fake_results(accuracies=(0.80, 0.84, 0.88, 0.88, 0.92))
    results[4] = with_probes(results[4], recite="BCDEF", batch_independence=True)
    findings = compare(results)
    assert kinds(findings) == [("regression", "accuracy[seed 3]"), ("regression", "probes.recite[seed 5]")]
    assert findings[0].line() == (
        "REGRESSION one_char accuracy[seed 3]: baseline 84.00%, now 88.00%; "
        "rule: same bits and seed must reproduce the baseline exactly (numerical change)"
    )


def test_a_changed_final_loss_with_the_same_bits_is_a_numerical_change():
    results = [dataclasses.replace(r, loss_history=(*r.loss_history[:-1], 2.5)) for r in fake_results()]
    assert kinds(compare(results)) == [("regression", f"final_loss[seed {s}]") for s in range(1, 6)]


def test_elsewhere_the_note_names_what_differs_and_unchanged_seeds_pass():
    findings = compare(fake_results(environment=ELSEWHERE))
    assert kinds(findings) == [("note", "environment")]
    assert "cpu_signature family 25 model 17 stepping 1 -> family 26 model 2 stepping 1" in findings[0].line()


def test_new_seeds_with_the_same_bits_are_compared_as_a_distribution():
    assert kinds(compare(fake_results(seeds=range(6, 11))), without_notes=True) == []


def test_all_seeds_much_lower_elsewhere_is_a_regression_when_the_seeds_can_show_it():
    findings = compare(fake_results((0.4,) * 5, environment=UPGRADED), baseline=WIDE_BASELINE)
    assert kinds(findings, without_notes=True) == [("regression", "accuracy")]
    line = findings[1].line()
    assert line.startswith("REGRESSION one_char accuracy: baseline 84.00% (median of seeds 1-20), "
                           "now 40.00% (median of seeds 1-5); rule: seeds worse than the baseline's: "
                           "one-sided rank permutation test p = ")
    assert "this framing's share of the run's 1% false-alarm budget" in line


def test_too_few_seeds_to_judge_at_the_budget_is_a_change_that_says_how_many_would():
    findings = compare(fake_results((0.4,) * 5, environment=UPGRADED))  # 5 against 5: p = 1/252 at best
    assert kinds(findings, without_notes=True) == [("change", "accuracy")]
    assert "5 seeds against 5 cannot reach the budget's level (p = 0.004 at best); about" in findings[1].line()


def test_one_bad_seed_elsewhere_is_no_regression():
    results = fake_results((0.2, 0.84, 0.84, 0.88, 0.92), environment=UPGRADED)
    assert kinds(compare(results, baseline=WIDE_BASELINE), without_notes=True) == []


def test_all_seeds_above_the_best_is_a_note():
    assert ("note", "accuracy") in kinds(compare(fake_results((0.96,) * 5, environment=UPGRADED)))


def test_a_later_epochs_to_100_is_judged_with_seeds_that_never_got_there_ranked_last():
    baseline = BaselineEntry.from_results(fake_results(SPREAD, epochs_to_100=100), CALIBRATION)
    later = fake_results((1.0,) * 5, environment=UPGRADED, epochs_to_100=None)  # never reached 100%
    assert ("regression", "epochs_to_100") in kinds(compare(later, baseline=baseline))
    assert kinds(compare(fake_results(environment=UPGRADED, epochs_to_100=100), baseline=baseline),
                 without_notes=True) == []


def test_a_lost_probe_majority_elsewhere_is_a_regression_with_enough_seeds_a_change_without():
    lost = [with_probes(r, recite="BCDEF", batch_independence=True) for r in fake_results(environment=UPGRADED)]
    findings = compare(lost, baseline=WIDE_BASELINE)
    assert kinds(findings, without_notes=True) == [("regression", "probes.recite")]
    assert "baseline held on 20 of 20 seeds, now held on 0 of 5 seeds" in findings[1].line()
    assert kinds(compare(lost), without_notes=True) == [("change", "probes.recite")]


def test_a_probe_without_a_baseline_majority_is_not_judged():
    results = [with_probes(r, random_patterns=f"{15 + seed}/20") for seed, r in enumerate(fake_results())]
    baseline = BaselineEntry.from_results(results, CALIBRATION)
    assert kinds(compare(fake_results(environment=UPGRADED), baseline=baseline), without_notes=True) == []


def test_the_budget_is_shared_only_by_the_metrics_that_can_reach_it():
    level, testable = gate.tarone_level([1e-6, 1e-6, 0.5], gate.BUDGET_PER_FRAMING)
    assert testable == [True, True, False] and level == gate.BUDGET_PER_FRAMING / 2
    assert gate.BUDGET_PER_FRAMING * 8 == pytest.approx(gate.FALSE_ALARM_BUDGET)


def test_a_throughput_drop_on_the_same_machine_is_a_regression():
    findings = compare(fake_results(steps_per_second=200.0))
    assert kinds(findings) == [("regression", "throughput")]
    assert findings[0].line() == (
        "REGRESSION one_char throughput: baseline 80.0 steps per calibration time (400.0 steps/s), "
        "now 40.0 steps per calibration time (200.0 steps/s); "
        "rule: normalised throughput more than 40% below the baseline's on this machine signature"
    )


def test_a_throughput_drop_on_a_crowded_machine_is_a_change_naming_the_load():
    # 2 cores: another `pytest -n auto` worker (1 core) leaves the run its core; 1.5 cores leave it half,
    # and a 50% fall is what half a core explains (the rule's tolerance is 40%).
    assert kinds(compare(fake_results(steps_per_second=200.0, other_load=1.0))) == [("regression", "throughput")]
    assert kinds(compare(fake_results(steps_per_second=200.0, other_load=1.3))) == [("regression", "throughput")]
    crowded = compare(fake_results(steps_per_second=200.0, other_load=1.5))
    assert kinds(crowded) == [("change", "throughput")]
    assert ("but other processes kept 1.5 of the machine's 2 cores busy in its median epochs, leaving it 0.5 of a "
            "core: reported, not failed") in crowded[0].line()


def test_a_throughput_drop_against_another_machine_is_a_change_unless_an_order_of_magnitude():
    findings = compare(fake_results(steps_per_second=200.0, environment=ELSEWHERE))
    assert kinds(findings, without_notes=True) == [("change", "throughput")]
    assert "measured on another machine (cpu_signature" in findings[-1].line()
    collapsed = compare(fake_results(steps_per_second=30.0, environment=ELSEWHERE))
    assert kinds(collapsed, without_notes=True) == [("regression", "throughput")]


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


def test_nothing_to_compare_with_is_a_regression_that_names_the_command():
    results = {"one_char": fake_results(), "stateful": fake_results(framing="stateful")}
    findings = gate.compare_all(None, results, CALIBRATION, {"one_char": 25, "stateful": 25})
    assert kinds(findings) == [("regression", "baseline"), ("regression", "baseline")]
    # One command for the whole missing file, naming what was run: pasted, it creates exactly that.
    for finding in findings:
        assert "no baseline for this environment; create it with `alphabench baseline update --path fast one_char " \
               "stateful`" in finding.line()
    document = Baseline(ENVIRONMENT, CALIBRATION, {"one_char": BASELINE})
    findings = gate.compare_all(document, results, CALIBRATION, {"one_char": 25, "stateful": 25})
    assert kinds(findings) == [("regression", "baseline")] and findings[0].framing == "stateful"
    assert "no baseline for stateful in this environment; create it with `alphabench baseline update --path fast stateful`" in (
        findings[0].line())


def test_a_missing_entry_of_another_path_names_the_command_for_that_path():
    results = {"stateful@fused": fake_results(framing="stateful", path="fused")}
    document = Baseline(ENVIRONMENT, CALIBRATION, {"one_char": BASELINE})
    (finding,) = gate.compare_all(document, results, CALIBRATION, {"stateful@fused": 25})
    assert "create it with `alphabench baseline update --path fused stateful`" in finding.line()
    (finding,) = gate.compare_all(None, results, CALIBRATION, {"stateful@fused": 25})
    assert "no baseline for this environment; create it with `alphabench baseline update --path fused stateful`" in (
        finding.line())


def test_the_command_for_a_missing_baseline_carries_the_users_directory_seeds_or_pytest_command():
    results = {"one_char": fake_results()}
    advice = Advice(baselines="my dir", seeds=(2, 3))
    (finding,) = gate.compare_all(None, results, CALIBRATION, {"one_char": 25}, advice)
    assert "create it with `alphabench baseline update --baselines 'my dir' --path fast --seeds 2-3 one_char`" in (
        finding.line())
    under_pytest = Advice(pytest_args=("--alphabench", "--alphabench-baselines", "ci/b", "-k", "one_char"))
    (finding,) = gate.compare_all(None, results, CALIBRATION, {"one_char": 25}, under_pytest)
    assert finding.line().endswith(
        "create it with `pytest --alphabench --alphabench-baselines ci/b -k one_char --alphabench-update`")


def test_seed_arguments_read_back_as_the_same_seeds():
    for seeds in [(1,), (1, 2, 3), (5,), (4, 5, 6), (2, 7, 9), (0, 1)]:
        assert options.seed_list(seeds_argument(seeds)) == seeds


def test_finding_kinds_are_checked():
    with pytest.raises(ValueError, match="kind"):
        Finding("one_char", "accuracy", "84.00%", "40.00%", "rule", "warning")



def test_a_fused_path_throughput_drop_is_reported_not_failed():
    baseline = BaselineEntry.from_results(fake_results(path="fused"), CALIBRATION)
    findings = compare(fake_results(path="fused", steps_per_second=200.0), baseline=baseline)
    assert kinds(findings) == [("change", "throughput")] and "fused path: reported, not failed" in findings[0].line()


def test_packages_only_one_side_recorded_do_not_decide_the_bits():
    # A baseline made in a venv holding every backend, judged in a lean one: jax computes nothing
    # on TensorFlow, so the results must still reproduce bit for bit.
    full = dataclasses.replace(ENVIRONMENT, packages={**ENVIRONMENT.packages, "jax": "0.10.2", "tf-keras": "absent"})
    assert full.same_bits(ENVIRONMENT)
    bumped = dataclasses.replace(ENVIRONMENT, packages={**ENVIRONMENT.packages, "numpy": "2.0.0"})
    assert not full.same_bits(bumped)
    assert full.differences(bumped) == ["packages numpy 1.26.4 -> 2.0.0"]
