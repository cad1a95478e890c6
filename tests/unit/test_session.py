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


def test_the_fused_path_trains_sixteen_seeds_at_a_time_so_a_seed_gives_the_same_bits_in_any_run(monkeypatch):
    calls = []
    fake_trainer = types.ModuleType("alphabench.trainer")
    fake_trainer.train = lambda framing, seeds, path, progress: calls.append(tuple(seeds)) or [
        types.SimpleNamespace(seed=seed) for seed in seeds
    ]
    monkeypatch.setitem(sys.modules, "alphabench.trainer", fake_trainer)
    monkeypatch.setattr("alphabench.trainer", fake_trainer, raising=False)
    Session(path="fused", seeds=tuple(range(1, 41))).train("one_char")
    assert calls == [tuple(range(1, 17)), tuple(range(17, 33)), tuple(range(33, 41))]
    assert Session(path="fused").seeds_for("variable_length") == tuple(range(1, 17))
