import concurrent.futures
import sys
import types

import pytest

from alphabench import baseline
from alphabench.framings import FRAMINGS
from alphabench.session import Session
from fakes import ENVIRONMENT, fake_results, go_offline


@pytest.fixture
def training_calls(monkeypatch) -> list[tuple[int, ...]]:
    """The seeds of each trainer.train call, made on a fake trainer that returns bare seeds."""
    calls = []
    fake_trainer = types.ModuleType("alphabench.trainer")
    fake_trainer.train = lambda framing, seeds, path, progress: calls.append(tuple(seeds)) or [
        types.SimpleNamespace(seed=seed) for seed in seeds
    ]
    monkeypatch.setitem(sys.modules, "alphabench.trainer", fake_trainer)
    monkeypatch.setattr("alphabench.trainer", fake_trainer, raising=False)
    return calls


def test_seeds_train_in_replica_groups_of_the_framings_default_size(training_calls):
    calls = training_calls
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


def test_the_fused_path_trains_sixteen_seeds_at_a_time_so_a_seed_gives_the_same_bits_in_any_run(training_calls):
    Session(path="fused", seeds=tuple(range(1, 41))).train("one_char")
    assert training_calls == [tuple(range(1, 17)), tuple(range(17, 33)), tuple(range(33, 41))]
    assert Session(path="fused").seeds_for("variable_length") == tuple(range(1, 17))


def test_the_reference_path_session_keeps_the_configured_options():
    # tests/training's reference-path test trains its own session: --alphabench-epochs and
    # --alphabench-baselines must reach it.
    configured = Session(epochs=2, units=8, baselines="elsewhere", seeds=(1, 2, 3, 4))
    configured.results["one_char"] = []
    reference = configured.with_options(seeds=(1,), path="reference")
    assert (reference.epochs, reference.units, reference.baselines) == (2, 8, "elsewhere")
    assert (reference.seeds, reference.path, reference.results) == ((1,), "reference", {})
    assert configured.path == "fast" and "one_char" in configured.results


@pytest.fixture
def offline(monkeypatch):
    go_offline(monkeypatch)


def test_a_missing_baseline_fails_unless_asked_to_create_it(tmp_path, offline):
    announced = []
    plain = Session(baselines=str(tmp_path), _calibration=0.2)
    [finding] = plain.findings(["one_char"])
    assert finding.kind == "regression"
    assert f"`alphabench baseline update --baselines {tmp_path} --path fast one_char`" in finding.line()
    assert list(tmp_path.iterdir()) == []

    creating = Session(baselines=str(tmp_path), update=True, announce=announced.append, _calibration=0.2)
    assert [f for f in creating.findings(["one_char"]) if f.kind == "regression"] == []
    file = tmp_path / "keras3-tensorflow.json"
    assert announced == [f"{file}: one_char: created (seeds 1-3, median accuracy 84.00%) (--update: check it in)"]
    assert [f for f in plain.findings(["one_char"]) if f.kind == "regression"] == []  # it gates from now on
    creating.findings(["one_char", "stateful"])
    assert len(announced) == 2 and "stateful: created" in announced[1]  # only what was missing, once


def test_workers_adding_entries_at_once_lose_none(tmp_path):
    # Under `pytest -n --alphabench-update` each worker adds its framings to the one file.
    path = tmp_path / "keras3-tensorflow.json"
    names = list(FRAMINGS)
    with concurrent.futures.ThreadPoolExecutor(len(names)) as pool:
        list(pool.map(lambda name: baseline.add_missing(path, {name: fake_results(framing=name)}, 0.2, ENVIRONMENT),
                      names))
    assert sorted(baseline.load(path).framings) == sorted(names)


def test_the_baseline_is_read_once_and_each_framing_gated_once_until_the_file_changes(tmp_path, offline, monkeypatch):
    from alphabench import gate

    baseline.add_missing(tmp_path / "keras3-tensorflow.json", {"one_char": fake_results()}, 0.2, ENVIRONMENT)
    reads, gated = [], []
    load, compare_all = baseline.load, gate.compare_all
    monkeypatch.setattr(baseline, "load", lambda path: reads.append(path) or load(path))
    monkeypatch.setattr(gate, "compare_all", lambda doc, results, *a: gated.append(list(results)) or
                        compare_all(doc, results, *a))
    session = Session(baselines=str(tmp_path), _calibration=0.2)
    session.verdict("one_char")
    session.findings(["one_char"])
    session.load_baseline()
    assert len(reads) == 1 and gated == [["one_char"]]
    baseline.add_missing(tmp_path / "keras3-tensorflow.json", {"stateful": fake_results(framing="stateful")}, 0.2,
                         ENVIRONMENT)
    reads.clear()
    session.findings(["one_char"])
    assert len(reads) == 1 and gated == [["one_char"], ["one_char"]]  # the file changed: read and gated anew
