"""The pytest plugin's scheduling: under `pytest -n`, each framing's tests share one worker."""

import os
from pathlib import Path

import pytest

import alphabench

pytest_plugins = ("pytester",)


@pytest.fixture
def plugin_under_test(monkeypatch):
    """pytester's pytest runs in a temporary directory: point it at the alphabench this process
    tests (a worktree's, say), not at whichever one the environment has installed. Not for the
    installed suite (`--alphabench`), which goes with the installed alphabench."""
    source = str(Path(alphabench.__file__).parents[1])
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [source, os.environ.get("PYTHONPATH")])))

GROUPED_TESTS = """
import os
import pytest
from alphabench.pytest_plugin import framing_params

def record(name):
    with open(f"{name}.workers", "a") as f:
        f.write(os.environ["PYTEST_XDIST_WORKER"] + "\\n")

@pytest.mark.parametrize("name", framing_params(["alpha", "beta", "gamma"]))
def test_first(name):
    record(name)

@pytest.mark.parametrize("name", framing_params(["alpha", "beta", "gamma"]))
def test_second(name):
    record(name)

@pytest.mark.parametrize("name", framing_params(["alpha", "beta", "gamma"]))
def test_third(name):
    record(name)
"""


def test_one_framings_tests_run_on_one_worker_under_plain_dash_n(pytester):
    # A framing trained on two workers costs twice: the bug this pins cost the suite minutes a run.
    pytester.makepyfile(test_grouped=GROUPED_TESTS)
    result = pytester.runpytest_subprocess("-p", "alphabench.pytest_plugin", "-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=9)
    for name in ("alpha", "beta", "gamma"):
        workers = (pytester.path / f"{name}.workers").read_text().split()
        assert len(workers) == 3 and len(set(workers)) == 1, f"{name} ran on workers {workers}"


BASELINES_DIRECTORY = """
def test_baselines_directory(alphabench):
    print("baselines:", alphabench.baselines)
"""


@pytest.mark.usefixtures("plugin_under_test")
def test_the_baselines_directory_option_takes_both_forms(pytester):
    # `--opt DIR` needs the option known before pytest parses its command line, which only a plugin
    # loaded through the pytest11 entry point is; from a conftest, DIR was taken for a test path.
    pytester.makepyfile(test_directory=BASELINES_DIRECTORY)
    pytester.mkdir("mine")
    for form in (["--alphabench-baselines", "mine"], ["--alphabench-baselines=mine"]):
        result = pytester.runpytest_subprocess(*form, "-s", "-p", "no:cacheprovider")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(["*baselines: mine*"])


@pytest.mark.usefixtures("plugin_under_test")
def test_the_ini_option_names_the_baselines_directory_relative_to_the_ini_file(pytester):
    pytester.makeini("[pytest]\nalphabench_baselines = ci/baselines\n")
    pytester.makepyfile(test_directory=BASELINES_DIRECTORY)
    (pytester.path / "ci" / "baselines").mkdir(parents=True)
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([f"*baselines: {pytester.path / 'ci' / 'baselines'}*"])
    pytester.mkdir("other")
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", "--alphabench-baselines", "other")
    result.stdout.fnmatch_lines(["*baselines: other*"])


def test_dash_dash_alphabench_collects_the_installed_suite_in_any_directory(pytester):
    result = pytester.runpytest_subprocess("--alphabench", "--collect-only", "-q", "-p", "no:cacheprovider")
    for test_id in (
        "training/test_learning.py::test_accuracy_meets_expectation[[]one_char[]]",
        "training/test_learning.py::test_reference_path_reaches_the_tutorials_result_and_its_baseline[[]stateful[]]",
        "benchmarks/test_throughput.py::test_training_throughput[[]variable_length-fast[]]",
    ):  # readable ids, starting at the suite's directory (JUnit XML shows them)
        result.stdout.fnmatch_lines([test_id])
    assert result.ret == 0


DEVIATION_TESTS = """
import pytest
from alphabench.deviations import KnownDeviation
from alphabench.pytest_plugin import expect_known_deviation

CANNOT_TRAIN = KnownDeviation("keras3-torch", "stateful", ("training",), "cannot train", measured_bad=("3.0.5",))

class Session:
    def __init__(self, release, unexpected_pass):
        self.release, self.unexpected_pass = release, unexpected_pass

    def expected_failure(self, name, check):
        return CANNOT_TRAIN.expectation(self.release)

CASES = [("3.0.5", "fail"), ("3.0.5", "warn"), ("3.1.0", "fail")]  # measured bad; newer than the last measured

@pytest.mark.parametrize("release, unexpected_pass", CASES)
def test_passes(request, release, unexpected_pass):
    expect_known_deviation(request, Session(release, unexpected_pass), "stateful", "training")

@pytest.mark.parametrize("release, unexpected_pass", CASES)
def test_fails(request, release, unexpected_pass):
    expect_known_deviation(request, Session(release, unexpected_pass), "stateful", "training")
    assert False, "cannot train"

def test_the_option(alphabench):
    print("unexpected pass:", alphabench.unexpected_pass)
"""


@pytest.mark.usefixtures("plugin_under_test")
def test_an_expected_failure_is_strict_only_where_measured_and_unexpected_passes_fail_the_run(pytester):
    pytester.makepyfile(test_deviation=DEVIATION_TESTS)
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", "-rxX")
    # Only the pass at the measured-bad release under the default policy fails; every failure is expected.
    result.assert_outcomes(failed=1, xpassed=2, xfailed=3, passed=1)
    result.stdout.fnmatch_lines(["*unexpected pass: fail*"])
    result.stdout.fnmatch_lines(["*test_passes?3.0.5-fail?*", "*XPASS(strict)*cannot train*",
                                 "XPASS*test_passes?3.1.0-fail?*newer than the last release measured (3.0.5, bad)*"])
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider", "--alphabench-unexpected-pass", "warn",
                                           "-k", "the_option")
    result.stdout.fnmatch_lines(["*unexpected pass: warn*"])


USES_THE_BASELINE = """
import pytest

@pytest.mark.parametrize("n", range(3))
def test_compares(alphabench, n):
    alphabench.load_baseline()
"""


def session_error(result) -> str:
    """The one line pytest printed for a usage error at session start; no test ran, no traceback."""
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.outlines + result.errlines
    output = result.outlines + result.errlines
    assert "Traceback" not in "\n".join(output) and not any("def validate" in line for line in output)
    [line] = [line for line in result.errlines if line.strip()]
    return line


@pytest.mark.usefixtures("plugin_under_test")
def test_a_broken_baseline_is_one_line_at_session_start(pytester):
    pytester.makepyfile(test_uses=USES_THE_BASELINE)
    pytester.mkdir("ci")
    for environment in ("keras3-tensorflow", "keras3-jax", "keras3-torch", "keras2-tensorflow"):
        (pytester.path / "ci" / f"{environment}.json").write_text('{"schema_version": 3, "framings": ')
    line = session_error(pytester.runpytest_subprocess("--alphabench-baselines", "ci", "-p", "no:cacheprovider"))
    assert line.startswith("ERROR: ci/keras") and "not valid JSON" in line
    # Under xdist a worker's usage error would crash it: its collection fails instead, shown once.
    result = pytester.runpytest_subprocess("--alphabench-baselines", "ci", "-p", "no:cacheprovider", "-n", "2")
    output = "\n".join(result.outlines + result.errlines)
    assert result.ret != 0 and "Traceback" not in output and "INTERNALERROR" not in output
    assert output.count("not valid JSON") == 2  # the error, and its line in the short summary
    result.stdout.fnmatch_lines(["ci/keras*.json: not valid JSON*"])


@pytest.mark.usefixtures("plugin_under_test")
def test_a_bad_keras_backend_is_one_line_at_session_start(pytester, monkeypatch):
    pytester.makepyfile(test_uses=USES_THE_BASELINE)
    monkeypatch.setenv("KERAS_BACKEND", "bogus")
    monkeypatch.delenv("TF_USE_LEGACY_KERAS", raising=False)
    line = session_error(pytester.runpytest_subprocess("-p", "no:cacheprovider"))
    assert line.startswith("ERROR: KERAS_BACKEND='bogus' is no backend alphabench runs on")


@pytest.mark.usefixtures("plugin_under_test")
def test_a_named_baselines_directory_that_does_not_exist_is_one_line_with_the_pytest_command_that_makes_it(pytester):
    pytester.makepyfile(test_uses=USES_THE_BASELINE)
    line = session_error(pytester.runpytest_subprocess("--alphabench-baselines", "typo", "-p", "no:cacheprovider"))
    assert line.startswith("ERROR: typo: no such directory, so no baseline to compare with; create it with `pytest ")
    assert line.endswith(" --alphabench-baselines typo -p no:cacheprovider --alphabench-update`")  # theirs, completed


@pytest.mark.usefixtures("plugin_under_test")
def test_a_project_not_using_the_suite_does_not_import_keras(pytester, monkeypatch):
    pytester.makepyfile(test_plain="def test_plain():\n    import sys\n    assert 'keras' not in sys.modules\n")
    monkeypatch.setenv("KERAS_BACKEND", "bogus")  # not alphabench's business here
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)


WARNING_TESTS = """
import warnings
from alphabench.pytest_plugin import BaselineWritten

NUMPY = "__array__ implementation doesn't accept a copy keyword, so passing copy=False failed."

def test_warns():
    for module in ("keras.src.backend.common.variables", "jax._src.array"):  # not ours: filtered
        warnings.warn_explicit(NUMPY, DeprecationWarning, "x.py", 1, module=module)
    warnings.warn_explicit(NUMPY, DeprecationWarning, "x.py", 1, module="mine")  # a project's own: shown
    warnings.warn(BaselineWritten("baselines/x.json: one_char: created"))  # ours: shown
"""


@pytest.mark.usefixtures("plugin_under_test")
def test_only_warnings_that_are_not_ours_or_the_projects_are_filtered(pytester):
    pytester.makepyfile(test_warnings=WARNING_TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, warnings=2)
    result.stdout.fnmatch_lines(["*BaselineWritten: baselines/x.json: one_char: created*"])
