"""Every environment's baseline side by side, with the differences between environments flagged.

`alphabench baseline compare` renders this as Markdown. Each baseline was made in its environment
by `alphabench baseline update`; an entry of one environment is flagged when it differs from the
other environments' results for that entry:

- accuracy: every one of its seeds is below (or above) every seed of the other environments by at
  least one sample (1/samples), the gate's rule for a shifted distribution: seed-to-seed spread is
  not a difference (variable_length's seeds spread over 28 samples on one environment);
- probes: the outcome most of its seeds show differs from the one most environments show;
- throughput: its normalised throughput is outside [1/THROUGHPUT_FACTOR, THROUGHPUT_FACTOR] times
  the median of the environments measured on the same machine (backends differ a lot in per-step
  cost: only large gaps are flagged; a figure from another machine says nothing about the backend);
- missing: other environments have the entry and it has not (e.g. a framing that cannot train there).

A flag whose framing has a recorded known deviation in that environment (deviations.KNOWN_DEVIATIONS),
or a throughput flag of a backend whose speed is explained below, says why: a flag without an
explanation is a difference nobody has explained yet.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from alphabench import baseline, verdict
from alphabench.advice import update_command
from alphabench.data import sample_count
from alphabench.errors import UsageError
from alphabench.framings import FUSED_ENVIRONMENTS, get_framing
from alphabench.gate import majority, shift
from alphabench.results import Baseline, BaselineEntry, Fingerprint, format_accuracy, format_epochs, median_epochs_to_100

THROUGHPUT_FACTOR = 2.0
# Why an environment's per-step cost stands apart from the others', as measured (README, "Keras
# versions and backends"); a throughput flag carries it as its explanation. Keyed like the baseline's
# entries: "<environment>" for both paths, "<environment>@reference" for the reference path alone.
THROUGHPUT_EXPLAINED = {
    "keras3-jax": "Keras jit-compiles JAX's train step with XLA and loops over it in Python; a step of "
    "this tiny LSTM costs a fraction of TensorFlow's graph executor's (profiled in the README, "
    "\"Measured: fast vs reference\")",
    "keras3-torch": "Keras's PyTorch trainer runs the step eagerly, one step per call (it refuses "
    "steps_per_execution > 1): every op of the LSTM's loop over time steps is dispatched from Python",
    "keras2-tensorflow@reference": "tf-keras's fit builds its data iterator once per fit call, where "
    "Keras 3's fit on TensorFlow and torch sets one up anew every epoch (see the keras3-tensorflow@reference "
    "note): the tutorial's own fit call is the fast one here",
    "keras3-tensorflow@reference": "Keras 3's fit on TensorFlow sets up a tf.data iterator anew every "
    "epoch: a profile of timestep_window's plain fit shows make_iterator called twice an epoch and fit's "
    "own frame spending per epoch what tf-keras's spends in all (most likely that iterator's teardown), "
    "a per-epoch cost that at 23 batch-1 steps an epoch weighs on every step (README, \"The "
    "cross-environment report\"). The fast path's one fit call pays it once",
}


@dataclass(frozen=True)
class Flag:
    environment: str
    entry: str
    what: str
    explained: str | None  # the known deviation recorded for it, if any

    def line(self, explanation_mark: str = "") -> str:
        """One line; `explanation_mark` stands in for the explanation (a footnote), if there is one."""
        suffix = f" ({explanation_mark or 'explained: ' + self.explained})" if self.explained else " (not explained yet)"
        return f"{self.environment} {self.entry}: {self.what}{suffix}"


def load(files: Sequence[str], directory: str) -> dict[str, Baseline]:
    """The baselines to set side by side, by environment: `files`, or else every *.json in `directory`."""
    files = list(files) or sorted(str(path) for path in Path(directory).glob("*.json"))
    if len(files) < 2:
        raise UsageError(f"need two or more baseline files to compare, found {len(files)} in {directory}; "
                         f"name them, or make one per environment with `{update_command(directory)}`")
    documents = {}
    for file in files:
        document = baseline.load(file)
        documents[document.environment.environment] = document
    return documents


def _probe_majorities(probe_outcomes) -> dict[str, object]:
    """The outcome most seeds show, per probe (None where none has a majority)."""
    names = sorted({name for outcomes in probe_outcomes for name in outcomes})
    return {name: majority([outcomes.get(name) for outcomes in probe_outcomes]) for name in names}


def flags(documents: dict[str, Baseline]) -> list[Flag]:
    """Every difference between environments, by the rules above; `documents` by environment name."""
    entries = sorted({entry for document in documents.values() for entry in document.framings})
    return [flag for entry in entries for flag in _entry_flags(entry, documents)]


def _entry_flags(entry: str, documents: dict[str, Baseline]) -> list[Flag]:
    name, _, path = entry.partition("@")
    path = path or "fast"
    # The tests check a reference-path entry under its own name (test_learning's "reference").
    accuracy_check = "reference" if path == "reference" else "accuracy"
    present = {environment: doc.framings[entry] for environment, doc in documents.items() if entry in doc.framings}
    keras = {environment: doc.environment.keras_version for environment, doc in documents.items()}
    found = [
        Flag(environment, entry, f"missing, present in {', '.join(present)}",
             _explained(environment, name, "training", keras[environment], path))
        for environment in documents
        if environment not in present and (path != "fused" or environment in FUSED_ENVIRONMENTS)
    ]
    if len(present) < 2:
        return found  # nothing to compare with
    # Majorities and medians over the environments, so that one odd environment flags only itself.
    samples = sample_count(get_framing(name))
    majorities = [_probe_majorities(e.probes) for e in present.values()]
    usual_probes = {probe: majority([m[probe] for m in majorities if probe in m]) for probe in set().union(*majorities)}
    machine = {environment: _machine(doc) for environment, doc in documents.items()}
    for environment, mine in present.items():
        others = [accuracy for e, other in present.items() if e != environment for accuracy in other.accuracy]
        moved = shift(mine.accuracy, others, samples)
        if moved:
            what = (f"every seed {moved} every other environment's: "
                    f"{_accuracy_cell(mine)}, others {format_accuracy(min(others))}-{format_accuracy(max(others))}")
            found.append(Flag(environment, entry, what, _explained(environment, name, accuracy_check, keras[environment], path)))
        for probe, shown in _probe_majorities(mine.probes).items():
            if usual_probes[probe] is not None and shown != usual_probes[probe]:
                what = f"probe {probe}: most seeds {shown!r}, usual {usual_probes[probe]!r}"
                found.append(Flag(environment, entry, what, _explained(environment, name, "probes", keras[environment], path)))
        throughputs = [e.normalised_throughput for other, e in present.items()
                       if e.normalised_throughput and machine[other] == machine[environment]]
        if mine.normalised_throughput and len(throughputs) > 1:
            ratio = mine.normalised_throughput / statistics.median(throughputs)
            if not 1 / THROUGHPUT_FACTOR <= ratio <= THROUGHPUT_FACTOR:
                what = f"throughput {ratio:.2f}x the median environment's"
                explained = THROUGHPUT_EXPLAINED.get(f"{environment}@{path}") or THROUGHPUT_EXPLAINED.get(environment)
                found.append(Flag(environment, entry, what, explained))
    return found


def _explained(environment: str, name: str, check: str, keras_version: str, path: str) -> str | None:
    """Why a cross-environment flag on `check` is a known deviation there (as verdict.expectations
    finds it, with where the release stands against its measurements), or None."""
    expectation = verdict.expectations(environment, name, keras_version, path, (check,))[check]
    return expectation.reason if expectation else None


def _machine(document: Baseline) -> tuple:
    """The machine a baseline was measured on, as far as its fingerprint knows it (schema 1: the model name)."""
    return tuple(getattr(document.environment, field) for field in Fingerprint.MACHINE)


def _accuracy_cell(entry: BaselineEntry) -> str:
    accuracies = entry.accuracy
    return (f"{format_accuracy(statistics.median(accuracies))} "
            f"({format_accuracy(min(accuracies))}-{format_accuracy(max(accuracies))}, "
            f"{len(accuracies)} seed{'s' if len(accuracies) > 1 else ''})")


def _probes_cell(entry: BaselineEntry) -> str:
    shown = []
    for probe, most in _probe_majorities(entry.probes).items():
        held = sum(outcomes.get(probe) == most for outcomes in entry.probes)
        shown.append(f"{probe}={most!r} {held}/{len(entry.probes)}" if most is not None else f"{probe}: no majority")
    return "; ".join(shown) or "-"


def _throughput_cell(entry: BaselineEntry) -> str:
    normalised = entry.normalised_throughput
    return f"{entry.steps_per_second:.0f}" + ("" if normalised is None else f" ({normalised:.0f})")


def markdown(documents: dict[str, Baseline]) -> str:
    """The report: the environments, the flagged differences, then one table per entry."""
    lines = ["<!-- made by: alphabench baseline compare -->", "# alphabench across environments", "",
             "| environment | Keras | backend | CPU |", "|---|---|---|---|"]
    for environment, document in documents.items():
        fingerprint = document.environment
        cpu = " ".join(str(part) for part in (fingerprint.cpu, fingerprint.cpu_signature) if part)
        lines.append(f"| {environment} | {fingerprint.keras_version} | {fingerprint.backend} "
                     f"{fingerprint.backend_version} | {cpu} |")
    found = flags(documents)
    lines += ["", f"## Differences ({len(found)})", ""]
    # Explanations are long and shared by many flags: each is written once, as a numbered note.
    notes = {}
    for flag in found:
        mark = f"see note {notes.setdefault(flag.explained, len(notes) + 1)}" if flag.explained else ""
        lines.append(f"- {flag.line(mark)}")
    lines += [] if found else ["none"]
    if notes:
        lines += ["", "Notes:", ""] + [f"{number}. {explanation}" for explanation, number in notes.items()]
    flagged = {(flag.environment, flag.entry) for flag in found}
    entries = sorted({entry for document in documents.values() for entry in document.framings})
    for entry in entries:
        lines += ["", f"## {entry}", "",
                  "| environment | accuracy median (range) | epochs to 100% (median) | probes (majority) | "
                  "steps/s (normalised) | flagged |", "|---|---|---|---|---|---|"]
        for environment, document in documents.items():
            mine = document.framings.get(entry)
            mark = "yes" if (environment, entry) in flagged else ""
            if mine is None:
                lines.append(f"| {environment} | not in baseline | | | | {mark} |")
                continue
            epochs = format_epochs(median_epochs_to_100(mine.epochs_to_100))
            lines.append(f"| {environment} | {_accuracy_cell(mine)} | {epochs} | {_probes_cell(mine)} | "
                         f"{_throughput_cell(mine)} | {mark} |")
    return "\n".join(lines) + "\n"
