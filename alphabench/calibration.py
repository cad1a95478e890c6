"""How fast this machine runs framework-like work, so throughput compares across machines.

Training a tiny LSTM is dominated by per-step overhead: many small tensor operations dispatched from
Python. The calibration workload is the same kind of work in plain NumPy (a fixed sequence of small
matrix products and elementwise operations on fixed data), and its duration is the machine's unit of
time: throughput in steps per second times calibration seconds is steps per calibration, a figure that
a faster or slower machine should leave roughly unchanged.
"""

from __future__ import annotations

import time

import numpy as np

ITERATIONS = 20_000


def calibration_seconds(repeats: int = 5) -> float:
    """The fastest of `repeats` timings of the calibration workload, in seconds.

    The minimum, not the mean: on a shared machine other jobs only ever add time, so the fastest run
    is the closest to the machine's own speed.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, got {repeats}")
    return min(_time_workload() for _ in range(repeats))


def _time_workload() -> float:
    rng = np.random.default_rng(0)
    state = rng.standard_normal((1, 32))
    weights = rng.standard_normal((32, 128)) * 0.1
    bias = rng.standard_normal(128) * 0.1
    start = time.perf_counter()
    for _ in range(ITERATIONS):
        # One LSTM-like step: a product, the gate non-linearities, a state update.
        gates = np.tanh(state @ weights + bias)
        state = 0.5 * state + 0.5 * gates[:, :32] * gates[:, 32:64]
    return time.perf_counter() - start
