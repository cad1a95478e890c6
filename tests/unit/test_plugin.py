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
