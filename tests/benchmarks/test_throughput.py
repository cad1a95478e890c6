"""Training throughput per framing and path, with pytest-benchmark.

Run without xdist (pytest-benchmark disables itself under it):
    pytest tests/benchmarks --benchmark-only -p no:xdist [--benchmark-autosave] [--benchmark-compare]
Each round trains one seed for a short, fixed budget, model building and compilation included (a
user pays those too); extra_info carries the optimiser steps per second of the training itself.
"""

import pytest

from alphabench.framings import FRAMINGS, TRAINING_PATHS, get_framing
from alphabench.pytest_plugin import expect_known_deviation
from alphabench.session import Session

pytestmark = [pytest.mark.slow, pytest.mark.benchmark(group="training")]
# Enough epochs that training dominates the round; batch_state takes one step an epoch.
EPOCHS = {"batch_state": 200, "variable_length": 2}
DEFAULT_EPOCHS = 20


@pytest.fixture
def benchmark_enabled(benchmark):
    if benchmark.disabled:
        pytest.skip("pytest-benchmark is disabled (it is under xdist): "
                    "run `pytest tests/benchmarks --benchmark-only -p no:xdist`")
    return benchmark


@pytest.mark.parametrize("path", TRAINING_PATHS)
@pytest.mark.parametrize("name", list(FRAMINGS))
def test_training_throughput(benchmark_enabled, request, name, path):
    expect_known_deviation(request, Session(), name, "benchmark")
    from alphabench import compat, trainer  # imports Keras: not at collection, so the fast tier stays fast

    if path == "fused" and not compat.FUSED:
        pytest.skip(compat.NOT_FUSED)

    framing = get_framing(name).with_settings(epochs=EPOCHS.get(name, DEFAULT_EPOCHS))
    results = benchmark_enabled.pedantic(trainer.train, args=(framing, (1,), path), rounds=3, iterations=1)
    benchmark_enabled.extra_info["steps_per_second"] = results[0].steps_per_second
    assert len(results[0].loss_history) == framing.epochs
