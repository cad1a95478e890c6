"""The CLI as a user meets it: black-box runs in a subprocess, checking output and exit codes."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BASELINES = Path(__file__).parents[2] / "baselines"


def alphabench(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "alphabench", *args], capture_output=True, text=True, cwd=cwd)


def test_list_shows_all_framings_without_importing_keras():
    run = alphabench("list")
    assert run.returncode == 0
    for name in ("one_char", "stateful", "variable_length", "prefix_padded"):
        assert name in run.stdout
    listing_only = "import sys; from alphabench.cli import main; main(['list']); print('keras' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", listing_only], capture_output=True, text=True).stdout.endswith("False\n")


@pytest.mark.parametrize(
    "args, message",
    [
        (["run", "two_char"], "unknown framing 'two_char'; choose from: one_char"),
        (["run", "--epochs", "-3"], "argument --epochs: expected a positive integer, got '-3'"),
        (["run", "--units", "0"], "argument --units: expected a positive integer, got '0'"),
        (["run", "--seeds", "x"], "seeds must look like 3 (seeds 1-3), 1-5 or 2,7,9"),
        (["run", "--seeds", "1-100000"], "100000 seeds is more than the 256 a run trains"),
        (["bench", "--reference-epochs", "one_char=-1"], "expected FRAMING=N"),
        (["ab", "/nonexistent/python", "--rounds", "1"], "could not time one_char"),
        (["run", "--unexpected-pass", "ignore"], "argument --unexpected-pass: invalid choice: 'ignore'"),
        (["bisect", "3.0.5", "3.5.0", "--framing", "stateful", "--direction", "up"], "argument --direction: invalid choice"),
        (["ab", str(BASELINES), "--rounds", "1"], f"{BASELINES} is a directory, not a Python interpreter"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args, message):
    run = alphabench(*args)
    assert run.returncode == 2
    assert message in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr
    assert "Traceback" not in run.stderr


def test_the_ab_progress_line_ends_before_an_error(tmp_path):
    other = tmp_path / "python"  # an interpreter without alphabench: the first round fails
    other.write_text("#!/bin/sh\necho 'No module named alphabench' >&2\nexit 1\n")
    other.chmod(0o755)
    run = alphabench("ab", str(other), "--rounds", "1")
    assert run.returncode == 2
    progress, error = run.stderr.splitlines()
    assert progress.startswith("timing one_char in turns")
    assert error == f"alphabench: error: {other} could not time one_char (No module named alphabench); is alphabench installed there?"


def test_a_corrupt_baseline_is_one_line_and_left_untouched(tmp_path):
    corrupt = tmp_path / "keras3-tensorflow.json"
    corrupt.write_text('{"schema_version": 1, "framings": ')
    run = alphabench("baseline", "upgrade", str(corrupt))
    assert run.returncode == 2
    assert "not valid JSON" in run.stderr and "set it aside and rebuild every entry it still shows" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert corrupt.read_text() == '{"schema_version": 1, "framings": '


def test_a_baselines_directory_that_does_not_exist_fails_before_training_with_the_command_that_makes_it(tmp_path):
    missing = tmp_path / "no such dir"
    run = alphabench("run", "one_char", "--seeds", "1", "--baselines", str(missing))
    assert run.returncode == 2 and "Traceback" not in run.stderr, run.stderr
    assert run.stderr.strip() == (f"alphabench: error: {missing}: no such directory, so no baseline to compare with; "
                                  f"create it with `alphabench baseline update --baselines '{missing}' --seeds 1 "
                                  "one_char`")
    assert not missing.exists()


@pytest.mark.parametrize("command", [["run", "one_char"], ["baseline", "update", "one_char"]])
def test_a_baselines_path_that_is_a_file_is_one_line_before_training(tmp_path, command):
    (tmp_path / "a-file").write_text("")
    run = alphabench(*command, "--baselines", str(tmp_path / "a-file"))
    assert run.returncode == 2
    assert run.stderr.strip() == f"alphabench: error: {tmp_path / 'a-file'}: is a file, not a directory of " \
                                 "baselines; name the directory that holds the <environment>.json files"


def test_a_missing_baseline_says_how_to_create_it(tmp_path):
    run = alphabench("baseline", "upgrade", str(tmp_path / "nope.json"))
    assert run.returncode == 2 and "alphabench baseline update" in run.stderr


def test_a_partial_baseline_update_on_a_new_machine_is_refused_before_any_training(tmp_path):
    # The repository's baseline keeps fast and reference-path entries; "made on another CPU" makes
    # updating one framing alone an update that would leave the others claiming this machine.
    document = json.loads((BASELINES / "keras3-tensorflow.json").read_text())
    document["environment"]["cpu"] = "Another CPU"
    for environment in ("keras3-tensorflow", "keras2-tensorflow", "keras3-jax", "keras3-torch"):
        (tmp_path / f"{environment}.json").write_text(json.dumps(document))
    before = {file.name: file.read_text() for file in tmp_path.iterdir()}
    run = alphabench("baseline", "update", "one_char", "--baselines", str(tmp_path))
    assert run.returncode == 2
    assert "one_char (" not in run.stderr, "training started"  # the progress line "[1/1] one_char (seeds 1-3, ..."
    [error] = [line for line in run.stderr.splitlines() if line.startswith("alphabench: error:")]
    assert "stateful@reference" in error
    assert f"`alphabench baseline update --baselines {tmp_path}` (naming no framing" in error
    assert "Traceback" not in run.stderr
    assert {file.name: file.read_text() for file in tmp_path.iterdir()} == before


@pytest.mark.skipif(importlib.util.find_spec("tf_keras") is None, reason="tf-keras is not installed")
def test_the_fused_path_on_keras_2_is_refused_before_any_training():
    run = subprocess.run([sys.executable, "-m", "alphabench", "run", "one_char", "--path", "fused"],
                         capture_output=True, text=True, env={**os.environ, "TF_USE_LEGACY_KERAS": "1"})
    assert run.returncode == 2 and "one_char (" not in run.stderr, run.stderr
    assert ("alphabench: error: the fused path runs on keras3-jax and keras3-tensorflow, not on keras2-tensorflow"
            in run.stderr)


def test_an_unwritable_baselines_directory_is_refused_before_any_training(tmp_path):
    blocker = tmp_path / "a-file"  # a directory below a file cannot be created, even by root
    blocker.write_text("")
    run = alphabench("baseline", "update", "one_char", "--baselines", str(blocker / "baselines"))
    assert run.returncode == 2
    assert "one_char (" not in run.stderr, "training started"
    [error] = [line for line in run.stderr.splitlines() if line.startswith("alphabench: error:")]
    assert "baselines cannot be written there" in error and "Traceback" not in run.stderr


def test_a_framing_named_twice_is_benchmarked_once(monkeypatch, capsys):
    from alphabench import bench, cli

    timed = []
    monkeypatch.setattr(bench, "compare_paths", lambda framing, *args: timed.append(framing.name) or {})
    monkeypatch.setattr(bench, "table", lambda rows: "")
    assert cli.main(["bench", "one_char", "stateful", "one_char"]) == 0
    assert timed == ["one_char", "stateful"]


def test_run_names_the_baselines_file_and_the_false_alarm_budget_in_its_header(tmp_path, monkeypatch, capsys):
    from alphabench import cli
    from fakes import go_offline

    go_offline(monkeypatch)
    assert cli.main(["run", "one_char", "--path", "fast", "--baselines", str(tmp_path)]) == 1  # no baseline yet
    header = capsys.readouterr().out.splitlines()[1:4]
    assert header == ["alphabench on keras3-tensorflow (Keras 3.5.0, tensorflow 2.17.0), fast path",
                      f"baselines: {tmp_path / 'keras3-tensorflow.json'}",
                      "false-alarm budget: 1% a run for the rank tests across environments (0.125% a framing)"]


def run_into_a_closed_pipe(*args):
    """`alphabench ... | head`: the reader is gone before the output is written."""
    reader, writer = os.pipe()
    os.close(reader)
    try:
        return subprocess.run([sys.executable, "-m", "alphabench", *args], stdout=writer, stderr=subprocess.PIPE,
                              text=True)
    finally:
        os.close(writer)


@pytest.mark.parametrize("args", [["list"], ["baseline", "show", str(BASELINES / "keras3-tensorflow.json")]])
def test_a_closed_pipe_ends_quietly(args):
    run = run_into_a_closed_pipe(*args)
    assert run.returncode == 0 and run.stderr == ""


def test_a_closed_pipe_keeps_a_failing_verdicts_exit_status(tmp_path):
    from alphabench import trajectory
    from alphabench.trajectory import Trajectory

    golden, now = tmp_path / "golden.json", tmp_path / "now.json"
    trajectory.save([Trajectory("one_char", (3.3,), (1.0,), (2.0,))], golden)
    trajectory.save([Trajectory("one_char", (4.0,), (1.0,), (2.0,))], now)
    run = run_into_a_closed_pipe("golden", "spread", str(now), "--golden", str(golden))
    assert run.returncode == 1 and run.stderr == ""


@pytest.mark.parametrize("backend, missing, advice", [
    ("jax", "jax", 'Keras\'s jax backend needs jax, which is not installed: pip install "alphabench[jax]"'),
    ("torch", "torch", 'Keras\'s torch backend needs torch, which is not installed: pip install "alphabench[torch]"'),
    ("tensorflow", "keras", 'Keras is not installed: pip install "alphabench[tensorflow]"'),
])
def test_a_missing_backend_names_what_to_install(backend, missing, advice):
    # None in sys.modules makes `import <missing>` fail as if it were not installed.
    without = f"import sys; sys.modules[{missing!r}] = None; from alphabench.cli import main; sys.exit(main(['run', 'one_char']))"
    run = subprocess.run([sys.executable, "-c", without], capture_output=True, text=True,
                         env={**os.environ, "KERAS_BACKEND": backend, "TF_USE_LEGACY_KERAS": "0"})
    assert run.returncode == 2 and run.stderr == f"alphabench: error: {advice}\n", run.stderr


@pytest.mark.parametrize("backend", [
    "tensorflow",
    pytest.param("jax", marks=pytest.mark.skipif(importlib.util.find_spec("jax") is None, reason="jax is not installed")),
])
def test_keras_and_seeding_print_no_tensorflow_log_lines(backend):
    # Keras imports TensorFlow on every backend where it is installed (set_random_seed seeds it too).
    seeded = "from alphabench import compat; compat.seed_everything(1)"
    run = subprocess.run([sys.executable, "-c", seeded], capture_output=True, text=True,
                         env={**os.environ, "KERAS_BACKEND": backend, "TF_USE_LEGACY_KERAS": "0"})
    assert run.returncode == 0 and run.stderr == "", run.stderr


def test_a_report_path_that_is_a_file_is_refused_before_any_training(tmp_path):
    taken = tmp_path / "report"
    taken.write_text("someone's file")
    run = alphabench("run", "one_char", "--report", str(taken / "out"))
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip().endswith(f"--report {taken / 'out'}: {taken} is a file, not a directory; name a directory")
    assert "contracts" not in run.stderr and taken.read_text() == "someone's file"


@pytest.mark.parametrize("backend", ["bogus", "TensorFlow"])
def test_an_unknown_backend_is_one_line_and_exit_2(backend):
    keras3 = {name: value for name, value in os.environ.items() if name != "TF_USE_LEGACY_KERAS"}  # Keras 2 ignores it
    run = subprocess.run([sys.executable, "-m", "alphabench", "run", "one_char"], capture_output=True, text=True,
                         env={**keras3, "KERAS_BACKEND": backend})
    assert run.returncode == 2, run.stderr
    assert run.stderr.splitlines() == [f"alphabench: error: KERAS_BACKEND={backend!r} is no backend alphabench runs "
                                       "on: set it to tensorflow, jax, torch (lower case), or TF_USE_LEGACY_KERAS=1 "
                                       "for Keras 2"]


@pytest.mark.parametrize("mode, status", [("fail", 1), ("warn", 0)])
def test_run_reports_an_unexpected_pass_prominently_and_fails_on_it_unless_warn(tmp_path, monkeypatch, capsys,
                                                                               mode, status):
    # One path from the option to the line: the CLI's --unexpected-pass, the session, verdict.expectations
    # (the deviation's standing on this release), verdict.judge, and report.notes.
    from alphabench import cli, deviations
    from fakes import go_offline

    go_offline(monkeypatch)
    monkeypatch.setattr(deviations, "KNOWN_DEVIATIONS", (deviations.KnownDeviation(
        "keras3-tensorflow", "one_char", ("accuracy",), "pretend it cannot learn", measured_bad=("3.5.0",)),))
    args = ["run", "one_char", "--path", "fast", "--baselines", str(tmp_path), "--update"]
    assert cli.main([*args, "--unexpected-pass", mode]) == status
    out = capsys.readouterr().out
    warned = " (--unexpected-pass warn: not failing the run)" if mode == "warn" else ""
    assert (f"UNEXPECTED PASS one_char: recorded as failing (accuracy) on Keras 3.5.0, but passed{warned}: "
            "pretend it cannot learn (measured bad on Keras 3.5.0)") in out.splitlines()
