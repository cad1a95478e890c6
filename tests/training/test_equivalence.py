"""The fast path's shortcuts are exact where they claim to be (same seed, same numbers)."""

import dataclasses

import numpy as np
import pytest

from alphabench.data import steps_per_epoch
from alphabench.framings import FRAMINGS, get_framing
from alphabench.pytest_plugin import expect_known_deviation
from alphabench.session import Session

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("equivalence")]
# Epochs enough for any difference to show in the losses (about 200 steps), and at least two, so an
# epoch boundary (reshuffle, state reset) is crossed: 8 for the 25-sample framings, 2 for
# variable_length's 1000 (its reference path at batch 1 is most of this file's time otherwise).
STEPS, MIN_EPOCHS, MAX_EPOCHS = 200, 2, 8


def losses(framing_name, seeds, path="fast", shuffle=None):
    from alphabench import trainer  # imports Keras: not at collection, so the fast tier stays fast

    framing = get_framing(framing_name)
    epochs = min(MAX_EPOCHS, max(MIN_EPOCHS, -(-STEPS // steps_per_epoch(framing))))
    framing = framing.with_settings(epochs=epochs)
    if shuffle is not None:
        framing = dataclasses.replace(framing, shuffle=shuffle)
    return {r.seed: [*r.loss_history, r.accuracy] for r in trainer.train(framing, seeds, path)}


@pytest.mark.parametrize("name", ["one_char", "stateful", "batch_state"])
def test_a_replica_trains_exactly_as_it_would_alone(request, name):
    expect_known_deviation(request, Session(), name, "equivalence")
    together = losses(name, (4, 9))
    alone = losses(name, (9,))
    np.testing.assert_allclose(together[9], alone[9], rtol=1e-5)


@pytest.mark.parametrize("name", ["stateful", "batch_state", "timestep_window", "variable_length"])
def test_without_shuffling_the_fast_path_equals_the_tutorials_calls(request, name):
    # Unshuffled, both paths see the same samples in the same order: one fit with a reset callback
    # and pre-ordered data must give what one fit per epoch (stateful) or plain fit gives, over one
    # time step and over several (timestep_window 3, variable_length 5).
    expect_known_deviation(request, Session(), name, "equivalence")
    fast, reference = losses(name, (3,), shuffle=False), losses(name, (3,), "reference", shuffle=False)
    np.testing.assert_allclose(fast[3], reference[3], rtol=1e-5)


@pytest.mark.parametrize("name", list(FRAMINGS))
def test_a_fused_seed_trains_exactly_as_the_fast_path_alone(name):
    from alphabench import compat

    if not compat.FUSED:
        pytest.skip(compat.NOT_FUSED)
    fused = losses(name, (4, 9), "fused")
    alone = losses(name, (9,))
    np.testing.assert_allclose(fused[9], alone[9], rtol=1e-5)


def test_same_seed_same_numbers():
    assert losses("timestep_window", (5,)) == losses("timestep_window", (5,))


def test_a_framing_trains_the_same_in_a_worker_process():
    # `alphabench run --jobs N` trains framings side by side in fresh processes: the same numbers.
    # One seed: what is tested is the process, not the replicas (whose compilation was most of its time).
    apart = Session(epochs=2, seeds=(1,), jobs=2)
    apart.train_in_processes(["one_char", "batch_state"], lambda *ended: None)
    here = Session(epochs=2, seeds=(1,))
    for name in ("one_char", "batch_state"):
        assert [r.loss_history for r in apart.results[name]] == [r.loss_history for r in here.train(name)]


def test_throughput_rounds_fit_one_compiled_model_again_each_round(monkeypatch):
    """An A/B round (`alphabench throughput --serve`) costs its training alone: the replicas are
    compiled once, however many rounds, and every round reports a throughput."""
    from alphabench import trainer
    from alphabench.compat import keras

    compiled = []
    compile_model = keras.Model.compile

    def counting_compile(model, *args, **kwargs):
        compiled.append(model.name)
        return compile_model(model, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "compile", counting_compile)
    rounds = trainer.throughput_rounds(get_framing("one_char").with_settings(epochs=3), (1, 2))
    figures = [next(rounds) for _ in range(3)]
    assert all(figure > 0 for figure in figures) and compiled.count("replicas") == 1, (figures, compiled)
