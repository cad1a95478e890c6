import sys
import types

from alphabench.session import Session


def test_seeds_train_in_replica_groups_of_the_framings_default_size(monkeypatch):
    calls = []
    fake_trainer = types.ModuleType("alphabench.trainer")
    fake_trainer.train = lambda framing, seeds, path, progress: calls.append(tuple(seeds)) or [
        types.SimpleNamespace(seed=seed) for seed in seeds
    ]
    monkeypatch.setitem(sys.modules, "alphabench.trainer", fake_trainer)
    monkeypatch.setattr("alphabench.trainer", fake_trainer, raising=False)
    session = Session(seeds=tuple(range(1, 9)))
    assert [r.seed for r in session.train("one_char")] == list(range(1, 9))
    assert calls == [(1, 2, 3), (4, 5, 6), (7, 8)]  # one_char's default is 3 seeds
    session.train("one_char")
    assert len(calls) == 3  # trained once per session
    session.train("variable_length")
    assert calls[3:] == [(s,) for s in range(1, 9)]  # its default is 1 seed


def test_default_seeds_and_overrides():
    assert Session().seeds_for("one_char") == (1, 2, 3) and Session().seeds_for("variable_length") == (1,)
    assert Session(epochs=5).framing("one_char").epochs == 5 and Session(epochs=5).overridden
    assert not Session().overridden


def test_the_reference_path_session_keeps_the_configured_options():
    # tests/training's reference-path test trains its own session: --alphabench-epochs and
    # --alphabench-baselines must reach it.
    configured = Session(epochs=2, units=8, baselines="elsewhere", seeds=(1, 2, 3, 4))
    configured.results["one_char"] = []
    reference = configured.with_options(seeds=(1,), path="reference")
    assert (reference.epochs, reference.units, reference.baselines) == (2, 8, "elsewhere")
    assert (reference.seeds, reference.path, reference.results) == ((1,), "reference", {})
    assert configured.path == "fast" and "one_char" in configured.results
