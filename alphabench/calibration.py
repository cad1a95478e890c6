"""How fast this machine runs framework-like work, so throughput compares across machines.

Training a tiny LSTM is dominated by per-step overhead: many small tensor operations dispatched from
Python. The calibration workload is the same kind of work in plain NumPy (a fixed sequence of small
matrix products and elementwise operations on fixed data), and its duration is the machine's unit of
time: throughput in steps per second times calibration seconds is steps per calibration, a figure that
a faster or slower machine should leave roughly unchanged.
"""

from __future__ import annotations

import functools
import os
import statistics
import time
from dataclasses import dataclass

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


@dataclass(frozen=True)
class Interval:
    """A timed stretch of training (an epoch): its wall seconds, and the CPU seconds other processes
    spent meanwhile, every core together (None where the system does not say)."""

    seconds: float
    other_cpu_seconds: float | None

    @property
    def other_cores(self) -> float | None:
        """How many cores other processes kept busy, on average, during the interval."""
        if self.other_cpu_seconds is None or self.seconds <= 0:
            return None
        return round(max(0.0, self.other_cpu_seconds / self.seconds), 2)  # ticks are coarse: noise reads below 0


class IntervalClock:
    """Times intervals, and what other processes took of the machine during each: its CPU time (Linux's
    /proc/stat, the hypervisor's steal included) less this process's. A stored throughput compares
    only when the machine was as free for the run as for its baseline; this says whether it was, for
    the very epochs the throughput comes from (typical_interval)."""

    def __init__(self):
        self.intervals: list[Interval] = []

    def start(self) -> None:
        self._start = (_machine_busy_seconds(), time.process_time(), time.perf_counter())

    def stop(self, epochs: float = 1) -> None:
        """End the interval begun by start(), recorded as one of `epochs` equal epochs (a share of one,
        where it trained some of the models that train together)."""
        busy, own, wall = _machine_busy_seconds(), time.process_time(), time.perf_counter()
        others = None if busy is None or self._start[0] is None else (busy - self._start[0]) - (own - self._start[1])
        self.intervals.append(Interval((wall - self._start[2]) / epochs, None if others is None else others / epochs))


def typical_interval(intervals: list[Interval]) -> Interval:
    """The median interval's seconds, and the other processes' CPU time over the intervals nearest the
    median (the middle tenth by duration, at least three), rescaled to the median's length.

    A neighbour's burst of load slows some epochs and a real slowdown every one, so throughput is the
    median epoch's; the load that explains it is the load of epochs like that one, not the whole
    run's average (a load that starts half-way slows the median epoch more than it raises the
    average). Several intervals, not one: /proc/stat counts in clock ticks, coarse beside a short epoch.
    """
    if not intervals:
        raise ValueError("no intervals were timed")
    ordered = sorted(intervals, key=lambda interval: interval.seconds)
    median = statistics.median(interval.seconds for interval in ordered)
    width = min(len(ordered), max(3, len(ordered) // 10))
    first = (len(ordered) - width) // 2
    nearest = ordered[first : first + width]
    if any(interval.other_cpu_seconds is None for interval in nearest):
        return Interval(median, None)
    rate = sum(interval.other_cpu_seconds for interval in nearest) / sum(interval.seconds for interval in nearest)
    return Interval(median, rate * median)


def _machine_busy_seconds() -> float | None:
    """CPU seconds every core has spent not idle since boot, or None off Linux."""
    try:
        # pread on a kept descriptor: a few microseconds, cheap enough to read at every epoch's ends
        fields = os.pread(_proc_stat(), 256, 0).split(b"\n", 1)[0].split()
    except OSError:
        return None
    if not fields or fields[0] != b"cpu":
        return None
    # user nice system idle iowait irq softirq steal (guest time is inside user already)
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(f) for f in (fields[1:9] + [b"0"] * 8)[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


@functools.cache
def _proc_stat() -> int:
    return os.open("/proc/stat", os.O_RDONLY)
