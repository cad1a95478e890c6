"""pytest plugin: the suite's options and a session-wide `alphabench` fixture over alphabench.session.

Installed with alphabench (entry point pytest11), so in any project `pytest --alphabench` collects
the suite shipped in the package (alphabench.suite), comparing with the baselines in
--alphabench-baselines DIR, the ini option alphabench_baselines, or ./baselines.

Under `pytest -n auto` every test of a framing runs in one xdist group, so each framing is trained
once, by one worker, and its tests share the results.
"""

from __future__ import annotations

import importlib.util
import warnings

import pytest

from alphabench import baseline, options, verdict
from alphabench.advice import Advice
from alphabench.errors import AlphabenchError
from alphabench.session import Session

PREFIX = "alphabench-"
# Tests comparing framings need their results in one worker: these framings share one group.
LESSON_FRAMINGS = ("one_char", "feature_window", "timestep_window", "stateful")


def pytest_addoption(parser):
    group = parser.getgroup("alphabench", "alphabench: train the framings")
    group.addoption("--alphabench", action="store_true", dest="alphabench_suite",
                    help="also collect alphabench's suite, as installed with the package")
    options.add_training_options(group.addoption, PREFIX)
    options.add_baseline_option(group.addoption, PREFIX, default=None)
    parser.addini("alphabench_baselines", f"alphabench's baselines directory, relative to this file; "
                  f"--alphabench-baselines overrides it (default: ./{options.DEFAULT_BASELINES})")
    options.add_create_option(group.addoption, PREFIX)
    group.addoption(f"--{PREFIX}thorough", action="store_true", default=False, dest="alphabench_thorough",
                    help="also run the tests marked thorough: the tutorial's own fit calls trained in full "
                    "(reference path), which the default run covers through the contracts and the "
                    "equivalence tests (for nightly runs and `tox -e ENV -- --alphabench-thorough`)")
    options.add_unexpected_pass_option(group.addoption, PREFIX)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    # Here, not in an ini file: the suite runs in projects that have none of ours.
    config.addinivalue_line("markers", "slow: trains real models (minutes); deselect with -m 'not slow' "
                            "for the fast tier")
    config.addinivalue_line("markers", f"thorough: run on purpose only, with --{PREFIX}thorough")
    # TensorFlow warns about retracing when probes call predict_on_batch on batches of other sizes.
    config.addinivalue_line("filterwarnings", "ignore::UserWarning:tensorflow")
    # NumPy 2 deprecates __array__ without copy=, which Keras's variables (JAX backend) and JAX still
    # implement so: hundreds a run, none ours to fix. alphabench's own warnings (BaselineWritten) stay.
    config.addinivalue_line("filterwarnings", "ignore:__array__ implementation doesn't accept a copy keyword"
                            ":DeprecationWarning:(keras|jax)")
    # xdist's default "load" scheduling would spread one framing's tests over workers, training it
    # in each; "loadgroup" keeps each xdist_group on one worker.
    if getattr(config.option, "dist", "no") == "load":
        config.option.dist = "loadgroup"
    # A worker tags its test ids with their group only if its own command line said --dist
    # loadgroup (for `-n auto` alone it did not); without the tags the controller cannot group.
    if getattr(config, "workerinput", {}).get(_GROUPED):
        config.option.loadgroup = True
    if config.getoption("alphabench_suite"):
        _collect_the_suite(config)
    values = options.read_options(lambda name: config.getoption(PREFIX.replace("-", "_") + name))
    values["baselines"] = _baselines_directory(config)
    # Suggested commands are the user's own pytest command line, completed: it names their directory.
    advice = Advice(pytest_args=tuple(config.invocation_params.args))
    update = config.getoption("alphabench_update")
    session = Session(**values, update=update, announce=_announce, advice=advice,
                      unexpected_pass=config.getoption("alphabench_unexpected_pass"))
    try:
        if config.getoption("alphabench_baselines") or config.getini("alphabench_baselines"):
            # Named, so meant: a typo is refused now, not found missing by every test that compares.
            baseline.check_directory(session.baselines, None if update else advice.create())
        session.check_can_create()
    except AlphabenchError as error:
        raise pytest.UsageError(str(error)) from None
    config.stash[_SESSION] = session


@pytest.hookimpl(tryfirst=True)  # before xdist's worker sends the ids it collected
def pytest_collection_finish(session):
    """Where a test selected uses the suite's session: Keras and the baseline file are checked once,
    now, so a bad KERAS_BACKEND or a broken baseline is one line, not an error in every test."""
    if not any("alphabench" in getattr(item, "fixturenames", ()) for item in session.items):
        return  # a project's own tests: Keras is not imported for them
    try:
        session.config.stash[_SESSION].load_baseline()  # imports Keras, and validates the file
    except AlphabenchError as error:
        if not hasattr(session.config, "workerinput"):
            raise pytest.UsageError(str(error)) from None
        # An xdist worker that raised would be reported as crashed, with tracebacks: instead its
        # collection fails, which the controller shows once (every worker's report being the same).
        session.config.hook.pytest_collectreport(report=pytest.CollectReport("", "failed", str(error), []))
        session.items.clear()


def _collect_the_suite(config) -> None:
    spec = importlib.util.find_spec("alphabench.suite")
    if spec is None:  # a source checkout on sys.path, not installed: its suite is tests/
        raise pytest.UsageError("--alphabench: alphabench's suite is not installed; pip install alphabench")
    # Passed as an argument, the suite's directory is where its test ids start: training/test_learning.py::...
    suite = spec.submodule_search_locations[0]
    if suite not in config.args:  # an xdist worker may get the controller's arguments, suite included
        config.args.append(suite)


def _baselines_directory(config) -> str:
    """--alphabench-baselines DIR, else the ini option (relative to the ini file), else ./baselines."""
    given = config.getoption("alphabench_baselines")
    if given:
        return given
    configured = config.getini("alphabench_baselines")
    if configured and config.inipath:
        return str(config.inipath.parent / configured)
    return configured or options.DEFAULT_BASELINES


class BaselineWritten(UserWarning):
    """--alphabench-update wrote a baseline entry: shown in the warnings summary, to be checked in."""


def _announce(line: str) -> None:
    warnings.warn(BaselineWritten(line), stacklevel=2)


_SESSION = pytest.StashKey[Session]()
_GROUPED = "alphabench_loadgroup"


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node):
    """xdist, on the controller, for each worker: tell it whether tests are scheduled by group."""
    node.workerinput[_GROUPED] = node.config.option.dist == "loadgroup"


@pytest.fixture(scope="session")
def alphabench(request) -> Session:
    session = request.config.stash[_SESSION]
    session.resolve_path()
    return session


def pytest_collection_modifyitems(config, items):
    """Tests marked thorough skipped unless asked for. The framings with the most steps first: under xdist a group runs on one worker, and the
    longest group started last would leave the other worker idle until it ends (longest first keeps
    the workers' loads level). Stable: the rest keep their order, and every worker sorts alike."""
    items.sort(key=_samples_of_group, reverse=True)
    if not config.getoption("alphabench_thorough"):
        on_purpose = pytest.mark.skip(reason=f"on purpose only: run with --{PREFIX}thorough")
        for item in items:
            if item.get_closest_marker("thorough"):
                item.add_marker(on_purpose)


def _samples_of_group(item) -> int:
    """The training cost of the item's xdist group's framing (alphabench.data.training_cost; 0: none)."""
    from alphabench.data import training_cost
    from alphabench.framings import FRAMINGS

    marker = item.get_closest_marker("xdist_group")
    group = (marker.args[0] if marker.args else marker.kwargs.get("name", "")) if marker else ""
    framing = FRAMINGS.get(group.partition("@")[0])
    return training_cost(framing) if framing else 0


def xdist_group(framing_name: str) -> str:
    return "lessons" if framing_name in LESSON_FRAMINGS else framing_name


def framing_params(names, path: str = "fast"):
    """pytest.param per framing, id = its name, in its xdist group: one per framing and path, since
    only a path's own tests share what it trained (the fused tests of variable_length, 2 minutes on
    TensorFlow, kept off the worker that trains its fast path for 3.5)."""
    def group(name):
        return xdist_group(name) if path == "fast" else f"{name}@{path}"

    return [pytest.param(name, id=name, marks=pytest.mark.xdist_group(group(name))) for name in names]


def expect_known_deviation(request, session: Session, framing_name: str, check: str) -> None:
    """Turn a recorded, explained deviation that breaks `check` here into an expected failure: strict
    where it is predicted (alphabench.verdict decides), so the day it is fixed the suite says so."""
    outcome = verdict.expected_outcome(session.expected_failure(framing_name, check), session.unexpected_pass)
    if outcome:
        reason, strict = outcome
        request.applymarker(pytest.mark.xfail(strict=strict, reason=reason))
