"""What a run's throughput figure and the load beside it are taken from (alphabench.calibration)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import types

import pytest

from alphabench import calibration
from alphabench.calibration import Interval, IntervalClock, typical_interval


def epochs(count: int, seconds: float, other_cores: float) -> list[Interval]:
    return [Interval(seconds, other_cores * seconds)] * count


def test_the_typical_epoch_is_the_median_with_the_load_of_the_epochs_beside_it():
    # A load that starts part-way (pip, then two workers): 40 quiet epochs, then 60 at half speed
    # beside 1.5 cores of other work. The whole run averaged 1.5 * 60 * 2 / (40 + 120) = 1.1 cores,
    # which would leave a core free on two; the median epoch's neighbours had 1.5.
    typical = typical_interval(epochs(40, 0.01, 0.0) + epochs(60, 0.02, 1.5))
    assert typical.seconds == 0.02
    assert typical.other_cores == 1.5


def test_the_load_is_taken_over_at_least_three_epochs():
    typical = typical_interval([Interval(1.0, 0.0), Interval(2.0, 2.0), Interval(3.0, 0.0), Interval(9.0, 9.0)])
    assert typical.seconds == 2.5
    assert typical.other_cores == pytest.approx((0.0 + 2.0 + 0.0) / 6.0, abs=0.01)
    assert typical_interval([Interval(1.0, 1.0)]) == Interval(1.0, 1.0)


def test_unknown_load_stays_unknown_and_negative_noise_reads_as_none_busy():
    assert typical_interval([Interval(1.0, None), Interval(1.0, 0.5)]).other_cores is None
    # /proc/stat counts clock ticks while process time is exact: a short quiet epoch can read below 0
    assert typical_interval([Interval(0.01, -0.004)] * 3).other_cores == 0.0
    with pytest.raises(ValueError):
        typical_interval([])


def test_the_clock_counts_the_machine_s_busy_time_less_its_own(monkeypatch):
    machine = {"busy": 100.0, "own": 10.0, "wall": 0.0}
    monkeypatch.setattr(calibration, "_machine_busy_seconds", lambda: machine["busy"])
    monkeypatch.setattr(calibration, "time", types.SimpleNamespace(process_time=lambda: machine["own"],
                                                                   perf_counter=lambda: machine["wall"]))
    clock = IntervalClock()
    clock.start()
    machine.update(busy=103.5, own=11.0, wall=2.0)  # 3.5 CPU seconds in 2 s, 1 of them this process's
    clock.stop(epochs=2)  # two epochs in one interval: each gets half
    assert clock.intervals == [Interval(1.0, 1.25)]
    assert clock.intervals[0].other_cores == 1.25


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="the load is read from Linux's /proc/stat")
def test_the_clock_sees_another_process():
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)  # the interpreter's start-up
        clock = IntervalClock()
        clock.start()
        time.sleep(1.0)
        clock.stop()
    finally:
        busy.kill()
    # A lower bound only: other jobs on the machine can only add to it.
    assert clock.intervals[0].other_cores >= 0.6
