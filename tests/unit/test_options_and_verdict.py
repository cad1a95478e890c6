import argparse

import pytest

from alphabench.framings import get_framing
from alphabench.options import positive_int, seed_list
from alphabench import verdict
from alphabench.summary import Summary
from fakes import fake_result


@pytest.mark.parametrize("text, seeds", [("3", (1, 2, 3)), ("4-6", (4, 5, 6)), ("2,7,9", (2, 7, 9)), ("0-1", (0, 1))])
def test_seed_lists(text, seeds):
    assert seed_list(text) == seeds


@pytest.mark.parametrize("text", ["", "a", "1,1", "5-3", "-2", "1,x"])
def test_bad_seed_lists_are_refused(text):
    with pytest.raises(argparse.ArgumentTypeError):
        seed_list(text)


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
