"""Regression rules: the current results of a framing against its baseline.

Each rule is a small function that returns findings; a finding is a "regression" (the gate fails),
a "change" (reported, not failing) or a "note" (information). The rules, in order:

1. Comparability. Results compare only with a baseline of the same training path and settings;
   otherwise a single note says what differs, and nothing else is checked.
2. Same environment, same seeds: training is deterministic, so every shared seed must reproduce its
   accuracy, epochs to 100% and probe outcomes exactly. Any difference is a regression (a numerical
   change).
3. Different environment (an upgrade), or no shared seeds: the results are a new sample from the
   seed distribution, and only a shift of that distribution fails.
   - Accuracy: a regression if EVERY current seed is below the baseline's worst seed by at least one
     sample (1/samples). If nothing changed, all seeds are exchangeable and the chance of that is
     1 / C(n + m, m) for n baseline and m current seeds (1/252 for 5 and 5): the false-alarm rate,
     printed with the finding; above MAX_FALSE_ALARM_RATE (too few seeds) it is a change, not a
     failure. Every seed above the baseline's best is a note (an improvement).
   - Epochs to 100%: a change (not failing) if the median moved by more than 50%.
   - Probes: a regression if the outcome most baseline seeds showed is no longer shown by most seeds.
4. Throughput, any environment: steps per second times the machine's calibration time (see
   alphabench.calibration) must not fall more than THROUGHPUT_TOLERANCE below the baseline's; a rise
   beyond it is a note. Without a calibration on both sides throughput is not compared (a note).
   On the reference path a fall is a change, not a regression: its speed depends on what the next
   xdist worker trains, unlike the one-thread fast path's (on TensorFlow Keras's stock fit feeds its
   batches through tf.data's background threads; stateful@reference: 237-282 steps/s alone, 113
   beside variable_length under `pytest -n auto`); the fast path's throughput carries the gate.
   Measured on another CPU model than the baseline's, a fall is a change too: the calibration
   workload does not carry across models (one_char's fast path, same code, AMD EPYC 188.6 and
   Intel Xeon about 312 steps per calibration time, +65%), so it cannot tell a regression from the
   machine; make a baseline on the CI's machine type for the throughput gate to hold there.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from alphabench.results import (
    UPDATE_COMMAND,
    Baseline,
    BaselineEntry,
    Fingerprint,
    SeedResult,
    describe_seeds,
    format_accuracy,
    format_epochs,
    median_epochs_to_100,
    normalised_throughput,
    run_identity,
)

# On this project's shared 2-core VM one of 10 unchanged runs once trained at half speed for a whole
# run (hence median-epoch throughput, see trainer.train); the tolerance still leaves room for
# steadier noise while a 2x slowdown (alphabench selftest) fails.
THROUGHPUT_TOLERANCE = 0.40
# The accuracy rule fails the gate only when, with these seed counts, it would fire by chance at most
# this often (9 baseline and 3 current seeds: 1/220); with fewer seeds it is reported as a change.
MAX_FALSE_ALARM_RATE = 0.01
# Epochs to 100% is noisy across seeds, so only a large move of its median is worth reporting.
EPOCHS_TO_100_TOLERANCE = 0.50
KINDS = ("regression", "change", "note")


@dataclass(frozen=True)
class Finding:
    framing: str
    metric: str
    baseline: str
    now: str
    rule: str
    kind: str  # one of KINDS

    def __post_init__(self):
        if self.kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {self.kind!r}")

    def line(self) -> str:
        return (
            f"{self.kind.upper()} {self.framing} {self.metric}: "
            f"baseline {self.baseline}, now {self.now}; rule: {self.rule}"
        )


def false_alarm_rate(n_baseline: int, n_current: int) -> float:
    """The chance that all current seeds fall below all baseline seeds when nothing changed."""
    return 1 / math.comb(n_baseline + n_current, n_current)


def same_environment(baseline_env: Fingerprint, now_env: Fingerprint) -> bool:
    """Whether the two fingerprints promise bit-identical results for the same seed."""
    return not baseline_env.differences(now_env)


def compare_all(
    baseline_doc: Baseline | None,
    results_by_framing: dict[str, list[SeedResult]],
    calibration_seconds: float | None,
    samples_by_framing: dict[str, int],
) -> list[Finding]:
    """Findings for every framing in `results_by_framing` against the environment's baseline file."""
    findings = []
    for name, results in results_by_framing.items():
        if baseline_doc is None or name not in baseline_doc.framings:
            where = "this environment" if baseline_doc is None else "this framing in this environment"
            findings.append(
                Finding(
                    name,
                    "baseline",
                    baseline="missing",
                    now=_median_accuracy(results),
                    rule=f"no baseline for {where}; create it with `{UPDATE_COMMAND}`",
                    kind="regression",  # nothing to compare with is a failure, not a pass (pytest-regressions)
                )
            )
            continue
        findings += compare(
            name,
            baseline_doc.framings[name],
            results,
            calibration_seconds,
            baseline_doc.environment,
            samples_by_framing[name],
        )
    return findings


def compare(
    framing_name: str,
    baseline: BaselineEntry,
    results: list[SeedResult],
    calibration_seconds: float | None,
    baseline_env: Fingerprint,
    samples: int,
) -> list[Finding]:
    """Findings for one framing's per-seed `results` against its baseline entry (rules 1-4)."""
    _, path, settings = run_identity(results)
    mismatch = _settings_mismatch(framing_name, baseline, path, settings)
    if mismatch:
        return [mismatch]
    now_env = results[0].environment
    shared_seeds = [result for result in results if result.seed in baseline.seeds]
    if same_environment(baseline_env, now_env) and shared_seeds:
        findings = _exact_reproduction(framing_name, baseline, shared_seeds)
    else:
        findings = _accuracy_distribution(framing_name, baseline, results, samples)
        findings += _epochs_to_100_shift(framing_name, baseline, results)
        findings += _probe_majorities(framing_name, baseline, results)
    other_cpu = baseline_env.cpu if baseline_env.cpu != now_env.cpu else None
    return findings + _throughput(framing_name, baseline, results, calibration_seconds, other_cpu)


def _settings_mismatch(framing: str, baseline: BaselineEntry, path: str, settings) -> Finding | None:
    before = {"path": baseline.path, **baseline.settings.as_dict()}
    after = {"path": path, **settings.as_dict()}
    differing = sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))
    if not differing:
        return None
    return Finding(
        framing,
        "settings",
        baseline=", ".join(f"{key} {before.get(key)}" for key in differing),
        now=", ".join(f"{key} {after.get(key)}" for key in differing),
        rule=f"no valid comparison across training settings; `{UPDATE_COMMAND}` makes a baseline for these",
        kind="note",
    )


def _exact_reproduction(framing: str, baseline: BaselineEntry, shared_seeds: list[SeedResult]) -> list[Finding]:
    rule = "same environment and seed must reproduce the baseline exactly (numerical change)"
    by_seed = {
        seed: (accuracy, epochs, probes)
        for seed, accuracy, epochs, probes in zip(
            baseline.seeds, baseline.accuracy, baseline.epochs_to_100, baseline.probes
        )
    }
    findings = []
    for result in sorted(shared_seeds, key=lambda r: r.seed):
        seed = result.seed
        accuracy, epochs, probes = by_seed[seed]
        if result.accuracy != accuracy:
            findings.append(
                Finding(
                    framing,
                    f"accuracy[seed {seed}]",
                    format_accuracy(accuracy),
                    format_accuracy(result.accuracy),
                    rule,
                    "regression",
                )
            )
        if result.epochs_to_100 != epochs:
            findings.append(
                Finding(
                    framing,
                    f"epochs_to_100[seed {seed}]",
                    format_epochs(epochs),
                    format_epochs(result.epochs_to_100),
                    rule,
                    "regression",
                )
            )
        for probe in sorted(probes.keys() | result.probes.keys()):
            if probes.get(probe) != result.probes.get(probe):
                findings.append(
                    Finding(
                        framing,
                        f"probes.{probe}[seed {seed}]",
                        repr(probes.get(probe)),
                        repr(result.probes.get(probe)),
                        rule,
                        "regression",
                    )
                )
    return findings


def shift(now: Sequence[float], before: Sequence[float], samples: int) -> str | None:
    """"below" if every `now` accuracy is under every `before` one by at least one sample, "above"
    if over by as much, else None: a shifted distribution, not seed-to-seed spread."""
    one_sample = 1 / samples
    slack = 1e-6  # accuracies are multiples of 1/samples rounded to 6 digits
    if max(now) <= min(before) - one_sample + slack:
        return "below"
    if min(now) >= max(before) + one_sample - slack:
        return "above"
    return None


def _accuracy_distribution(framing: str, baseline: BaselineEntry, results: list[SeedResult], samples: int) -> list[Finding]:
    now = [result.accuracy for result in results]
    rate = false_alarm_rate(len(baseline.accuracy), len(now))
    baseline_text = _median_text(baseline.accuracy, baseline.seeds)
    now_text = _median_accuracy(results)
    moved = shift(now, baseline.accuracy, samples)
    if moved == "below":
        rule = f"every seed below the baseline's worst by >= 1 sample (false-alarm rate {rate:.2%})"
        if rate > MAX_FALSE_ALARM_RATE:  # too few seeds for this to mean much: say it, don't fail
            rule += f"; too few seeds to fail on (needs a rate <= {MAX_FALSE_ALARM_RATE:.0%})"
            return [Finding(framing, "accuracy", baseline_text, now_text, rule, "change")]
        return [Finding(framing, "accuracy", baseline_text, now_text, rule, "regression")]
    if moved == "above":
        rule = f"every seed above the baseline's best by >= 1 sample (false-alarm rate {rate:.2%})"
        return [Finding(framing, "accuracy", baseline_text, now_text, rule, "note")]
    return []


def _epochs_to_100_shift(framing: str, baseline: BaselineEntry, results: list[SeedResult]) -> list[Finding]:
    before = median_epochs_to_100(baseline.epochs_to_100)
    after = median_epochs_to_100([result.epochs_to_100 for result in results])
    if before == after or (math.isfinite(before) and abs(after - before) <= EPOCHS_TO_100_TOLERANCE * before):
        return []
    seeds_now = [result.seed for result in results]
    return [
        Finding(
            framing,
            "epochs_to_100",
            f"{format_epochs(before)} (median of seeds {describe_seeds(baseline.seeds)})",
            f"{format_epochs(after)} (median of seeds {describe_seeds(seeds_now)})",
            f"median moved by more than {EPOCHS_TO_100_TOLERANCE:.0%} (reported, not failing)",
            "change",
        )
    ]


def majority(outcomes: Sequence) -> object:
    """The outcome more than half of `outcomes` show, or None where none does."""
    if not outcomes:
        return None
    value, count = Counter(outcomes).most_common(1)[0]
    return value if 2 * count > len(outcomes) else None


def _probe_majorities(framing: str, baseline: BaselineEntry, results: list[SeedResult]) -> list[Finding]:
    findings = []
    for probe in sorted({name for outcomes in baseline.probes for name in outcomes}):
        before = [outcomes.get(probe) for outcomes in baseline.probes]
        held = majority(before)
        if held is None:
            continue  # no outcome most baseline seeds agreed on: nothing stable to hold to
        now = [result.probes.get(probe) for result in results]
        if majority(now) == held:
            continue
        most_common_now = Counter(now).most_common(1)[0][0]
        findings.append(
            Finding(
                framing,
                f"probes.{probe}",
                f"{held!r} on {before.count(held)} of {len(before)} seeds",
                f"{held!r} on {now.count(held)} of {len(now)} seeds (most common now: {most_common_now!r})",
                "the outcome of most baseline seeds must stay the outcome of most seeds",
                "regression",
            )
        )
    return findings


def _throughput(
    framing: str, baseline: BaselineEntry, results: list[SeedResult], calibration_seconds: float | None,
    other_cpu: str | None,
) -> list[Finding]:
    """Rule 4; `other_cpu`: the baseline's CPU model where it is not this machine's."""
    steps_per_second = statistics.median(result.steps_per_second for result in results)
    before = baseline.normalised_throughput
    after = normalised_throughput(steps_per_second, calibration_seconds)
    baseline_text = _throughput_text(before, baseline.steps_per_second)
    now_text = _throughput_text(after, steps_per_second)
    if before is None or after is None:
        rule = "not compared: needs a CPU calibration on both sides to compare across machines"
        return [Finding(framing, "throughput", baseline_text, now_text, rule, "note")]
    if after < before * (1 - THROUGHPUT_TOLERANCE):
        rule = f"normalised throughput more than {THROUGHPUT_TOLERANCE:.0%} below the baseline's"
        if baseline.path == "reference":
            rule += " (reference path: reported, not failed; its speed depends on the neighbouring worker)"
            return [Finding(framing, "throughput", baseline_text, now_text, rule, "change")]
        if other_cpu:
            rule += (f" (baseline measured on another CPU, {other_cpu}: reported, not failed; "
                     f"`{UPDATE_COMMAND}` on this machine type makes it gate)")
            return [Finding(framing, "throughput", baseline_text, now_text, rule, "change")]
        return [Finding(framing, "throughput", baseline_text, now_text, rule, "regression")]
    if after > before * (1 + THROUGHPUT_TOLERANCE):
        rule = f"normalised throughput more than {THROUGHPUT_TOLERANCE:.0%} above the baseline's"
        return [Finding(framing, "throughput", baseline_text, now_text, rule, "note")]
    return []


def _throughput_text(normalised: float | None, steps_per_second: float) -> str:
    if normalised is None:
        return f"uncalibrated ({steps_per_second:.1f} steps/s)"
    return f"{normalised:.1f} steps per calibration time ({steps_per_second:.1f} steps/s)"


def _median_text(accuracies: Sequence[float], seeds: Sequence[int]) -> str:
    return f"{format_accuracy(statistics.median(accuracies))} (median of seeds {describe_seeds(seeds)})"


def _median_accuracy(results: list[SeedResult]) -> str:
    return _median_text([result.accuracy for result in results], [result.seed for result in results])
