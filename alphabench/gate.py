"""Regression rules: the current results of a framing against its baseline entry.

Each rule returns findings; a finding is a "regression" (the gate fails), a "change" (reported, not
failing) or a "note" (information). The rules, in order:

1. A baseline to compare with. None for this environment or entry is a regression that names the
   command creating it: a check with nothing to compare against has checked nothing.
2. Comparability. Results compare only with an entry of the same training path and settings;
   otherwise a note says what differs, and nothing else is checked.
3. Same bits: where the fingerprints match in everything that decides the bits (software versions,
   CPU signature and ISA features, threads; results.Fingerprint.same_bits), training is
   deterministic and every shared seed must reproduce its accuracy, final loss, epochs to 100% and
   probe outcomes exactly.
4. Anywhere else (an upgrade, another machine, no shared seeds) the seeds are a new sample, and
   only a shift of the distribution fails: per metric (accuracy, final loss, epochs to 100%, each
   probe's baseline majority) a one-sided rank permutation test (alphabench.stats) at the
   framing's share of the run's false-alarm budget (FALSE_ALARM_BUDGET over every framing and
   metric; Tarone's rule among a framing's metrics). A shift the seeds are too few to judge at that
   level is a change that says how many seeds would judge it.
5. Throughput: steps per second times the machine's calibration time (alphabench.calibration).
   Judged only against a baseline of the same machine signature (results.Fingerprint.MACHINE), by
   SAME_MACHINE_THROUGHPUT_TOLERANCE; against another machine only a fall by more than
   OTHER_MACHINE_THROUGHPUT_FACTOR fails, anything less is a change: a stored figure cannot tell
   a slower release from a slower machine (`alphabench ab` measures two environments A/B on one).
   Nor, on the same machine, from a crowded one: a fall while other processes kept more cores
   busy than the run left free (SeedResult.other_load) is a change.
   On the reference and fused paths a fall is a change (UNTIMED_PATHS; README, "The gate").
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from alphabench.advice import Advice
from alphabench.framings import FRAMINGS
from alphabench.results import (
    UPDATE_COMMAND,
    Baseline,
    BaselineEntry,
    Fingerprint,
    SeedResult,
    describe_seeds,
    entry_framing,
    format_accuracy,
    format_epochs,
    normalised_throughput,
    run_identity,
)
from alphabench.stats import Comparison, seeds_needed, tarone_level

# An unchanged upgrade fails at most this share of runs, over all framings and metrics together.
FALSE_ALARM_BUDGET = 0.01
BUDGET_PER_FRAMING = FALSE_ALARM_BUDGET / len(FRAMINGS)
# Measured noise of the fast path's normalised throughput on one machine signature (README).
SAME_MACHINE_THROUGHPUT_TOLERANCE = 0.40
# Against another machine only an order of magnitude is beyond what the machine alone explains.
OTHER_MACHINE_THROUGHPUT_FACTOR = 10.0
KINDS = ("regression", "change", "note")
# Paths whose throughput is reported, never judged: the fast path carries the throughput gate.
UNTIMED_PATHS = {
    "reference": "its speed depends on the neighbouring worker",
    "fused": "its whole run lasts about a second, too short to time against noise",
}


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


def compare_all(
    baseline_doc: Baseline | None,
    results_by_key: dict[str, list[SeedResult]],
    calibration_seconds: float | None,
    samples_by_key: dict[str, int],
    advice: Advice = Advice(),
) -> list[Finding]:
    """Findings for every entry in `results_by_key` against the environment's baseline file;
    `advice` words the command that creates a missing one as the user would run it."""
    findings = []
    missing = [key for key in results_by_key if baseline_doc is None or key not in baseline_doc.framings]
    for key, results in results_by_key.items():
        if key in missing:
            where = "this environment" if baseline_doc is None else f"{key} in this environment"
            # One command for every framing missing on this path: pasted once, it creates them all.
            command = advice.create([entry_framing(k) for k in missing if _path_of(k) == _path_of(key)], _path_of(key))
            findings.append(
                Finding(
                    key,
                    "baseline",
                    baseline="missing",
                    now=_median_accuracy(results),
                    rule=f"nothing to compare with: no baseline for {where}; create it with `{command}`",
                    kind="regression",
                )
            )
            continue
        findings += compare(
            key, baseline_doc.framings[key], results, calibration_seconds, baseline_doc.environment,
            samples_by_key[key],
        )
    return findings


def _path_of(key: str) -> str:
    return key.partition("@")[2] or "fast"


def compare(
    key: str,
    baseline: BaselineEntry,
    results: list[SeedResult],
    calibration_seconds: float | None,
    baseline_env: Fingerprint,
    samples: int,
) -> list[Finding]:
    """Findings for one entry's per-seed `results` against its baseline entry (rules 2-5)."""
    _, path, settings = run_identity(results)
    mismatch = _settings_mismatch(key, baseline, path, settings)
    if mismatch:
        return [mismatch]
    now_env = results[0].environment
    shared_seeds = [result for result in results if result.seed in baseline.seeds]
    if baseline_env.same_bits(now_env) and shared_seeds:
        findings = _exact_reproduction(key, baseline, shared_seeds)
    else:
        findings = [_why_not_exact(key, baseline_env, now_env)]
        findings += _distribution_shifts(key, baseline, results, samples)
    return findings + _throughput(key, baseline, results, calibration_seconds, baseline_env, now_env)


def _why_not_exact(key: str, baseline_env: Fingerprint, now_env: Fingerprint) -> Finding:
    unknown = [field for field in Fingerprint.COMPARED if getattr(baseline_env, field) is None]
    differences = baseline_env.differences(now_env, [f for f in Fingerprint.COMPARED if f not in unknown])
    if unknown:
        differences.append(f"{', '.join(unknown)} unknown (baseline made by an older alphabench)")
    why = "; ".join(differences) if differences else "no seed in common with the baseline"
    return Finding(key, "environment", "made elsewhere" if differences else "same environment",
                   "cross-environment rules", f"not bit-identical to the baseline's ({why})", "note")


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
    rule = "same bits and seed must reproduce the baseline exactly (numerical change)"
    by_seed = {
        seed: (accuracy, epochs, probes, loss)
        for seed, accuracy, epochs, probes, loss in zip(
            baseline.seeds, baseline.accuracy, baseline.epochs_to_100, baseline.probes, baseline.final_loss
        )
    }
    findings = []
    for result in sorted(shared_seeds, key=lambda r: r.seed):
        seed = result.seed
        accuracy, epochs, probes, loss = by_seed[seed]
        if loss is not None and result.final_loss != loss:
            findings.append(Finding(framing, f"final_loss[seed {seed}]", f"{loss:g}", f"{result.final_loss:g}",
                                    rule, "regression"))
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


def comparisons(baseline: BaselineEntry, results: list[SeedResult]) -> list[Comparison]:
    """The one-sided questions rule 4 asks of a framing's seeds, one per metric it can judge."""
    asked = [Comparison("accuracy", baseline.accuracy, tuple(r.accuracy for r in results), lower_is_worse=True)]
    if None not in baseline.final_loss:  # kept since schema 2
        asked.append(Comparison("final_loss", baseline.final_loss, tuple(r.final_loss for r in results), False))
    if any(epochs is not None for epochs in baseline.epochs_to_100):
        never = math.inf  # a seed that never reached 100% ranks after every one that did
        asked.append(Comparison("epochs_to_100", tuple(never if e is None else e for e in baseline.epochs_to_100),
                                tuple(never if r.epochs_to_100 is None else r.epochs_to_100 for r in results),
                                lower_is_worse=False))
    for probe in sorted({name for outcomes in baseline.probes for name in outcomes}):
        held = majority([outcomes.get(probe) for outcomes in baseline.probes])
        if held is not None:  # an outcome most baseline seeds agreed on: does it still hold as often?
            asked.append(Comparison(f"probes.{probe}", tuple(float(o.get(probe) == held) for o in baseline.probes),
                                    tuple(float(r.probes.get(probe) == held) for r in results), lower_is_worse=True))
    return asked


def _distribution_shifts(framing: str, baseline: BaselineEntry, results: list[SeedResult], samples: int) -> list[Finding]:
    asked = comparisons(baseline, results)
    level, testable = tarone_level([c.smallest_p_value for c in asked], BUDGET_PER_FRAMING)
    budget = (f"level {level:.2g}: this framing's share of the run's {FALSE_ALARM_BUDGET:.0%} false-alarm "
              f"budget, over {sum(testable)} testable metric{'s' * (sum(testable) != 1)}")
    findings = []
    for comparison, can_fire in zip(asked, testable):
        p_value = comparison.p_value
        before, now = _describe(comparison, baseline.seeds, [r.seed for r in results])
        if can_fire and p_value <= level:
            rule = f"seeds worse than the baseline's: one-sided rank permutation test p = {p_value:.2g} <= {budget}"
            findings.append(Finding(framing, comparison.metric, before, now, rule, "regression"))
        elif not can_fire and p_value == comparison.smallest_p_value < 1:
            needed = seeds_needed(len(comparison.before), BUDGET_PER_FRAMING / len(asked))
            rule = (f"every seed worse than the baseline's, but {len(comparison.now)} seeds against "
                    f"{len(comparison.before)} cannot reach the budget's level (p = {p_value:.2g} at best); "
                    f"about {needed} seeds would judge it (--seeds)")
            findings.append(Finding(framing, comparison.metric, before, now, rule, "change"))
    if shift([r.accuracy for r in results], baseline.accuracy, samples) == "above":
        before, now = _describe(asked[0], baseline.seeds, [r.seed for r in results])
        findings.append(Finding(framing, "accuracy", before, now, "every seed above the baseline's best", "note"))
    return findings


def _describe(comparison: Comparison, seeds_before, seeds_now) -> tuple[str, str]:
    """The baseline's and the current seeds' values of one metric, as a finding shows them."""
    if comparison.metric.startswith("probes."):
        return (f"held on {int(sum(comparison.before))} of {len(comparison.before)} seeds",
                f"held on {int(sum(comparison.now))} of {len(comparison.now)} seeds")
    render = {"accuracy": format_accuracy, "final_loss": lambda v: f"{v:.4g}", "epochs_to_100": format_epochs}[
        comparison.metric]
    return (f"{render(statistics.median(comparison.before))} (median of seeds {describe_seeds(seeds_before)})",
            f"{render(statistics.median(comparison.now))} (median of seeds {describe_seeds(seeds_now)})")


def majority(outcomes: Sequence) -> object:
    """The outcome more than half of `outcomes` show, or None where none does."""
    if not outcomes:
        return None
    value, count = Counter(outcomes).most_common(1)[0]
    return value if 2 * count > len(outcomes) else None


def _throughput(
    framing: str, baseline: BaselineEntry, results: list[SeedResult], calibration_seconds: float | None,
    baseline_env: Fingerprint, now_env: Fingerprint,
) -> list[Finding]:
    """Rule 5."""
    steps_per_second = statistics.median(result.steps_per_second for result in results)
    before = baseline.normalised_throughput
    after = normalised_throughput(steps_per_second, calibration_seconds)
    baseline_text = _throughput_text(before, baseline.steps_per_second)
    now_text = _throughput_text(after, steps_per_second)
    if before is None or after is None:
        rule = "not compared: needs a CPU calibration on both sides to compare across machines"
        return [Finding(framing, "throughput", baseline_text, now_text, rule, "note")]
    tolerance = SAME_MACHINE_THROUGHPUT_TOLERANCE
    if after > before * (1 + tolerance):
        rule = f"normalised throughput more than {tolerance:.0%} above the baseline's"
        return [Finding(framing, "throughput", baseline_text, now_text, rule, "note")]
    if after >= before * (1 - tolerance):
        return []
    rule = f"normalised throughput more than {tolerance:.0%} below the baseline's"
    if baseline.path in UNTIMED_PATHS:
        rule += f" ({baseline.path} path: reported, not failed; {UNTIMED_PATHS[baseline.path]})"
        return [Finding(framing, "throughput", baseline_text, now_text, rule, "change")]
    machine = baseline_env.differences(now_env, Fingerprint.MACHINE)
    if not machine:
        crowded = _crowding(results, now_env)
        if crowded:
            rule += (f" on this machine signature, but {crowded}: reported, not failed (a stored figure holds "
                     f"only for a machine as free as the baseline's; `alphabench ab` times two environments in turns)")
            return [Finding(framing, "throughput", baseline_text, now_text, rule, "change")]
        return [Finding(framing, "throughput", baseline_text, now_text, rule + " on this machine signature",
                        "regression")]
    if after * OTHER_MACHINE_THROUGHPUT_FACTOR < before:
        rule = f"normalised throughput over {OTHER_MACHINE_THROUGHPUT_FACTOR:g}x below the baseline's, on another machine"
        return [Finding(framing, "throughput", baseline_text, now_text, rule, "regression")]
    rule += (f", measured on another machine ({'; '.join(machine)}): reported, not failed; "
             f"`alphabench ab` compares two environments on one machine")
    return [Finding(framing, "throughput", baseline_text, now_text, rule, "change")]


def _crowding(results: list[SeedResult], now_env: Fingerprint) -> str | None:
    """What kept this run from a core of its own, if anything: other processes leaving its one compute
    thread less of a core than the tolerance allows for (1 - SAME_MACHINE_THROUGHPUT_TOLERANCE), so that
    the missing share alone explains a fall the rule would fail. `pytest -n auto`'s other workers
    leave it its core."""
    loads = [result.other_load for result in results if result.other_load is not None]
    if not loads or not now_env.cpu_count:
        return None
    load = statistics.median(loads)
    if now_env.cpu_count - load >= 1 - SAME_MACHINE_THROUGHPUT_TOLERANCE:
        return None
    return (f"other processes kept {load:.1f} of the machine's {now_env.cpu_count} cores busy in its median epochs, "
            f"leaving it {now_env.cpu_count - load:.1f} of a core")


def _throughput_text(normalised: float | None, steps_per_second: float) -> str:
    if normalised is None:
        return f"uncalibrated ({steps_per_second:.1f} steps/s)"
    return f"{normalised:.1f} steps per calibration time ({steps_per_second:.1f} steps/s)"


def _median_text(accuracies: Sequence[float], seeds: Sequence[int]) -> str:
    return f"{format_accuracy(statistics.median(accuracies))} (median of seeds {describe_seeds(seeds)})"


def _median_accuracy(results: list[SeedResult]) -> str:
    return _median_text([result.accuracy for result in results], [result.seed for result in results])
