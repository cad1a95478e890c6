import argparse

import pytest

from alphabench.framings import get_framing
from alphabench.deviations import KnownDeviation
from alphabench.options import add_unexpected_pass_option, positive_int, seed_list
from alphabench import verdict
from alphabench.summary import Summary
from fakes import fake_result


@pytest.mark.parametrize("text, seeds", [("3", (1, 2, 3)), ("4-6", (4, 5, 6)), ("2,7,9", (2, 7, 9)), ("0-1", (0, 1))])
def test_seed_lists(text, seeds):
    assert seed_list(text) == seeds


@pytest.mark.parametrize("text, refused", [
    ("", "seeds must look like 3 (seeds 1-3), 1-5 or 2,7,9"),
    ("a", "seeds must look like 3"),
    ("1,x", "seeds must look like 3"),
    ("1,1", "each seed once; got '1,1'"),
    ("5-3", "'5-3' is a reversed range; did you mean 3-5?"),
    ("-2", "seeds are integers from 0 up; got '-2'"),
    ("0", "'0' asks for no seeds: a count is at least 1 (3 means seeds 1-3; seed 0 alone is 0-0)"),
    ("1-100000", "100000 seeds is more than the 256 a run trains"),
    ("257", "257 seeds is more than the 256 a run trains"),
])
def test_bad_seed_lists_are_refused_saying_which_rule(text, refused):
    with pytest.raises(argparse.ArgumentTypeError) as error:
        seed_list(text)
    assert str(error.value).startswith(refused)


def test_seed_zero_is_allowed_as_the_message_says():
    assert seed_list("0-0") == (0,) and seed_list("0,3") == (0, 3) and len(seed_list("256")) == 256


@pytest.mark.parametrize("text", ["0", "-5", "x", "1.5"])
def test_positive_int_refuses(text):
    with pytest.raises(argparse.ArgumentTypeError, match="positive integer"):
        positive_int(text)


def result(seed, accuracy, probes, epochs_to_100=None):
    return fake_result(seed, accuracy, framing="stateful", probes=probes, epochs_to_100=epochs_to_100,
                       train_seconds=3.0, replicas=3)


def test_summary_uses_the_median_and_a_majority_for_learnt_probes():
    recite = "BCDEFGHIJKLMNOPQRSTUVWXYZ"
    runs = (result(1, 1.0, {"recite": recite, "cold_start": "BCDEF"}, 40),
            result(2, 0.96, {"recite": "BCDD", "cold_start": "BCDEF"}),
            result(3, 1.0, {"recite": recite, "cold_start": "BCDEF"}, 60))
    summary = Summary(get_framing("stateful"), runs)
    assert summary.median_accuracy == 1.0 and summary.median_epochs_to_100 == 60
    assert summary.accuracy_problem() is None and summary.probe_problems() == []
    assert summary.train_seconds == pytest.approx(3.0)


def test_summary_reports_a_broken_majority_and_any_batch_dependence():
    runs = tuple(result(s, 1.0, {"recite": "BBBB", "cold_start": "BCDEF"}) for s in (1, 2, 3))
    assert any("probe recite" in p for p in Summary(get_framing("stateful"), runs).probe_problems())
    runs = (result(1, 1.0, {"batch_independence": True}), result(2, 1.0, {"batch_independence": False}),
            result(3, 1.0, {"batch_independence": True}))
    assert any("probe batch_independence" in p for p in Summary(get_framing("batch_state"), runs).probe_problems())


def failure(check):
    return verdict.Failure(check, f"{check} failed")


@pytest.mark.parametrize(
    "failed, expected, status",
    [
        ((), {}, "ok"),
        (("accuracy",), {}, "FAIL"),
        (("accuracy",), {"accuracy": "why"}, "expected failure"),
        ((), {"accuracy": "why"}, "UNEXPECTED PASS"),
        (("accuracy", "baseline"), {"accuracy": "why"}, "FAIL"),  # the deviation explains only accuracy
        (("training",), {"training": "why"}, "expected failure"),
        ((), {"training": "why"}, "UNEXPECTED PASS"),
        (("accuracy",), {"accuracy": None}, "FAIL"),  # no deviation recorded for this check
    ],
)
def test_one_function_decides_a_framings_verdict(failed, expected, status):
    decided = verdict.judge("one_char", [failure(check) for check in failed], expected)
    assert decided.status == status
    assert decided.fails_run == (status in ("FAIL", "UNEXPECTED PASS"))


def test_the_runs_verdict_and_exit_status_follow_from_the_framings():
    ok, failed = verdict.judge("one_char", [], {}), verdict.judge("stateful", [failure("accuracy")], {})
    assert verdict.RunVerdict((ok,)).line() == "verdict: ok: 1/1 framings as expected"
    assert verdict.RunVerdict((ok,)).exit_status == 0
    run = verdict.RunVerdict((ok, failed))
    assert run.line() == "verdict: FAIL (stateful): 1/2 framings as expected" and run.exit_status == 1
    broken = verdict.judge("adam_step", [verdict.Failure("contract", "contract adam_step: ...")], {})
    with_contracts = verdict.RunVerdict((ok,), (broken,))
    assert with_contracts.line() == "verdict: FAIL (adam_step): 1/1 framings and 0/1 contracts as expected"
    assert with_contracts.exit_status == 1
    unjudged = verdict.RunVerdict((verdict.judge("one_char", [], {}, judged=False),))
    assert unjudged.line().startswith("verdict: not judged") and unjudged.exit_status == 0


# A deviation measured bad on 3.0.5 and 3.14.0, good on 3.13.2: two ranges, [3.0.5, 3.13.2) and [3.14.0, ...).
CANNOT_TRAIN = KnownDeviation("keras3-torch", "stateful", ("training",), "cannot train",
                              measured_bad=("3.0.5", "3.14.0"), measured_good=("3.13.2",))


def _judged(release, fails, unexpected_pass="fail"):
    expected = {check: CANNOT_TRAIN.expectation(release) for check in ("training", "accuracy")}
    return verdict.judge("stateful", [failure("training")] if fails else [], expected, unexpected_pass=unexpected_pass)


@pytest.mark.parametrize(
    "release, fails, status, fails_run, note",
    [
        # (a) measured bad: it must fail; a pass is an unexpected pass.
        ("3.0.5", True, "expected failure", False, None),
        ("3.0.5", False, "UNEXPECTED PASS", True, None),
        # (c) inside a range, not measured: a failure is expected, with a note; a pass is unexpected.
        ("3.5.0", True, "expected failure", False, "Keras 3.5.0 not measured: between 3.0.5 (bad) and 3.13.2 (good)"),
        ("3.5.0", False, "UNEXPECTED PASS", True, "and it passes: the range is wrong here"),
        # (b) newer than the last release measured, which was bad: known, still present; or maybe fixed.
        ("3.20.0", True, "expected failure", False, "known, still present in Keras 3.20.0 (last measured 3.14.0)"),
        ("3.20.0", False, "ok", False, "not shown in Keras 3.20.0: it may be fixed (last measured bad 3.14.0"),
        # Older than a range's first measured bad release, not measured: explained if it shows.
        ("3.13.5", True, "expected failure", False, "known, present in Keras 3.13.5 (not measured; first measured bad 3.14.0)"),
        ("3.13.5", False, "ok", False, None),
        # Measured good: the deviation does not hold there, a failure is a regression.
        ("3.13.2", True, "FAIL", True, None),
        ("3.13.2", False, "ok", False, None),
    ],
)
def test_a_deviation_is_judged_by_how_far_its_measurements_reach(release, fails, status, fails_run, note):
    decided = _judged(release, fails)
    assert (decided.status, decided.fails_run) == (status, fails_run)
    notes = [line for line in decided.explanations() if line.startswith("note stateful: ")]
    assert notes == ([f"note stateful: {note}"] if note else []) or note in notes[0]
    if status == "UNEXPECTED PASS":  # said prominently, naming what was recorded
        assert f"UNEXPECTED PASS stateful: recorded as failing (training) on Keras {release}, but passed: cannot train (" \
            "measured bad on Keras 3.0.5, 3.14.0; good on 3.13.2)" in decided.explanations()


def test_where_a_framing_cannot_train_a_deviation_of_its_other_checks_shows_and_none_passes():
    """Keras 3.4-3.10 on JAX raise in stateful's reset (training), inside the range of the deviation
    that breaks its accuracy (the state not carried): that one is not 'passed', nor its range wrong."""
    no_carry = KnownDeviation("keras3-jax", "stateful", ("accuracy",), "state not carried",
                              measured_bad=("3.3.3", "3.15.1"))
    raises = KnownDeviation("keras3-jax", "stateful", ("training",), "reset raises",
                            measured_bad=("3.4.0", "3.10.0"), measured_good=("3.3.3", "3.11.0"))
    expected = {"training": raises.expectation("3.5.0"), "accuracy": no_carry.expectation("3.5.0")}
    decided = verdict.judge("stateful", [failure("training")], expected)
    assert (decided.status, decided.unexpected_passes) == ("expected failure", [])
    assert not any("UNEXPECTED PASS" in line or "range is wrong" in line for line in decided.explanations())
    untrained = verdict.judge("stateful", [failure("training")], {"accuracy": no_carry.expectation("3.5.0")})
    assert (untrained.status, untrained.unexpected_passes) == ("FAIL", [])
    assert not any("UNEXPECTED PASS" in line or "range is wrong" in line for line in untrained.explanations())


def test_an_unexpected_pass_fails_the_run_unless_the_user_chose_warn():
    strict, warned = _judged("3.0.5", fails=False), _judged("3.0.5", fails=False, unexpected_pass="warn")
    assert strict.status == warned.status == "UNEXPECTED PASS"
    assert strict.fails_run and not warned.fails_run
    assert any("(--unexpected-pass warn: not failing the run)" in line for line in warned.explanations())
    ok = verdict.judge("one_char", [], {})
    assert verdict.RunVerdict((ok, strict)).exit_status == 1
    assert verdict.RunVerdict((ok, warned)).exit_status == 0
    assert verdict.RunVerdict((ok, warned)).line() == (
        "verdict: ok: 2/2 framings as expected; UNEXPECTED PASS (stateful), not failing the run (--unexpected-pass warn)")
    with pytest.raises(ValueError, match="unexpected_pass must be one of"):
        verdict.judge("one_char", [], {}, unexpected_pass="ignore")


@pytest.mark.parametrize(
    "release, unexpected_pass, strict",
    [("3.0.5", "fail", True), ("3.5.0", "fail", True), ("3.20.0", "fail", False), ("3.13.5", "fail", False),
     ("3.0.5", "warn", False)],
)
def test_a_test_expects_a_deviations_failure_strictly_only_where_it_is_predicted_and_passes_fail(
        release, unexpected_pass, strict):
    reason, strict_found = verdict.expected_outcome(CANNOT_TRAIN.expectation(release), unexpected_pass)
    assert strict_found == strict and reason.startswith("cannot train (measured bad on Keras 3.0.5, 3.14.0")
    assert verdict.expected_outcome(CANNOT_TRAIN.expectation("3.13.2")) is None


def test_the_unexpected_pass_option_is_one_definition_for_the_cli_and_the_plugin():
    parser = argparse.ArgumentParser()
    add_unexpected_pass_option(parser.add_argument, "alphabench-")
    assert parser.parse_args([]).alphabench_unexpected_pass == "fail"
    assert parser.parse_args(["--alphabench-unexpected-pass", "warn"]).alphabench_unexpected_pass == "warn"
    with pytest.raises(SystemExit):
        parser.parse_args(["--alphabench-unexpected-pass", "ignore"])


def test_a_reference_path_run_is_judged_as_the_reference_check():
    assert verdict.check_name("accuracy", "reference") == "reference"
    assert verdict.check_name("accuracy", "fast") == "accuracy"


def test_what_a_framing_or_contract_is_expected_to_do_is_assembled_in_one_place():
    fast = verdict.expectations("keras3-tensorflow", "timestep_window_2", "3.15.1", "fast")
    assert list(fast) == ["training", "accuracy", "probes", "baseline"] and fast["accuracy"] is not None
    assert verdict.expectations("keras3-tensorflow", "timestep_window_2", "3.15.1", "fused")["accuracy"] is None
    assert list(verdict.expectations("keras3-tensorflow", "one_char", "3.15.1", "reference")) == ["training", "reference"]
    contract = verdict.expectations("keras3-tensorflow", "fit_reshuffles", "3.15.1", "fast", ("contract",))
    assert list(contract) == ["contract"] and contract["contract"] is not None
    assert verdict.contract_verdict("fit_reshuffles", "fed two epochs in one order", contract).status == verdict.EXPECTED_FAILURE
    assert verdict.contract_verdict("fit_reshuffles", None, contract).status == verdict.UNEXPECTED_PASS


def test_the_assembled_expectations_carry_where_the_release_stands_and_the_contract_verdict_its_policy():
    from alphabench.deviations import AFTER, MEASURED, Expectation

    measured = verdict.expectations("keras3-tensorflow", "fit_reshuffles", "3.15.1", "fast", ("contract",))["contract"]
    newer = verdict.expectations("keras3-tensorflow", "fit_reshuffles", "3.99.0", "fast", ("contract",))["contract"]
    assert isinstance(measured, Expectation) and (measured.kind, newer.kind) == (MEASURED, AFTER)
    kept = verdict.contract_verdict("fit_reshuffles", None, {"contract": measured}, unexpected_pass="warn")
    assert kept.status == verdict.UNEXPECTED_PASS and not kept.fails_run
    assert verdict.contract_verdict("fit_reshuffles", None, {"contract": newer}).status == verdict.OK
