"""The pytest plugin's scheduling: under `pytest -n`, each framing's tests share one worker."""

pytest_plugins = ("pytester",)

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


def test_the_baselines_directory_option_takes_both_forms(pytester):
    # `--opt DIR` needs the option known before pytest parses its command line, which only a plugin
    # loaded through the pytest11 entry point is; from a conftest, DIR was taken for a test path.
    pytester.makepyfile(test_directory=BASELINES_DIRECTORY)
    for form in (["--alphabench-baselines", "mine"], ["--alphabench-baselines=mine"]):
        result = pytester.runpytest_subprocess(*form, "-s", "-p", "no:cacheprovider")
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(["*baselines: mine*"])


def test_the_ini_option_names_the_baselines_directory_relative_to_the_ini_file(pytester):
    pytester.makeini("[pytest]\nalphabench_baselines = ci/baselines\n")
    pytester.makepyfile(test_directory=BASELINES_DIRECTORY)
    result = pytester.runpytest_subprocess("-s", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines([f"*baselines: {pytester.path / 'ci' / 'baselines'}*"])
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
