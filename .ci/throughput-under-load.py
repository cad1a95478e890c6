"""README, "False alarms under load": the stored-throughput rule under load, before and after the crowding guard, on the same runs.

A baseline of one_char (fast path, seeds 1-3) is trained on the quiet machine, then reruns with 0, 1
or 3 busy-looping processes beside them (1: what `pytest -n auto`'s other worker takes on 2 cores),
and with the self-test's 2x slower step on the quiet machine. Each rerun is judged twice: with its
measured other_load (the guard) and with it removed (the rule before the guard).
About 25 minutes on a 2-core machine (the crowded reruns train at half speed):
    python .ci/throughput-under-load.py
"""
import contextlib, dataclasses, subprocess, sys
from alphabench import gate, trainer
from alphabench.calibration import calibration_seconds
from alphabench.data import sample_count
from alphabench.framings import get_framing
from alphabench.results import Baseline, BaselineEntry
from alphabench.selftest import _training_step_slower

framing = get_framing("one_char")
calibration = calibration_seconds()
made = trainer.train(framing, framing.seeds)
baseline = Baseline(made[0].environment, calibration, {"one_char": BaselineEntry.from_results(made, calibration)})
print(f"baseline: {made[0].steps_per_second} steps/s, other_load {made[0].other_load}", flush=True)

def verdict(results):
    findings = gate.compare_all(baseline, {"one_char": results}, calibration, {"one_char": sample_count(framing)})
    return next((f.kind for f in findings if f.metric == "throughput" and f.kind != "note"), "ok")

def rerun(label, hogs, patch=None):
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(hogs)]
    try:
        with patch() if patch else contextlib.nullcontext():
            results = trainer.train(framing, framing.seeds)
    finally:
        for loop in loops:
            loop.kill()
    before = verdict([dataclasses.replace(r, other_load=None) for r in results])
    print(f"| {label} | {results[0].steps_per_second:.0f} | {results[0].other_load} | {before} | {verdict(results)} |", flush=True)

print("| condition | steps/s | other_load (cores) | before the guard | with the guard |\n|---|---|---|---|---|")
for label, hogs, patch, times in [("quiet", 0, None, 3), ("1 busy process (as pytest -n 2)", 1, None, 5),
                                  ("3 busy processes", 3, None, 10),
                                  ("quiet, training step 2x slower", 0, lambda: _training_step_slower(2.0), 3),
                                  ("quiet, training step 1.5x slower", 0, lambda: _training_step_slower(1.5), 2),
                                  ("1 busy process, training step 2x slower", 1, lambda: _training_step_slower(2.0), 2)]:
    for _ in range(times):
        rerun(label, hogs, patch)
