"""alphabench.matrix's pure parts: cells, their order and neighbours, resuming, judging, rendering, bisect."""

import contextlib
import dataclasses
import json
import types

import pytest
from packaging.version import Version

from alphabench import atomic, verdict
from alphabench.errors import UsageError
from alphabench.matrix import ab, bisect, cells, files, judging, rendering
from alphabench.matrix.cells import Cell, parse_cell
from alphabench.matrix.files import CellResult, ThroughputAB
from alphabench.results import Baseline, BaselineEntry, entry_key

from fakes import ENVIRONMENT, UPGRADED, fake_results


def test_a_cell_reads_and_writes_one_form_and_fills_in_its_eras_backend():
    cell = parse_cell("keras==3.0.5/tensorflow==2.16.2")
    assert cell == Cell("keras", "3.0.5", "tensorflow", "2.16.2")
    assert parse_cell(cell.text) == cell
    assert cell.id == "keras-3.0.5_tensorflow-2.16.2"
    assert cell.requirements() == ["keras==3.0.5", "tensorflow==2.16.2", "numpy<2"]
    assert parse_cell("keras==3.8.0/jax").backend_version == cells.ERA[(3, 8)][1]
    assert parse_cell("keras==3.8.0/jax").requirements()[1].startswith("jax[cpu]==")
    assert parse_cell("keras==3.15.1/torch").backend_version == cells.DEFAULT_TORCH
    assert parse_cell("tf-keras==2.17.0/tensorflow").backend_version == "2.17.1"  # TensorFlow's last 2.17
    assert parse_cell("tf-keras==2.17.0/tensorflow").environment_variables()["TF_USE_LEGACY_KERAS"] == "1"


@pytest.mark.parametrize("text, message", [
    ("keras3.0.5/tensorflow", "expected KERAS==VERSION/BACKEND"),
    ("keras==3.0.5/theano", "backend from tensorflow, jax, torch"),
    ("keras==three/jax", "not a version number"),
    ("tf-keras==2.16.0/jax", "tf-keras (Keras 2) runs on tensorflow only"),
])
def test_a_malformed_cell_is_refused_with_the_form_expected(text, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_cell(text)


def test_a_cells_file_skips_comments_and_repeats():
    lines = ["# the oldest", "keras==3.0.5/jax  # era's jax", "", "keras==3.0.5/jax", "tf-keras==2.16.0/tensorflow"]
    assert [c.id for c in cells.parse_cells(lines)] == [
        f"keras-3.0.5_jax-{cells.ERA[(3, 0)][1]}", "tf-keras-2.16.0_tensorflow-2.16.2"]


def test_defaults_are_every_minors_last_patch_and_the_nightly_on_each_backend_and_tf_keras():
    versions = ["3.1.1", "3.1.0", "3.0.5", "3.0.4", "3.2.0rc1", "2.15.0"]
    assert cells.last_patches(versions) == ["3.0.5", "3.1.1"]
    chosen = cells.default_cells(versions, "3.2.0.dev2025010103", ["2.15.1", "2.16.0", "2.17.0", "2.17.1"])
    assert len(chosen) == 3 * 3 + 2
    assert {c.backend for c in chosen} == set(cells.BACKENDS)
    assert [c.keras_version for c in chosen if c.keras == "tf-keras"] == ["2.16.0", "2.17.1"]


def test_each_cell_is_judged_against_the_next_older_release_of_its_line_and_backend():
    chosen = cells.parse_cells(["keras-nightly==3.16.0.dev2026010101/jax", "keras==3.15.1/jax", "keras==3.0.5/jax",
                                "keras==3.0.5/tensorflow", "tf-keras==2.16.0/tensorflow", "tf-keras==2.21.0/tensorflow",
                                "keras==3.10.0/tensorflow"])
    paired = {cell.id: (before.id if before else None) for cell, before in cells.neighbours(chosen).items()}
    assert paired["keras-3.10.0_tensorflow-2.19.1"] == "keras-3.0.5_tensorflow-2.16.2"  # 3.10 sorts after 3.0
    assert paired["keras-3.0.5_tensorflow-2.16.2"] is None
    assert paired["tf-keras-2.21.0_tensorflow-2.21.0"] == "tf-keras-2.16.0_tensorflow-2.16.2"
    assert paired["keras-nightly-3.16.0.dev2026010101_jax-0.10.2"] == "keras-3.15.1_jax-0.10.2"
    assert paired[f"keras-3.0.5_jax-{cells.ERA[(3, 0)][1]}"] is None


def test_a_resumed_matrix_runs_only_the_cells_without_a_file(tmp_path):
    chosen = cells.parse_cells(["keras==3.0.5/jax", "keras==3.1.1/jax"])
    atomic.write_json(files.cell_file(tmp_path, chosen[0]), {"done": True})
    assert files.pending(chosen, tmp_path) == [chosen[1]]
    assert not list((tmp_path / "cells").glob(".*"))  # no temporary file left behind


def _train_in_a_cell(monkeypatch, checkpoint, seeds=None, stop_at=None):
    """run_inside_cell offline over one_char then timestep_window, stopped (as by a kill) when it
    starts `stop_at`: (its body or None, the framings it trained, its progress lines)."""
    from fakes import go_offline

    from alphabench.matrix import running

    go_offline(monkeypatch)
    import alphabench.trainer as fake_trainer

    trained, lines, train = [], [], fake_trainer.train

    def stoppable(framing, seeds, path, progress=None):
        trained.append(framing.name)
        if framing.name == stop_at:
            raise KeyboardInterrupt  # not an Exception: a kill, not a framing the release cannot train
        return train(framing, seeds, path, progress)

    monkeypatch.setattr(fake_trainer, "train", stoppable)
    try:
        body = running.run_inside_cell(["one_char", "timestep_window"], seeds, "fast", lines.append, checkpoint)
    except KeyboardInterrupt:
        body = None
    return body, trained, lines


def test_a_stopped_cell_resumes_from_its_last_finished_framing_with_what_an_unstopped_run_writes(tmp_path, monkeypatch):
    checkpoint = tmp_path / "partial" / "cell.json"
    assert _train_in_a_cell(monkeypatch, checkpoint, stop_at="timestep_window")[0] is None
    assert set(json.loads(checkpoint.read_text())["outcomes"]) == {"one_char"}

    resumed, trained, lines = _train_in_a_cell(monkeypatch, checkpoint)
    assert trained == ["timestep_window"]
    assert any(line.startswith("one_char: carried over from the interrupted run") for line in lines)
    assert resumed.pop("carried_seconds") >= 0
    unstopped, trained, _ = _train_in_a_cell(monkeypatch, None)
    unstopped.pop("carried_seconds")
    assert trained == ["one_char", "timestep_window"] and resumed == unstopped


@pytest.mark.parametrize("checkpoint_text, said", [
    ("{", ", unreadable (JSONDecodeError): training every framing"),
    ("[]", ", unreadable (AttributeError): training every framing"),
    (None, ": made by other code, environment or seeds; training every framing"),  # kept by a run with other seeds
])
def test_a_checkpoint_of_another_run_or_a_broken_one_is_said_and_every_framing_trains(
        tmp_path, monkeypatch, checkpoint_text, said):
    checkpoint = tmp_path / "cell.json"
    if checkpoint_text is None:
        _train_in_a_cell(monkeypatch, checkpoint, seeds=(1, 2), stop_at="timestep_window")
    else:
        checkpoint.write_text(checkpoint_text)
    body, trained, lines = _train_in_a_cell(monkeypatch, checkpoint)
    assert trained == ["one_char", "timestep_window"] and body["carried_seconds"] == 0
    assert [line for line in lines if line.startswith("ignoring")] == [f"ignoring {checkpoint}{said}"]


def test_a_cell_file_counts_the_carried_training_time_and_removes_the_checkpoint(tmp_path, monkeypatch):
    from alphabench.matrix import running

    cell = parse_cell("keras==3.5.0/tensorflow==2.17.0")
    body, _, _ = _train_in_a_cell(monkeypatch, None)
    atomic.write_json(files.checkpoint_file(tmp_path, cell), {"kept": "by a stopped run"})
    monkeypatch.setattr(running, "ensure_environment", lambda *args: tmp_path / "python")
    monkeypatch.setattr(running, "_cell_body", lambda *args: {**body, "carried_seconds": 3600.0})
    result = running.run_cell(cell, tmp_path, tmp_path, ["one_char", "timestep_window"], None)
    assert result.error is None and result.seconds >= 3600
    assert files.load_cell(files.cell_file(tmp_path, cell)) == result
    assert not files.checkpoint_file(tmp_path, cell).exists()


def test_bisect_halves_the_range_and_finds_the_first_bad_release():
    versions = [f"3.{minor}.0" for minor in range(16)]
    probed = []

    def is_bad(version):
        probed.append(version)
        return versions.index(version) >= 11

    first, asked = bisect.first_changed(versions, is_bad)
    assert first == "3.11.0"
    assert asked == probed and len(asked) <= 4  # ceil(log2(15))
    assert bisect.first_changed(["3.0.0", "3.1.0"], is_bad) == ("3.1.0", [])
    assert bisect.between(["3.2.0", "3.1.1", "3.0.5", "3.1.0rc1", "3.3.0"], "3.0.5", "3.2.0") == ["3.0.5", "3.1.1", "3.2.0"]
    with pytest.raises(UsageError, match="must be an older release"):
        bisect.between(["3.0.5"], "3.2.0", "3.0.5")


# A fake history of one framing on one backend: what it fails on each release. Training breaks at
# 3.4.0 and is fixed at 3.13.0; its accuracy is short of the tutorial's everywhere (a known deviation).
RELEASES = [f"3.{minor}.0" for minor in range(16)]


def _history(release):
    minor = int(release.split(".")[1])
    return frozenset({"accuracy"} | ({"training"} if 4 <= minor < 13 else set()))


def test_bisect_finds_the_first_bad_release_of_a_break_and_the_first_good_release_of_a_fix():
    probed = []

    def failed_checks(release):
        probed.append(release)
        return _history(release)

    first, asked, checks = bisect.bisect_releases(RELEASES[:8], failed_checks, bisect.BREAK)
    assert (first, checks) == ("3.4.0", {"training"})  # the check both ends fail is not what is bisected
    first, asked, checks = bisect.bisect_releases(RELEASES[4:], failed_checks, bisect.FIX)
    assert (first, checks) == ("3.13.0", {"training"}) and len(asked) <= 4


def test_bisect_refuses_ends_that_do_not_differ_the_way_asked_naming_the_other_direction():
    with pytest.raises(UsageError, match="needs Keras 3.0.0 failing a check Keras 3.7.0 passes.*--direction break"):
        bisect.bisect_releases(RELEASES[:8], _history, bisect.FIX)
    with pytest.raises(UsageError, match="needs Keras 3.15.0 failing a check Keras 3.4.0 passes.*--direction fix"):
        bisect.bisect_releases(RELEASES[4:], _history, bisect.BREAK)
    with pytest.raises(UsageError, match="direction must be one of break, fix"):
        bisect.bisect_releases(RELEASES, _history, "sideways")


def test_bisect_fix_probes_cells_and_reads_what_they_measured_not_what_a_deviation_expects(tmp_path, monkeypatch):
    # Torch cannot train the stateful framing on 3.14.0 (a known deviation: an expected failure, not a
    # failed run); where it trains again is found by probing cells, each judged by the one verdict.
    trains_from = "3.14.2"
    versions = ["3.14.0", "3.14.1", "3.14.2", "3.14.3", "3.15.0"]
    ran = []

    def run_cell(cell, directory, source, framings, seeds, find_links, log):
        ran.append(cell.keras_version)
        fingerprint = dataclasses.replace(UPGRADED, environment="keras3-torch", keras_version=cell.keras_version)
        errors = {} if Version(cell.keras_version) >= Version(trains_from) else {"stateful": "RuntimeError: inplace"}
        document = _document(f"keras=={cell.keras_version}/torch", environment=fingerprint,
                             keras_version=cell.keras_version, framings=["stateful"], contracts={},
                             expectations={"stateful": []}, training_errors=errors)
        atomic.write_json(files.cell_file(directory, cell), document)

    monkeypatch.setattr(bisect, "run_cell", run_cell)
    first, probed, judged = bisect.bisect(versions, "stateful", "torch", tmp_path, tmp_path, {}, None, "2.13.0+cpu",
                                          log=lambda line: None, direction=bisect.FIX)
    assert first == trains_from and judged.failures == ()
    assert sorted(ran) == sorted({"3.14.0", "3.15.0", *probed})


def test_bisect_throughput_finds_the_first_release_slower_than_the_older_end(tmp_path, monkeypatch):
    # 3.14.2 halves the throughput, and it stays halved: each probe is an A/B test against 3.14.0.
    versions = ["3.14.0", "3.14.1", "3.14.2", "3.14.3", "3.15.0"]
    monkeypatch.setattr(ab, "ensure_environment", lambda cell, *args: cell.keras_version)
    noise = iter([1.0, 1.02, 0.99, 1.01] * 100)

    def timer(python, cell, framing, epochs):  # a Timer's part: a context whose value times one round
        steps = 50.0 if Version(python) >= Version("3.14.2") else 100.0
        return contextlib.nullcontext(lambda: types.SimpleNamespace(steps_per_second=steps * next(noise), environment=ENVIRONMENT))

    first, probed, comparison = bisect.bisect_throughput(versions, "tensorflow", tmp_path, tmp_path, "one_char", 30, 8,
                                                         "2.13.0+cpu", log=lambda line: None, timer=timer)
    assert first == "3.14.2" and comparison.comparison.slower and 0.45 < comparison.comparison.ratio < 0.55
    assert comparison.before.keras_version == "3.14.0" and set(probed) <= set(versions[1:-1])
    # Each probe's rounds are kept as an A/B file against the older end, the newer end's too.
    kept = files.load_ab([tmp_path])
    assert sorted(after.keras_version for _, after in kept) == sorted({*probed, versions[-1]})
    assert kept[(comparison.before, comparison.after)].pairs == comparison.pairs
    with pytest.raises(UsageError, match="needs Keras 3.14.1 slower than 3.14.0"):
        bisect.bisect_throughput(versions[:2], "tensorflow", tmp_path, tmp_path, "one_char", 30, 8, "2.13.0+cpu",
                                 log=lambda line: None, timer=timer)


def test_bisect_throughput_fixing_finds_the_first_release_faster_than_the_slow_older_end(tmp_path, monkeypatch):
    # 3.14.0 is slow, 3.14.3 doubles its throughput (a fix): the rule mirrored, each probe against 3.14.0.
    versions = ["3.14.0", "3.14.1", "3.14.2", "3.14.3", "3.15.0"]
    monkeypatch.setattr(ab, "ensure_environment", lambda cell, *args: cell.keras_version)
    noise = iter([1.0, 1.02, 0.99, 1.01] * 100)

    def timer(python, cell, framing, epochs):
        steps = 100.0 if Version(python) >= Version("3.14.3") else 50.0
        return contextlib.nullcontext(lambda: types.SimpleNamespace(steps_per_second=steps * next(noise), environment=ENVIRONMENT))

    first, probed, comparison = bisect.bisect_throughput(versions, "tensorflow", tmp_path, tmp_path, "one_char", 30, 8,
                                                         "2.13.0+cpu", log=lambda line: None, timer=timer, direction="fix")
    assert first == "3.14.3" and comparison.comparison.faster and not comparison.comparison.slower
    assert comparison.line().startswith("one_char throughput: ok, faster: Keras 3.14.3 / tensorflow ")
    assert "one-sided Wilcoxon p = 0.0039; faster beyond 1.2x at p <= 0.01)" in comparison.line()
    with pytest.raises(UsageError, match="needs Keras 3.14.1 faster than 3.14.0"):
        bisect.bisect_throughput(versions[:2], "tensorflow", tmp_path, tmp_path, "one_char", 30, 8, "2.13.0+cpu",
                                 log=lambda line: None, timer=timer, direction="fix")


def test_the_bisect_command_takes_a_direction_and_says_what_it_found(tmp_path, monkeypatch, capsys):
    from alphabench import cli
    from alphabench.matrix import commands

    monkeypatch.setattr(commands, "index_versions", lambda name: ["3.13.2", "3.14.0", "3.15.1"])
    asked = {}

    def fake_bisect(versions, framing, backend, *args):
        asked.update(versions=versions, direction=args[-1])
        return "3.15.1", ["3.14.0"], verdict.judge(framing, [], {})

    monkeypatch.setattr(commands, "bisect", fake_bisect)
    status = cli.main(["bisect", "3.13.2", "3.15.1", "--framing", "stateful", "--backend", "torch",
                       "--direction", "fix", "--dir", str(tmp_path)])
    assert status == 0 and asked == {"versions": ["3.13.2", "3.14.0", "3.15.1"], "direction": "fix"}
    assert "stateful on torch: first release fixed again Keras 3.15.1 (1 probes" in capsys.readouterr().out


def _document(cell_text, accuracies=(0.84, 0.84, 0.88), environment=ENVIRONMENT, path="fast", **fields):
    """A cell file as `alphabench matrix cell` writes it, one_char trained on 3 seeds on `path`."""
    entry = BaselineEntry.from_results(fake_results(accuracies, environment=environment, path=path), None)
    cell = parse_cell(cell_text)
    document = {"cell_schema_version": cells.CELL_SCHEMA_VERSION, "cell": cell_text, "framings": ["one_char"],
                "keras_version": cell.keras_version, "environment": environment.environment, "path": path,
                "baseline": Baseline(environment, None, {entry_key("one_char", path): entry}).as_dict(2),
                "contracts": {"adam_step": None}, "expectations": {"one_char": []}, "training_errors": {},
                "seconds": 60}
    return {**document, **fields}


OLD, NEW = "keras==3.5.0/tensorflow==2.17.0", "keras==3.6.0/tensorflow==2.17.0"


def _judge(document, neighbour=None):
    """judging.judge_cell on cell files' JSON, read as the matrix reads them."""
    return judging.judge_cell(CellResult.from_dict(document), neighbour and CellResult.from_dict(neighbour), None, "")


def _shown(judged):
    """Each verdict as matrix.md shows it, with the lines it gives."""
    return {subject: (rendering.shown_as(v), judging.lines(v)) for subject, v in judged.items()}


def test_a_fused_cell_is_judged_against_its_neighbours_fused_entry():
    """A cell on the fused path (the default where it exists) has 16 seeds: the rank tests' power."""
    before = _document(OLD, accuracies=(0.88,) * 16, path="fused")
    judged = _judge(_document(NEW, accuracies=(0.60,) * 16, environment=UPGRADED, path="fused"), before)
    assert any("vs Keras 3.5.0 / tensorflow 2.17.0: REGRESSION one_char@fused accuracy" in line
               for line in judging.lines(judged["one_char"]))
    unchanged = _judge(_document(NEW, accuracies=(0.88,) * 16, environment=UPGRADED, path="fused"), before)
    assert unchanged["one_char"].status == verdict.OK


def test_a_cell_file_of_schema_1_trained_the_fast_path():
    document = {key: value for key, value in _document(OLD).items() if key != "path"}
    assert CellResult.from_dict({**document, "cell_schema_version": 1}).path == "fast"


def test_a_cell_passes_where_its_neighbour_did_alike():
    judged = _judge(_document(NEW, environment=UPGRADED), _document(OLD))
    assert {subject: v.status for subject, v in judged.items()} == {"contract adam_step": verdict.OK, "one_char": verdict.OK}
    assert _shown(judged) == {"contract adam_step": (rendering.PASS, ()), "one_char": (rendering.PASS, ())}


def test_every_seed_below_the_neighbours_is_a_regression_with_the_gates_line():
    before = _document(OLD, accuracies=(0.88,) * 9)
    judged = _judge(_document(NEW, accuracies=(0.60,) * 9, environment=UPGRADED), before)
    assert judged["one_char"].status == verdict.FAIL and not judging.is_error(judged["one_char"])
    assert rendering.shown_as(judged["one_char"]) == rendering.REGRESSION
    assert any("vs Keras 3.5.0 / tensorflow 2.17.0: REGRESSION one_char accuracy" in line
               for line in judging.lines(judged["one_char"]))


def test_a_failure_a_known_deviation_records_is_expected_and_others_are_errors():
    stateful_jax = dataclasses.replace(UPGRADED, environment="keras3-jax", keras_version="3.15.1")
    document = _document("keras==3.15.1/jax==0.10.2", environment=stateful_jax,
                         framings=["one_char", "stateful"], expectations={"one_char": [], "stateful": [
                             ["accuracy", "stateful: median accuracy 72% below 100%"],
                             ["probes", "stateful: recites BBBB on 0 of 3 seeds"]]},
                         contracts={"fit_reshuffles": None, "state_carries_between_batches": "contract ...: but same"})
    judged = _judge(document)
    assert judged["stateful"].status == verdict.EXPECTED_FAILURE
    assert judged["contract state_carries_between_batches"].status == verdict.EXPECTED_FAILURE
    broken = _document(NEW, environment=UPGRADED, training_errors={"one_char": "KeyError: 'replica_0_loss'"})
    assert _shown(_judge(broken))["one_char"] == (
        rendering.ERROR, ("one_char: training failed (KeyError: 'replica_0_loss')",))
    assert _judge(broken)["one_char"].fails_run and judging.is_error(_judge(broken)["one_char"])


def _stateful_cell(backend, keras, version, expectations=(), training_error=None):
    fingerprint = dataclasses.replace(UPGRADED, environment=f"keras3-{backend}", keras_version=version)
    return _judge(_document(f"{keras}=={version}/{backend}", environment=fingerprint, keras_version=version,
                            framings=["stateful"], contracts={},
                            expectations={"stateful": [list(e) for e in expectations]},
                            training_errors={"stateful": training_error} if training_error else {}))["stateful"]


def test_a_deviation_holds_where_it_was_measured_and_beyond_the_last_release_measured_is_known_not_a_regression():
    stateful_jax = [("accuracy", "stateful: median accuracy 76% below 100%"), ("probes", "stateful: recites BBBB")]
    # Still there in a nightly newer than the last release measured: known, not a regression.
    newer = _stateful_cell("jax", "keras-nightly", "3.16.0.dev2026112503", stateful_jax)
    assert newer.status == verdict.EXPECTED_FAILURE and not newer.fails_run
    assert ("note stateful: known, still present in Keras 3.16.0.dev2026112503 (last measured 3.16.0.dev2026102704)"
            in judging.lines(newer))
    # Gone there: a pass, with a note that it may be fixed.
    fixed = _stateful_cell("jax", "keras-nightly", "3.16.0.dev2026112503")
    assert rendering.shown_as(fixed) == rendering.PASS
    assert any("it may be fixed (last measured bad 3.16.0.dev2026102704" in line for line in judging.lines(fixed))
    # Keras 3.13.2 trains the stateful framing on torch, as measured: a pass, not an unexpected one.
    assert _stateful_cell("torch", "keras", "3.13.2").status == verdict.OK
    cannot = "RuntimeError: one of the variables needed for gradient computation has been modified by an inplace operation"
    assert _stateful_cell("torch", "keras", "3.14.0", training_error=cannot).status == verdict.EXPECTED_FAILURE
    # Inside a measured range, not measured: a pass there is an UNEXPECTED PASS, and fails the matrix.
    inside = _stateful_cell("torch", "keras", "3.4.0")
    assert inside.status == verdict.UNEXPECTED_PASS and inside.fails_run
    assert any(line.startswith("note stateful: Keras 3.4.0 not measured") for line in judging.lines(inside))


def test_a_cell_that_imported_another_keras_than_asked_is_an_error_not_a_result():
    # pip install keras-nightly beside tensorflow also installs a release into the same module.
    nightly = _document("keras-nightly==3.16.0.dev2026010101/tensorflow==2.21.0", keras_version="3.15.1")
    assert "but the cell imported Keras 3.15.1" in judging.lines(_judge(nightly)["one_char"])[0]
    failed = _document(NEW, error="installing keras==3.6.0 failed: no solution")
    assert judging.is_error(_judge(failed)["one_char"])


def test_the_table_has_a_row_per_cell_and_every_non_pass_cell_explained(tmp_path):
    old, new = parse_cell(OLD), parse_cell(NEW)
    documents = {old: _document(OLD), new: _document(NEW, environment=UPGRADED, training_errors={"one_char": "boom"})}
    for cell, document in documents.items():
        atomic.write_json(files.cell_file(tmp_path, cell), document)
    loaded = files.load_cells([tmp_path])
    assert set(loaded) == {old, new}
    ab = {(old, new): ThroughputAB.from_dict({"before": OLD, "after": NEW, "framing": "one_char",
                                              "pairs": [[100.0, 50.0]] * 8})}
    text = rendering.report(loaded, {}, ab, tmp_path / "out")
    rows = text.splitlines()
    assert rows[0] == ("| cell | contract adam_step | one_char | throughput vs previous [90% interval] | minutes | "
                       "machine |")
    # Where each cell trained, and where its A/B was timed when elsewhere or not recorded (older files).
    machine = ENVIRONMENT.machine
    assert machine == "Test CPU (family 25 model 17), 2 cores"
    assert rows[2] == f"| Keras 3.5.0 / tensorflow 2.17.0 | ok | ok | - | 1.0 | {machine} |"
    assert rows[3] == (f"| Keras 3.6.0 / tensorflow 2.17.0 | ok | ERROR | **SLOWER** 0.50x [0.50-0.50] | 1.0 | {machine}; "
                       "A/B: not recorded |")
    assert "- Keras 3.6.0 / tensorflow 2.17.0, one_char (error): one_char: training failed (boom)" in rows
    assert any(row.startswith("- Keras 3.6.0 / tensorflow 2.17.0: REGRESSION one_char throughput") for row in rows)
    assert (tmp_path / "out" / "matrix.png").stat().st_size > 0
    assert (tmp_path / "out" / "matrix-throughput.png").stat().st_size > 0
    # matrix.md shows both pictures above the table it shares with the terminal.
    written = (tmp_path / "out" / "matrix.md").read_text()
    assert written.index("](matrix.png)") < written.index("](matrix-throughput.png)") < written.index(text)
    assert json.loads((tmp_path / "cells" / f"{new.id}.json").read_text())["training_errors"] == {"one_char": "boom"}
    # The picture's cells say in words what their colours mean: a row per subject, a column per cell.
    judged = judging.judge_all(loaded, {})
    assert rendering.cell_words(judged) == [["ok", "ok"], ["ok", "ERROR"]]
    partial = {old: {"one_char": judged[old]["one_char"]}, new: judged[new]}
    assert rendering.cell_words(partial) == [["ok", "ERROR"], ["not run", "ok"]]


def test_an_ab_interval_is_the_order_statistics_covering_the_median():
    """8 rounds: the 2nd to the 7th smallest ratio (93%); the ratio is the median."""
    comparison = ThroughputAB(parse_cell(OLD), parse_cell(NEW), "one_char",
                              tuple((100.0, b) for b in (90, 97, 99, 100, 101, 102, 104, 120))).comparison
    assert comparison.interval() == (0.97, 1.04) and comparison.ratio == 1.005


def test_merge_refuses_a_directory_without_cell_files(tmp_path):
    (tmp_path / "other.json").write_text("{}")
    with pytest.raises(UsageError, match="no cell files"):
        files.load_cells([tmp_path])


def test_the_cli_refuses_a_malformed_cell_in_one_line_before_building_anything(tmp_path):
    import subprocess
    import sys

    run = subprocess.run([sys.executable, "-m", "alphabench", "matrix", "run", "keras==3.0.5/theano", "--dir",
                          str(tmp_path)], capture_output=True, text=True)
    assert run.returncode == 2
    assert run.stderr.startswith("alphabench: error: cell 'keras==3.0.5/theano': expected KERAS==VERSION/BACKEND")
    assert not (tmp_path / "envs").exists()


def _run_matrix(tmp_path, monkeypatch, capsys, documents):
    """`alphabench matrix run` over cell files already there (nothing built, no A/B): (status, stderr)."""
    from alphabench import cli
    from alphabench.matrix import commands

    monkeypatch.setattr(commands, "run_matrix", lambda *args: None)
    for document in documents:
        atomic.write_json(files.cell_file(tmp_path, parse_cell(document["cell"])), document)
    (tmp_path / "baselines").mkdir(exist_ok=True)
    status = cli.main(["matrix", "run", *(d["cell"] for d in documents), "--dir", str(tmp_path), "--ab-rounds", "0",
                       "--baselines", str(tmp_path / "baselines")])
    return status, capsys.readouterr().err


def test_matrix_run_exits_1_naming_each_regressed_cell_and_0_when_all_is_as_expected(tmp_path, monkeypatch, capsys):
    status, err = _run_matrix(tmp_path, monkeypatch, capsys, [_document(OLD), _document(NEW, environment=UPGRADED)])
    assert status == 0 and "matrix: REGRESSION" not in err and "matrix: ERROR" not in err
    regressed = _document(NEW, accuracies=(0.60,) * 9, environment=UPGRADED)
    status, err = _run_matrix(tmp_path, monkeypatch, capsys, [_document(OLD, accuracies=(0.88,) * 9), regressed])
    assert status == 1
    assert [line for line in err.splitlines() if line.startswith("matrix: REGRESSION")] == [
        "matrix: REGRESSION Keras 3.6.0 / tensorflow 2.17.0: one_char"]


def test_matrix_run_exits_non_zero_with_one_line_per_cell_that_erred(tmp_path, monkeypatch, capsys):
    unbuilt = {"cell_schema_version": cells.CELL_SCHEMA_VERSION, "cell": "keras==99.0.0/jax==0.10.2",
               "framings": ["one_char", "stateful"], "error": "installing keras==99.0.0 failed: no solution",
               "seconds": 3}
    untrained = _document(NEW, environment=UPGRADED, training_errors={"one_char": "KeyError: 'replica_0_loss'"})
    status, err = _run_matrix(tmp_path, monkeypatch, capsys, [_document(OLD), untrained, unbuilt])
    assert status == 3
    assert [line for line in err.splitlines() if line.startswith("matrix: ERROR")] == [
        "matrix: ERROR Keras 3.6.0 / tensorflow 2.17.0: one_char: training failed (KeyError: 'replica_0_loss')",
        "matrix: ERROR Keras 99.0.0 / jax 0.10.2: installing keras==99.0.0 failed: no solution"]
    assert "matrix: REGRESSION" not in err


def _merge(tmp_path, capsys, documents, *options):
    """`alphabench matrix merge` over these cell files (added to those already in tmp_path/jobs, as
    artifacts of CI jobs): (status, its verdict lines on stderr)."""
    from alphabench import cli

    (tmp_path / "baselines").mkdir(exist_ok=True)
    for document in documents:
        atomic.write_json(files.cell_file(tmp_path / "jobs", parse_cell(document["cell"])), document)
    status = cli.main(["matrix", "merge", str(tmp_path / "jobs"), "--out", str(tmp_path / "out"),
                       "--baselines", str(tmp_path / "baselines"), *options])
    verdicts = ("matrix: REGRESSION", "matrix: ERROR", "matrix: UNEXPECTED PASS")
    return status, [line for line in capsys.readouterr().err.splitlines() if line.startswith(verdicts)]


def test_matrix_run_times_pairs_of_cells_done_elsewhere_and_fails_naming_a_pair_it_could_not_time(
        tmp_path, monkeypatch, capsys):
    """A resumed matrix on a fresh machine has the cell files but none of their environments: each
    pair's environments are built again to time it, and a pair that still cannot be timed is an
    error of the matrix (nothing to compare is not a pass), not a silent gap in the throughput table."""
    from alphabench import cli
    from alphabench.matrix import commands, environments

    newest = "keras==3.7.0/tensorflow==2.17.0"
    built = []

    def ensure_environment(cell, *args):
        if cell.keras_version == "3.7.0":
            raise environments.CellError("installing keras==3.7.0 failed: no space left on device")
        built.append(cell.keras_version)
        return tmp_path / cell.id

    def timer(python, framing, epochs, environment_variables):  # abtest.Timer's part: one round a call
        return contextlib.nullcontext(lambda: types.SimpleNamespace(steps_per_second=100.0, environment=ENVIRONMENT))

    monkeypatch.setattr(ab, "ensure_environment", ensure_environment)
    monkeypatch.setattr(ab.abtest, "Timer", timer)
    monkeypatch.setattr(commands, "run_matrix", lambda *args: None)
    documents = [_document(OLD), _document(NEW, environment=UPGRADED), _document(newest, environment=UPGRADED)]
    for document in documents:
        atomic.write_json(files.cell_file(tmp_path, parse_cell(document["cell"])), document)
    (tmp_path / "baselines").mkdir()
    status = cli.main(["matrix", "run", *(d["cell"] for d in documents), "--dir", str(tmp_path), "--ab-rounds", "2",
                       "--baselines", str(tmp_path / "baselines")])
    said = [line for line in capsys.readouterr().err.splitlines() if line.startswith("matrix: ")]
    assert status == 3 and sorted(built) == ["3.5.0", "3.6.0", "3.6.0"]
    timed = files.load_ab([tmp_path])[(parse_cell(OLD), parse_cell(NEW))]
    assert timed.pairs == ((100.0, 100.0),) * 2 and timed.machine == ENVIRONMENT.machine  # where it was timed, kept
    assert "matrix: ERROR A/B Keras 3.6.0 / tensorflow 2.17.0 -> Keras 3.7.0 / tensorflow 2.17.0: installing " \
           "keras==3.7.0 failed: no space left on device" in said
    assert not any(line.startswith("matrix: REGRESSION") for line in said)


def test_matrix_merge_exits_with_the_same_verdict_as_run(tmp_path, capsys):
    """The CI workflow's merge step is the gate over its per-cell jobs: a regressed or erred cell
    fails it, as it would fail `matrix run` on one machine."""
    assert _merge(tmp_path, capsys, [_document(OLD), _document(NEW, environment=UPGRADED)]) == (0, [])
    regressed = [_document(OLD, accuracies=(0.88,) * 9), _document(NEW, accuracies=(0.60,) * 9, environment=UPGRADED)]
    assert _merge(tmp_path, capsys, regressed) == (1, ["matrix: REGRESSION Keras 3.6.0 / tensorflow 2.17.0: one_char"])
    status, said = _merge(tmp_path, capsys, [_document(NEW, environment=UPGRADED, training_errors={"one_char": "boom"})])
    assert status == 3 and "matrix: ERROR Keras 3.6.0 / tensorflow 2.17.0: one_char: training failed (boom)" in said
    assert (tmp_path / "out" / "matrix.md").exists()


def test_matrix_merge_of_a_run_directory_shows_and_judges_its_ab_files_and_passes_over_its_environments(
        tmp_path, capsys):
    """A matrix run's --dir, merged (e.g. to render it again): its A/B files, each timed in turns on
    one machine, are shown and judged; the JSON inside its cells' virtual environments is not read."""
    from alphabench import cli

    old, new = parse_cell(OLD), parse_cell(NEW)
    for document in (_document(OLD), _document(NEW, environment=UPGRADED)):
        atomic.write_json(files.cell_file(tmp_path, parse_cell(document["cell"])), document)
    files.save_ab(tmp_path, ThroughputAB(old, new, "one_char", ((100.0, 50.0),) * 8, 30))
    environment = tmp_path / "envs" / new.id
    (environment / "lib").mkdir(parents=True)
    (environment / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (environment / "lib" / "package.json").write_text("not JSON")
    (tmp_path / "baselines").mkdir()
    status = cli.main(["matrix", "merge", str(tmp_path), "--out", str(tmp_path / "out"),
                       "--baselines", str(tmp_path / "baselines")])
    said = [line for line in capsys.readouterr().err.splitlines() if line.startswith("matrix: REGRESSION")]
    assert status == 1 and said == ["matrix: REGRESSION Keras 3.6.0 / tensorflow 2.17.0: one_char throughput"]
    assert "**SLOWER** 0.50x" in (tmp_path / "out" / "matrix.md").read_text()
    assert (tmp_path / "out" / "matrix-throughput.png").exists()


def test_matrix_merge_judges_neighbouring_pairs_alone_not_a_bisects_probes_kept_beside_them(tmp_path, capsys):
    """A throughput bisect keeps its probes (each release against the bisect's older end) in ab/ of its
    --dir, which a matrix run may share: only the A/B of each cell and its neighbour judges and draws
    the matrix, so a probe across several releases neither fails nor shows as a neighbour's figure."""
    from alphabench import cli

    for document in (_document(OLD), _document(NEW, environment=UPGRADED)):
        atomic.write_json(files.cell_file(tmp_path, parse_cell(document["cell"])), document)
    files.save_ab(tmp_path, _timed_pair(OLD, NEW, 1.0)[1])
    files.save_ab(tmp_path, _timed_pair("keras==3.3.3/tensorflow==2.17.0", NEW, 0.5)[1])
    (tmp_path / "baselines").mkdir()
    status = cli.main(["matrix", "merge", str(tmp_path), "--out", str(tmp_path / "out"),
                       "--baselines", str(tmp_path / "baselines")])
    assert status == 0 and "REGRESSION" not in capsys.readouterr().err
    report = (tmp_path / "out" / "matrix.md").read_text()
    assert "1.00x [1.00-1.00]" in report and "0.50x" not in report


def _timed_pair(before: str, after: str, ratio: float) -> tuple[tuple[Cell, Cell], ThroughputAB]:
    """A neighbouring pair's one_char A/B whose 8 rounds each read `ratio`, keyed as a MatrixVerdict's."""
    comparison = ThroughputAB(parse_cell(before), parse_cell(after), "one_char", ((100.0, 100.0 * ratio),) * 8, 30)
    return (comparison.before, comparison.after), comparison


def test_a_pair_slower_by_a_known_backend_slowdown_is_expected_and_any_other_slower_pair_regresses():
    """jax 0.4.33 trains one_char slower than 0.4.31 with Keras held (deviations.KNOWN_SLOWDOWNS): a
    pair whose jax upgrade crosses it is slower as expected, said with its cause; a pair as slow that
    does not cross it, or on another backend, is a regression, and a crossing pair that is not slower
    is simply ok."""
    crossing = _timed_pair("keras==3.5.0/jax==0.4.31", "keras==3.6.0/jax==0.4.34", 0.66)
    later = _timed_pair("keras==3.6.0/jax==0.4.34", "keras==3.7.0/jax==0.4.35", 0.66)
    other_backend = _timed_pair("keras==3.5.0/tensorflow==2.17.1", "keras==3.6.0/tensorflow==2.18.1", 0.66)
    not_slower = _timed_pair("keras==3.5.0/jax==0.4.31", "keras==3.6.0/jax==0.4.34", 0.98)
    ab = dict([crossing, later, other_backend])
    matrix = judging.MatrixVerdict({cell: {} for key in ab for cell in key}, ab)
    assert sorted(c.label for c in matrix.regressions) == ["Keras 3.6.0 / tensorflow 2.18.1",
                                                             "Keras 3.7.0 / jax 0.4.35"]
    assert not crossing[1].comparison.regressed
    assert crossing[1].line().startswith("one_char throughput: slower, as expected: Keras 3.6.0 / jax 0.4.34 trains at")
    assert "expected: jax 0.4.33 trains it slower than 0.4.31, a known slowdown: XLA:CPU" in crossing[1].line()
    assert later[1].comparison.regressed and later[1].line().startswith("one_char throughput: REGRESSION: ")
    assert "expected" not in later[1].line()
    assert not not_slower[1].comparison.regressed and "expected" not in not_slower[1].line()
    assert matrix.exit_status == 1


def test_a_pair_whose_keras_upgrade_crosses_a_known_keras_slowdown_is_expected_on_its_backend_alone():
    """Keras 3.12.0 trains one_char slower than 3.11.3 on torch, torch held: a torch pair whose Keras
    upgrade crosses it, to a release or a nightly, is slower as expected, said with its cause; the
    same Keras upgrade on JAX, and a later torch pair as slow, are regressions."""
    crossing = _timed_pair("keras==3.11.3/torch==2.13.0+cpu", "keras==3.12.4/torch==2.13.0+cpu", 0.5)
    to_nightly = _timed_pair("keras==3.11.3/torch==2.13.0+cpu",
                             "keras-nightly==3.16.0.dev2026102704/torch==2.13.0+cpu", 0.5)
    later = _timed_pair("keras==3.12.4/torch==2.13.0+cpu", "keras==3.13.2/torch==2.13.0+cpu", 0.5)
    on_jax = _timed_pair("keras==3.11.3/jax==0.7.0", "keras==3.12.4/jax==0.7.2", 0.5)
    assert not crossing[1].comparison.regressed and not to_nightly[1].comparison.regressed
    assert "expected: Keras 3.12.0 trains it slower than 3.11.3, a known slowdown: Keras 3.12.0 flattens" in crossing[1].line()
    assert later[1].comparison.regressed and on_jax[1].comparison.regressed


def test_alphabench_ab_judges_an_upgrade_across_a_known_slowdown_as_the_matrix_does():
    """`alphabench ab` between two environments of one Keras line and backend says a slower upgrade
    across a known slowdown is expected, exit 0; the same ratio across none, or between two
    backends, is a regression."""
    from alphabench import abtest

    def torch(keras_version: str):
        return dataclasses.replace(ENVIRONMENT, environment="keras3-torch", backend="torch", backend_version="2.13.0+cpu",
                                   keras_version=keras_version)

    halved = ((100.0, 50.0),) * 8
    crossing = abtest.Comparison(halved, abtest.known_slowdown("one_char", torch("3.11.3"), torch("3.12.4")))
    assert crossing.exit_status == 0 and crossing.line("A", "B").startswith("slower, as expected: B trains at 0.50x")
    assert "expected: Keras 3.12.0 trains it slower than 3.11.3" in crossing.line("A", "B")
    assert abtest.known_slowdown("one_char", torch("3.12.4"), torch("3.13.2")) is None
    assert abtest.known_slowdown("one_char", ENVIRONMENT, torch("3.12.4")) is None
    assert abtest.Comparison(halved).exit_status == 1


def test_an_unexpected_pass_fails_the_matrix_unless_the_user_chooses_warn(tmp_path, capsys):
    """fit_reshuffles was measured broken on Keras 3.5.0 / TensorFlow: a cell keeping it passes
    unexpectedly. Said either way; with --unexpected-pass warn it does not fail the matrix."""
    kept = [_document(OLD, contracts={"fit_reshuffles": None})]
    assert _merge(tmp_path, capsys, kept) == (
        1, ["matrix: REGRESSION Keras 3.5.0 / tensorflow 2.17.0: contract fit_reshuffles (unexpected pass)"])
    assert _merge(tmp_path, capsys, kept, "--unexpected-pass", "warn") == (0, [
        "matrix: UNEXPECTED PASS Keras 3.5.0 / tensorflow 2.17.0: contract fit_reshuffles (--unexpected-pass warn: "
        "not failing the matrix)"])


def test_bisect_refuses_a_release_the_index_does_not_list_before_probing_anything(tmp_path, monkeypatch, capsys):
    from alphabench import cli
    from alphabench.matrix import commands

    monkeypatch.setattr(commands, "index_versions", lambda package, pre=False: ["3.1.0", "3.0.5"])
    monkeypatch.setattr(commands, "bisect", lambda *args, **kwargs: pytest.fail("bisect probed a release"))
    status = cli.main(["bisect", "3.0.5", "9.9.9", "--framing", "one_char", "--dir", str(tmp_path / "m")])
    assert status == 2
    assert capsys.readouterr().err.splitlines() == [
        "alphabench: error: Keras 9.9.9: not a release the package index lists (newest listed: 3.1.0)"]
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("good, bad, refused", [
    ("3.0.99", "3.1.0", "Keras 3.0.99: not a release the package index lists (newest listed: 3.1.0)"),
    ("3.0.99", "9.9", "Keras 3.0.99 and 9.9: not releases the package index lists (newest listed: 3.1.0)"),
])
def test_bisect_refuses_either_end_the_index_does_not_list(good, bad, refused):
    with pytest.raises(UsageError) as error:
        bisect.between(["3.1.0", "3.0.5"], good, bad)
    assert str(error.value) == refused


def test_a_cells_baseline_is_validated_and_migrated_like_any_baseline(tmp_path):
    from alphabench import baseline
    from alphabench.errors import BaselineError

    old = _document(OLD)
    schema_1 = json.loads(json.dumps(old["baseline"]))
    schema_1["schema_version"] = 1
    for key in baseline._ADDED_IN_2:
        del schema_1["environment"][key]
    del schema_1["framings"]["one_char"]["final_loss"]
    atomic.write_json(tmp_path / "old.json", {**old, "baseline": schema_1})
    migrated = files.load_cells([tmp_path / "old.json"])[parse_cell(OLD)].baseline
    assert migrated.environment.cpu_signature is None and migrated.framings["one_char"].final_loss == (None,) * 3
    broken = json.loads(json.dumps(old))
    broken["baseline"]["framings"]["one_char"]["accuracy"] = [2.0, 0.84, 0.88]
    atomic.write_json(tmp_path / "broken.json", broken)
    with pytest.raises(BaselineError, match=r"broken\.json: baseline: framings\.one_char\.accuracy: .*; "
                                            r"delete the cell file to rerun its cell$"):
        files.load_cells([tmp_path / "broken.json"])
