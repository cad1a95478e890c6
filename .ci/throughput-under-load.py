"""README, "False alarms under load": the stored-throughput rule under load, judged three ways on the same runs.

A baseline of one_char (fast path, seeds 1-3) is trained on the quiet machine, then reruns with 0, 1
or 3 busy-looping processes beside them (1: what `pytest -n auto`'s other worker takes on 2 cores),
the 3 also started part-way through a run (as `.ci/run`'s pip and then its workers start beside a
run already training), and with the self-test's slower steps on the quiet machine. Each rerun is
judged with no load known (the rule before any guard), with the whole run's average load (the
guard's first form) and with the load of the epochs its throughput comes from (the guard now).
About 30 minutes on a 2-core machine (the crowded reruns train at half speed); name cases to run
only those:
    python .ci/throughput-under-load.py ["3 busy processes from part-way" ...]
"""
import contextlib, dataclasses, subprocess, sys, threading
from alphabench import gate, trainer
from alphabench.calibration import IntervalClock, calibration_seconds
from alphabench.data import sample_count
from alphabench.framings import get_framing
from alphabench.results import Baseline, BaselineEntry
from alphabench.selftest import _training_step_slower

framing = get_framing("one_char")
calibration = calibration_seconds()
made = trainer.train(framing, framing.seeds)
baseline = Baseline(made[0].environment, calibration, {"one_char": BaselineEntry.from_results(made, calibration)})
print(f"baseline: {made[0].steps_per_second} steps/s, other_load {made[0].other_load}", flush=True)

def verdict(results, other_load):
    results = [dataclasses.replace(r, other_load=other_load) for r in results]
    findings = gate.compare_all(baseline, {"one_char": results}, calibration, {"one_char": sample_count(framing)})
    return next((f.kind for f in findings if f.metric == "throughput" and f.kind != "note"), "ok")

def rerun(label, hogs, patch=None, hogs_after=0.0):
    loops = []
    def start_hogs():
        loops.extend(subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(hogs))
    timer = threading.Timer(hogs_after, start_hogs)
    timer.start()
    whole_run = IntervalClock()
    try:
        with patch() if patch else contextlib.nullcontext():
            whole_run.start()
            results = trainer.train(framing, framing.seeds)
            whole_run.stop()
    finally:
        timer.cancel()
        for loop in loops:
            loop.kill()
    average = whole_run.intervals[0].other_cores
    epochs = results[0].other_load
    print(f"| {label} | {results[0].steps_per_second:.0f} | {average} | {epochs} | {verdict(results, None)} | "
          f"{verdict(results, average)} | {verdict(results, epochs)} |", flush=True)

CASES = [("quiet", 0, None, 3, 0.0), ("1 busy process (as pytest -n 2)", 1, None, 5, 0.0),
         ("3 busy processes", 3, None, 10, 0.0),
         # one_char trains for about 25 s on the quiet machine: the load comes for the last two thirds
         ("3 busy processes from part-way", 3, None, 5, 8.0),
         ("quiet, training step 2x slower", 0, lambda: _training_step_slower(2.0), 3, 0.0),
         ("quiet, training step 1.5x slower", 0, lambda: _training_step_slower(1.5), 2, 0.0),
         ("1 busy process, training step 2x slower", 1, lambda: _training_step_slower(2.0), 2, 0.0)]
print("| condition | steps/s | whole run's other load (cores) | its epochs' other load | no guard | "
      "guard by the whole run | guard by the epochs |\n|---|---|---|---|---|---|---|")
for label, hogs, patch, times, hogs_after in CASES:
    if len(sys.argv) > 1 and label not in sys.argv[1:]:
        continue
    for _ in range(times):
        rerun(label, hogs, patch, hogs_after)
