"""How fast this machine runs framework-like work, so throughput compares across machines.

Training a tiny LSTM is dominated by per-step overhead: many small tensor operations dispatched from
Python. The calibration workload is the same kind of work in plain NumPy (a fixed sequence of small
matrix products and elementwise operations on fixed data), and its duration is the machine's unit of
time: throughput in steps per second times calibration seconds is steps per calibration, a figure that
a faster or slower machine should leave roughly unchanged.
"""

from __future__ import annotations

import os
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


class OtherLoad:
    """While a block runs, how many CPU cores other processes kept busy, on average: the machine's CPU
    time (Linux's /proc/stat, the hypervisor's steal included) less this process's. `cores` is None
    where the system does not say. A stored throughput is comparable only when the machine was as
    free for the run as for its baseline; this says whether it was."""

    cores: float | None = None

    def __enter__(self) -> OtherLoad:
        self._start = (_machine_busy_seconds(), time.process_time(), time.perf_counter())
        return self

    def __exit__(self, *exc_info) -> None:
        busy, own, wall = _machine_busy_seconds(), time.process_time(), time.perf_counter()
        if busy is not None and self._start[0] is not None and wall > self._start[2]:
            others = (busy - self._start[0]) - (own - self._start[1])
            self.cores = round(max(0.0, others / (wall - self._start[2])), 2)


def _machine_busy_seconds() -> float | None:
    """CPU seconds every core has spent not idle since boot, or None off Linux."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    # user nice system idle iowait irq softirq steal (guest time is inside user already)
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in (fields[1:9] + ["0"] * 8)[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")
