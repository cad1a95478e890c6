"""The contracts the tutorial relies on Keras to keep, checked directly (deterministic, seconds)."""

import pytest

from alphabench.framings import FRAMINGS
from alphabench.pytest_plugin import expect_known_deviation

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("contracts")]
# The names, without importing Keras at collection (alphabench.contracts imports it).
CONTRACTS = ("reset_zeroes_state", "state_carries_between_batches", "fit_shuffles", "fit_reshuffles", "same_initial_weights",
             "lstm_initialisation", "lstm_equations", "adam_step",
             *(f"trajectory_{name}" for name in FRAMINGS))


def test_the_list_above_is_every_contract():
    from alphabench.contracts import CONTRACTS as defined

    assert CONTRACTS == tuple(contract.name for contract in defined)


@pytest.mark.parametrize("name", CONTRACTS)
def test_keras_keeps_the_contract(alphabench, request, name):
    expect_known_deviation(request, alphabench, name, "contract")
    failures = alphabench.contract_verdict(name).lines()
    assert not failures, failures[0]
