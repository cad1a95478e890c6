"""pytest plugin: the suite's options and a session-wide `alphabench` fixture over alphabench.session.

Under `pytest -n auto` every test of a framing runs in one xdist group, so each framing is trained
once, by one worker, and its tests share the results.
"""

from __future__ import annotations

import warnings

import pytest

from alphabench import options
from alphabench.errors import AlphabenchError
from alphabench.session import Session

PREFIX = "alphabench-"
# Tests comparing framings need their results in one worker: these framings share one group.
LESSON_FRAMINGS = ("one_char", "feature_window", "timestep_window", "stateful")


def pytest_addoption(parser):
    group = parser.getgroup("alphabench", "alphabench: train the framings")
    options.add_training_options(group.addoption, PREFIX)
    options.add_baseline_option(group.addoption, PREFIX)
    options.add_create_option(group.addoption, PREFIX)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    # xdist's default "load" scheduling would spread one framing's tests over workers, training it
    # in each; "loadgroup" keeps each xdist_group on one worker.
    if getattr(config.option, "dist", "no") == "load":
        config.option.dist = "loadgroup"
    # A worker tags its test ids with their group only if its own command line said --dist
    # loadgroup (for `-n auto` alone it did not); without the tags the controller cannot group.
    if getattr(config, "workerinput", {}).get(_GROUPED):
        config.option.loadgroup = True
    values = options.read_options(lambda name: config.getoption(PREFIX.replace("-", "_") + name))
    session = Session(**values, update=config.getoption("alphabench_update"), announce=_announce)
    try:
        session.check_can_create()
    except AlphabenchError as error:
        raise pytest.UsageError(str(error)) from None
    config.stash[_SESSION] = session


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
    return request.config.stash[_SESSION]


def xdist_group(framing_name: str) -> str:
    return "lessons" if framing_name in LESSON_FRAMINGS else framing_name


def framing_params(names):
    """pytest.param per framing, id = its name, in its xdist group."""
    return [pytest.param(name, id=name, marks=pytest.mark.xdist_group(xdist_group(name))) for name in names]


def expect_known_deviation(request, session: Session, framing_name: str, check: str) -> None:
    """Turn a recorded, explained deviation that breaks `check` here into a strict expected failure."""
    why = session.expected_failure(framing_name, check)
    if why:
        request.applymarker(pytest.mark.xfail(strict=True, reason=why))
