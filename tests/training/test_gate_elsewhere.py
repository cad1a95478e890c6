"""The gate where users meet it: on a CPU that is not the baseline's, and under a broken Keras.

Floats differ between CPU generations sold under one model name, so the same code on another
machine must pass the cross-environment rules, and a real regression must still fail there.
"""

import dataclasses

import pytest

from alphabench import gate, verdict
from alphabench.data import sample_count
from alphabench.framings import FRAMINGS, get_framing
from alphabench.pytest_plugin import expect_known_deviation, framing_params

pytestmark = pytest.mark.slow
# Injections the contracts see on any machine (the slowdowns need an A/B run: `alphabench selftest`).
CONTRACT_INJECTIONS = ("Adam learning rate 10x lower", "state reset does nothing",
                       "stateful LSTM carries no state between batches", "fit ignores shuffle=True",
                       "LSTM forget-gate bias initialised at 0", "LSTM recurrent activation hard_sigmoid")


def as_if_made_elsewhere(baseline):
    """The committed baseline, its fingerprint moved to a CPU generation no machine here has."""
    other_cpu = dataclasses.replace(baseline.environment, cpu_signature="family 0 model 0 stepping 0",
                                    cpu_flags=("avx", "fma"))
    return dataclasses.replace(baseline, environment=other_cpu)


@pytest.mark.parametrize("name", framing_params(FRAMINGS))
def test_unchanged_code_passes_against_the_baseline_as_made_on_another_cpu(alphabench, request, name):
    if alphabench.overridden:
        pytest.skip("--alphabench-epochs/--alphabench-units override the tutorial's settings")
    expect_known_deviation(request, alphabench, name, "baseline")
    baseline = alphabench.load_baseline()
    if baseline is None:
        pytest.fail("no baseline for this environment: create it with `alphabench baseline update`")
    key = alphabench.baseline_key(name)
    findings = gate.compare_all(as_if_made_elsewhere(baseline), {key: alphabench.train(name)},
                                alphabench.calibration, {key: sample_count(get_framing(name))})
    assert ("note", "environment") in [(f.kind, f.metric) for f in findings], "judged as the same bits"
    # Judged as every run is (alphabench.verdict), the baseline check alone: what this test is about.
    failures = verdict.failures_of(name, alphabench.summary(name), findings, alphabench.path)
    regressions = [f.line for f in failures if f.check == verdict.check_name("baseline", alphabench.path)]
    assert not regressions, "\n".join(regressions)


@pytest.mark.xdist_group("contracts")
@pytest.mark.parametrize("injection", CONTRACT_INJECTIONS)
def test_an_injected_regression_breaks_a_contract_on_any_machine(alphabench, injection):
    from alphabench.contracts import CONTRACTS
    from alphabench.selftest import INJECTIONS

    [injected] = [i for i in INJECTIONS if i.name == injection]
    with injected.patch():  # the first contract that breaks proves it; `alphabench selftest` lists them all
        broken = next((c.name for c in CONTRACTS if alphabench.contract_verdict(c.name).fails_run), None)
    assert broken, f"no contract sees '{injection}'"
