"""The baseline store: round trips, atomic writes and one-line errors for every kind of bad file."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
from pathlib import Path

import pytest

from alphabench import baseline
from alphabench.errors import BaselineError
from alphabench.framings import FRAMINGS
from alphabench.results import BaselineEntry
from fakes import ENVIRONMENT, UPGRADED, fake_result, with_probes
from fakes import fake_results as _fake_results

EPOCHS = 200  # more than CURVE_POINTS: the stored curves are downsampled


def fake_results(accuracies=(0.8, 0.84, 0.84, 0.88, 0.92), **overrides):
    return _fake_results(accuracies, epochs=overrides.pop("epochs", EPOCHS), **overrides)


def make_file(tmp_path, **framing_overrides):
    path = baseline.baseline_path(tmp_path, "keras3-tensorflow")
    baseline.update(path, {"one_char": fake_results()}, 0.2, ENVIRONMENT)
    if framing_overrides:
        document = json.loads(path.read_text())
        document["framings"]["one_char"].update(framing_overrides)
        path.write_text(json.dumps(document))
    return path


def error_of(path) -> str:
    with pytest.raises(BaselineError) as raised:
        baseline.load(path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    return message


def test_baseline_path_is_named_after_the_environment(tmp_path):
    assert baseline.baseline_path(tmp_path, "keras2-tensorflow") == tmp_path / "keras2-tensorflow.json"


def test_an_entry_summarises_the_seeds():
    entry = BaselineEntry.from_results(list(reversed(fake_results())), calibration_seconds=0.2)
    assert entry.seeds == (1, 2, 3, 4, 5)
    assert entry.accuracy == (0.8, 0.84, 0.84, 0.88, 0.92)
    assert entry.normalised_throughput == pytest.approx(80.0)
    assert len(entry.loss_curve) == baseline.CURVE_POINTS
    assert entry.loss_curve[0] == 3.0 and entry.loss_curve[-1] == round(3.0 - 199 / 200, 6)
    assert entry.accuracy_curve[-1] == round(0.84 * 199 / 200, 6)  # the median seed's curve


def test_an_entry_keeps_the_seeds_band_about_its_median_curve(tmp_path):
    entry = BaselineEntry.from_results(fake_results(), calibration_seconds=0.2)
    band = entry.accuracy_band  # accuracies 0.8, 0.84, 0.84, 0.88, 0.92 times epoch / EPOCHS
    assert len(band.low) == len(band.high) == baseline.CURVE_POINTS
    assert (band.low[-1], band.lower_quartile[-1], band.upper_quartile[-1], band.high[-1]) == tuple(
        round(a * 199 / 200, 6) for a in (0.8, 0.84, 0.88, 0.92))
    path = make_file(tmp_path)
    assert baseline.load(path).framings["one_char"].accuracy_band == band  # stored, read back


def test_a_schema_2_file_is_read_with_no_bands_and_upgraded_so(tmp_path):
    path = make_file(tmp_path)
    document = json.loads(path.read_text())
    for key in ("loss_band", "accuracy_band"):
        del document["framings"]["one_char"][key]
    path.write_text(json.dumps({**document, "schema_version": 2}))
    assert baseline.load(path).framings["one_char"].loss_band is None
    baseline.upgrade(path)
    upgraded = json.loads(path.read_text())
    assert upgraded["schema_version"] == 3 and upgraded["framings"]["one_char"]["accuracy_band"] is None


def test_an_entry_without_calibration_has_no_normalised_throughput():
    assert BaselineEntry.from_results(fake_results(), None).normalised_throughput is None


def test_an_entry_refuses_mixed_settings():
    results = fake_results() + [fake_result(6, epochs=100)]
    with pytest.raises(ValueError, match="mix"):
        BaselineEntry.from_results(results, None)


def test_round_trip(tmp_path):
    path = make_file(tmp_path)
    document = baseline.load(path)
    assert json.loads(path.read_text())["schema_version"] == baseline.SCHEMA_VERSION
    assert document.environment == ENVIRONMENT
    assert document.framings["one_char"] == BaselineEntry.from_results(fake_results(), 0.2)
    before = path.read_bytes()
    baseline.save(path, document)
    assert path.read_bytes() == before  # deterministic output


@pytest.mark.parametrize("failing", ["os.fsync", "os.replace"])
def test_a_failed_write_leaves_the_old_file_and_no_temp_file(tmp_path, monkeypatch, failing):
    path = make_file(tmp_path)
    before = path.read_bytes()

    def fail(*args):
        raise OSError("disk full")

    monkeypatch.setattr(failing, fail)
    with pytest.raises(OSError, match="disk full"):
        baseline.update(path, {"one_char": fake_results(accuracies=(0.5,))}, 0.2, ENVIRONMENT)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == [path.name]


def test_save_refuses_an_invalid_document_without_writing(tmp_path):
    path = tmp_path / "keras3-tensorflow.json"
    with pytest.raises(BaselineError, match="framings: missing"):
        baseline._write_json(path, {"schema_version": baseline.SCHEMA_VERSION, "environment": ENVIRONMENT.as_dict(),
                                    "calibration_seconds": None})
    assert os.listdir(tmp_path) == []


def test_missing_file(tmp_path):
    message = error_of(tmp_path / "keras3-jax.json")
    # The command makes that file: its directory, its environment.
    assert message.endswith(f"does not exist; create it with "
                            f"`KERAS_BACKEND=jax alphabench baseline update --baselines {tmp_path}`")


def test_corrupt_json(tmp_path):
    path = make_file(tmp_path)
    path.write_text(path.read_text()[:50])
    message = error_of(path)
    assert "not valid JSON" in message and "line " in message
    assert "git" not in message  # not in a git work tree: `git checkout` would fail


def make_two_path_file(tmp_path):
    """A baseline of two entries on other paths and seeds than the defaults."""
    path = baseline.baseline_path(tmp_path, "keras3-tensorflow")
    baseline.update(path, {"one_char": fake_results(accuracies=(0.8,) * 9),
                           "stateful@reference": fake_results(accuracies=(0.9,), framing="stateful",
                                                              path="reference")}, 0.2, ENVIRONMENT)
    return path


@pytest.mark.parametrize("damage", [
    lambda text: text[:-20],  # cut short, as by a full disk
    lambda text: text.replace('"schema_version": 3', '"schema_version": 0'),
    lambda text: text.replace('"calibration_seconds"', '"calibrated"'),
])
def test_the_advice_for_an_unusable_file_rebuilds_every_entry_it_held(tmp_path, damage):
    path = make_two_path_file(tmp_path)
    path.write_text(damage(path.read_text()))
    with pytest.raises(BaselineError) as refused:  # update never overwrites what it cannot read
        baseline.update(path, {"one_char": fake_results()}, 0.2, ENVIRONMENT)
    rebuild = (f"`mv {path} {path}.broken && KERAS_BACKEND=tensorflow alphabench baseline update --baselines "
               f"{tmp_path} --path fast --seeds 9 one_char && KERAS_BACKEND=tensorflow alphabench baseline update "
               f"--baselines {tmp_path} --path reference --seeds 1 stateful`")
    held = "held" if "not valid JSON" not in str(refused.value) else (
        "still shows (any cut off with the rest of the file are unknown)")
    assert str(refused.value).endswith(f"fix it, or set it aside and rebuild every entry it {held}: {rebuild}")
    path.rename(f"{path}.broken")  # followed: the first command on an empty directory creates the file
    assert baseline.update(path, {"one_char": fake_results()}, 0.2, ENVIRONMENT)[0].startswith("one_char: created")


def test_the_advice_restores_a_file_git_holds_from_git(tmp_path):
    path = make_file(tmp_path)
    git = ["git", "-C", str(tmp_path), "-c", "user.name=t", "-c", "user.email=t@t"]
    for command in (["init", "-q"], ["add", path.name], ["commit", "-qm", "baseline"]):
        subprocess.run(git + command, check=True)
    path.write_text(path.read_text()[:50])
    message = error_of(path)
    restore = f"`git -C {tmp_path} checkout -- {path.name}`"
    assert f"restore it from git ({restore})" in message
    subprocess.run(restore.strip("`").split(), check=True, cwd="/")  # works from any directory
    assert baseline.load(path).framings.keys() == {"one_char"}


def test_a_baselines_path_that_is_a_file_or_missing_is_refused_before_training(tmp_path):
    baseline.check_directory(tmp_path)
    baseline.check_directory(tmp_path / "new")  # nothing to compare with is fine where it will be created
    with pytest.raises(BaselineError, match="no such directory, so no baseline to compare with; create it with `cmd`"):
        baseline.check_directory(tmp_path / "new", create="cmd")
    (tmp_path / "file").write_text("")
    with pytest.raises(BaselineError, match="is a file, not a directory of baselines"):
        baseline.check_directory(tmp_path / "file", create="cmd")


def test_missing_field(tmp_path):
    path = make_file(tmp_path)
    document = json.loads(path.read_text())
    del document["framings"]["one_char"]["epochs_to_100"]
    path.write_text(json.dumps(document))
    assert "framings.one_char.epochs_to_100: missing" in error_of(path)


def test_wrong_type(tmp_path):
    path = make_file(tmp_path, accuracy=["84%", 0.8, 0.8, 0.8, 0.8])
    assert f"{path}: framings.one_char.accuracy: expected a list of numbers" in error_of(path)


def test_wrong_setting_type(tmp_path):
    settings = {"units": 32, "epochs": 200, "batch_size": 1, "shuffle": "yes", "stateful": False}
    path = make_file(tmp_path, settings=settings)
    assert "framings.one_char.settings.shuffle: expected true or false" in error_of(path)


def test_per_seed_list_of_the_wrong_length(tmp_path):
    path = make_file(tmp_path, probes=[{}, {}])
    assert "framings.one_char.probes:" in error_of(path)
    assert "got 2 values for 5 seeds" in error_of(path)


def schema_1(document: dict) -> dict:
    """`document` as alphabench wrote it before the fingerprint knew the CPU's signature."""
    environment = {k: v for k, v in document["environment"].items() if k not in baseline._ADDED_IN_2}
    framings = {key: {k: v for k, v in entry.items() if k != "final_loss"} for key, entry in document["framings"].items()}
    return {**document, "schema_version": 1, "environment": environment, "framings": framings}


def test_a_schema_1_file_is_read_with_the_fields_it_lacked_unknown(tmp_path):
    path = make_file(tmp_path)
    path.write_text(json.dumps(schema_1(json.loads(path.read_text()))))
    old = baseline.load(path)
    assert old.environment.cpu_signature is None and old.framings["one_char"].final_loss == (None,) * 5
    assert old.framings["one_char"].accuracy == (0.8, 0.84, 0.84, 0.88, 0.92)  # nothing lost
    assert not old.environment.same_bits(ENVIRONMENT)  # never trusted for exact reproduction
    assert "cpu_signature unknown (baseline made by an older alphabench)" in old.environment.differences(ENVIRONMENT)


def test_upgrade_migrates_schema_1_and_rewrites_a_current_file(tmp_path):
    path = make_file(tmp_path)
    current = json.loads(path.read_text())
    path.write_text(json.dumps(schema_1(current)))
    baseline.upgrade(path)
    upgraded = json.loads(path.read_text())
    assert upgraded["schema_version"] == baseline.SCHEMA_VERSION
    assert upgraded["environment"]["cpu_flags"] is None and upgraded["framings"]["one_char"]["final_loss"] == [None] * 5
    path.write_text(json.dumps(current))  # not in the canonical layout
    baseline.upgrade(path)
    assert json.loads(path.read_text()) == current


def test_a_schema_without_an_upgrade_says_to_regenerate_and_upgrade_agrees(tmp_path):
    path = make_file(tmp_path)
    document = json.loads(path.read_text())
    path.write_text(json.dumps({**document, "schema_version": 0}))
    message = error_of(path)
    assert "set it aside and rebuild every entry it held" in message and "upgrade" not in message
    with pytest.raises(BaselineError, match="no upgrade"):
        baseline.upgrade(path)


def test_a_newer_schema_gets_one_advice_from_load_and_upgrade_alike(tmp_path):
    path = make_file(tmp_path)
    path.write_text(json.dumps({**json.loads(path.read_text()), "schema_version": 99}))
    messages = {error_of(path)}
    with pytest.raises(BaselineError) as refused:
        baseline.upgrade(path)
    messages.add(str(refused.value))
    assert messages == {f"{path}: schema_version: 99 was made by a newer alphabench (this one reads 3); "
                        "upgrade alphabench (`pip install --upgrade alphabench`)"}


def test_newer_schema_is_refused(tmp_path):
    path = make_file(tmp_path)
    document = json.loads(path.read_text())
    path.write_text(json.dumps({**document, "schema_version": baseline.SCHEMA_VERSION + 1}))
    message = error_of(path)
    assert "made by a newer alphabench" in message and "upgrade alphabench" in message


def test_a_throughput_that_is_not_finite_is_refused(tmp_path):
    path = make_file(tmp_path)
    path.write_text(path.read_text().replace('"steps_per_second": 400.0', '"steps_per_second": Infinity'))
    assert "framings.one_char.steps_per_second: expected a number >= 0" in error_of(path)


def test_update_describes_a_new_framing(tmp_path):
    path = tmp_path / "keras3-tensorflow.json"
    changes = baseline.update(path, {"one_char": fake_results()}, 0.2, ENVIRONMENT)
    assert changes == ["one_char: created (seeds 1-5, median accuracy 84.00%)"]


def test_update_with_the_same_results_is_unchanged(tmp_path):
    path = make_file(tmp_path)
    assert baseline.update(path, {"one_char": fake_results()}, 0.2, ENVIRONMENT) == ["one_char: unchanged"]


def test_update_describes_changed_results(tmp_path):
    path = make_file(tmp_path)
    results = fake_results(accuracies=(0.84, 0.88, 0.88, 0.92, 0.92))
    results[1] = with_probes(results[1], batch_independence=False)
    changes = baseline.update(path, {"one_char": results}, 0.2, ENVIRONMENT)
    assert changes == [
        "one_char: median accuracy 84.00% -> 88.00%; epochs_to_100 unchanged; probes changed for seeds [2]; final_loss unchanged"
    ]


def test_update_describes_refreshed_timings(tmp_path):
    path = make_file(tmp_path)
    changes = baseline.update(path, {"one_char": fake_results(steps_per_second=410.0)}, 0.2, ENVIRONMENT)
    assert changes == ["one_char: results unchanged; throughput 400.0 -> 410.0 steps/s"]


def test_update_keeps_other_framings(tmp_path):
    path = make_file(tmp_path)
    stateful = fake_results(framing="stateful", probes={"recite": "BCDEFGHIJKLMNOPQRSTUVWXYZ"})
    baseline.update(path, {"stateful": stateful}, 0.2, ENVIRONMENT)
    assert sorted(baseline.load(path).framings) == ["one_char", "stateful"]


def test_update_refuses_to_overwrite_a_corrupt_file(tmp_path):
    path = make_file(tmp_path)
    path.write_text("{")
    with pytest.raises(BaselineError, match="not valid JSON"):
        baseline.update(path, {"one_char": fake_results()}, 0.2, ENVIRONMENT)
    assert path.read_text() == "{"


def test_update_refuses_a_partial_update_in_a_new_environment(tmp_path):
    path = make_file(tmp_path)
    stateful = fake_results(framing="stateful", environment=UPGRADED)
    with pytest.raises(BaselineError, match="keras_version 3.5.0 -> 3.6.0"):
        baseline.update(path, {"stateful": stateful}, 0.2, UPGRADED)
    changes = baseline.update(path, {"one_char": fake_results(environment=UPGRADED)}, 0.2, UPGRADED)
    assert changes == ["environment: keras_version 3.5.0 -> 3.6.0", "one_char: unchanged"]


def test_updating_the_whole_file_retrains_every_entry_on_its_own_path_and_seeds(tmp_path):
    path = make_file(tmp_path)  # one_char on the fast path, seeds 1-5
    reference = fake_results(accuracies=(0.9,), framing="stateful", path="reference")
    baseline.update(path, {"stateful@reference": reference}, 0.2, ENVIRONMENT)
    document = baseline.load(path)
    others = [name for name in FRAMINGS if name != "one_char"]
    assert baseline.update_plan(document, "fast", None, []) == {
        ("fast", (1, 2, 3, 4, 5)): ["one_char"],
        ("reference", (1,)): ["stateful"],
        ("fast", None): others,  # no entry yet: the framing's own seeds
    }
    assert baseline.update_plan(document, "fast", (1, 2), [])[("reference", (1, 2))] == ["stateful"]
    assert baseline.update_plan(document, "fast", None, ["stateful"]) == {("fast", None): ["stateful"]}
    # Naming a framing keeps the seeds its entry holds, unless --seeds says otherwise.
    assert baseline.update_plan(document, "fast", None, ["one_char"]) == {("fast", (1, 2, 3, 4, 5)): ["one_char"]}
    assert baseline.update_plan(document, "fast", (1, 2), ["one_char"]) == {("fast", (1, 2)): ["one_char"]}
    assert baseline.update_plan(document, "reference", None, ["stateful", "one_char"]) == {
        ("reference", (1,)): ["stateful"], ("reference", None): ["one_char"]}
    assert baseline.update_plan(None, "reference", (1,), []) == {("reference", (1,)): list(FRAMINGS)}


def test_a_partial_update_in_a_new_environment_is_refused_before_training(tmp_path):
    path = make_file(tmp_path)
    before = path.read_text()
    moved = dataclasses.replace(ENVIRONMENT, cpu="Another CPU")
    with pytest.raises(BaselineError, match="cpu Test CPU -> Another CPU.*one_char would not be retrained"):
        baseline.check_update(path, ["stateful"], moved)
    assert baseline.check_update(path, ["one_char", "stateful"], moved) == ["cpu Test CPU -> Another CPU"]
    assert path.read_text() == before


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o664])
def test_update_keeps_the_files_permissions(tmp_path, mode):
    path = make_file(tmp_path)
    path.chmod(mode)
    baseline.update(path, {"one_char": fake_results(accuracies=(0.5,))}, 0.2, ENVIRONMENT)
    assert path.stat().st_mode & 0o777 == mode


def test_a_new_file_gets_the_umasks_permissions(tmp_path):
    umask = os.umask(0o027)
    try:
        path = make_file(tmp_path)
    finally:
        os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o640


def test_a_temp_file_left_by_a_killed_writer_is_removed_by_the_next_write(tmp_path):
    path = make_file(tmp_path)
    abandoned = tmp_path / f".{path.name}.{_pid_of_a_finished_process()}-x1y2.tmp"
    live = tmp_path / f".{path.name}.{os.getpid()}-a1b2.tmp"  # another write of this process, under way
    unrelated = tmp_path / ".notes.txt.tmp"
    for file in (abandoned, live, unrelated):
        file.write_text("{")
    baseline.update(path, {"one_char": fake_results(accuracies=(0.5,))}, 0.2, ENVIRONMENT)
    assert sorted(os.listdir(tmp_path)) == sorted([path.name, live.name, unrelated.name])


def _pid_of_a_finished_process() -> int:
    """A process id that is certainly not running now."""
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_temp_files_are_ignored_by_git():
    repository = Path(__file__).parents[2]
    if not (repository / ".git").exists():
        pytest.skip("not a git checkout")
    temporary = f"baselines/.keras3-tensorflow.json.{os.getpid()}-x1y2.tmp"
    assert subprocess.run(["git", "check-ignore", "-q", temporary], cwd=repository).returncode == 0


def test_an_unwritable_directory_is_refused_before_training(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(BaselineError, match="baselines cannot be written there"):
        baseline.check_writable(blocker / "baselines" / "keras3-tensorflow.json")
    baseline.check_writable(tmp_path / "new" / "keras3-tensorflow.json")
    assert os.listdir(tmp_path / "new") == []  # the probe leaves nothing behind
