"""The one place that decides: a framing's verdict from everything judged about it, and the run's.

What a framing or contract is expected to do here (`expectations`: the known deviations of its
environment, release and path) is assembled here too, and `judge` decides. The session (so the
CLI's table and the training tests), the matrix and its bisect, and the selftest all ask this
module; none of them decides on its own. A command's exit status is RunVerdict's, or that of a
typed outcome of its own module built from these verdicts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from alphabench.deviations import MEASURED, Expectation, KnownDeviation, known_deviation
from alphabench.gate import Finding
from alphabench.summary import Summary

OK, FAIL, EXPECTED_FAILURE, UNEXPECTED_PASS, NOT_JUDGED = (
    "ok", "FAIL", "expected failure", "UNEXPECTED PASS", "not judged")


@dataclass(frozen=True)
class Failure:
    check: str  # what failed: "training", "accuracy", "probes", "baseline", "reference" or "contract"
    line: str
    rule: str = ""  # which rule saw it: "expectation", a finding's metric, a contract's name


def check_name(check: str, path: str) -> str:
    """A reference-path run's accuracy, probes and baseline are judged as one check, "reference"."""
    return "reference" if path == "reference" else check


FRAMING_CHECKS = ("training", "accuracy", "probes", "baseline")


def expectations(environment: str, subject: str, keras_version: str | None, path: str | None = None,
                 checks: Sequence[str] | None = None) -> dict[str, Expectation | None]:
    """What `subject` is expected to do in this environment, release and path: check -> the known
    deviation that breaks it (alphabench.deviations), as far as its measurements reach this release
    (deviations.Expectation: measured there, inside a measured range, after or before it), or None. `checks`: by default a framing's, as its
    failures come under them (check_name: "reference" on the reference path); a contract's is
    ("contract",); the training tests name their own ("lessons", "equivalence", ...)."""
    if checks is None:
        checks = ("training", *dict.fromkeys(check_name(c, path or "") for c in FRAMING_CHECKS[1:]))
    return {check: known_deviation(environment, subject, check, keras_version, path) for check in checks}


def failures_of(framing: str, summary: Summary | None, findings: Sequence[Finding], path: str,
                training_error: str | None = None) -> tuple[Failure, ...]:
    """Every way a framing's runs fail: its training, the tutorial's expectations, the baseline."""
    if training_error is not None:
        return (Failure("training", f"{framing}: training failed ({training_error})", "training"),)
    failures = []
    accuracy = summary.accuracy_problem()
    if accuracy:
        failures.append(Failure(check_name("accuracy", path), f"{framing}: {accuracy}", "expectation"))
    failures += [Failure(check_name("probes", path), f"{framing}: {line}", "expectation")
                 for line in summary.probe_problems()]
    failures += [Failure(check_name("baseline", path), f.line(), f.metric) for f in findings if f.kind == "regression"]
    return tuple(failures)


# What an unexpected pass does to a run (options.add_unexpected_pass_option): "fail" it (the
# default, and alphabench's own CI), or "warn": report it as prominently and let the run pass.
UNEXPECTED_PASS_POLICIES = ("fail", "warn")


@dataclass(frozen=True)
class Verdict:
    """The verdict on one subject: a framing, or one of the contracts (alphabench.contracts)."""

    subject: str
    failures: tuple[Failure, ...]
    # Known deviations of this environment and release, by check, as far as their measurements
    # reach here (deviations.Expectation): where one is predicted, the check must fail.
    expected: Mapping[str, Expectation] = field(default_factory=dict)
    judged: bool = True
    unexpected_pass: str = "fail"  # of UNEXPECTED_PASS_POLICIES

    def lines(self, check: str | None = None) -> list[str]:
        return [f.line for f in self.failures if check is None or f.check == check]

    @property
    def unexpected_failures(self) -> list[Failure]:
        return [f for f in self.failures if f.check not in self.expected and "training" not in self.expected]

    def _shown(self, expectation: Expectation) -> bool:
        """Whether the deviation shows: any check it breaks failed (any at all, if it breaks
        training). A framing that could not train failed every check."""
        checks = {c for c, e in self.expected.items() if e == expectation}
        failed = {f.check for f in self.failures}
        if "training" in checks:
            return bool(failed)
        return "training" in failed or bool(checks & failed)

    @property
    def unexpected_passes(self) -> list[str]:
        """Checks a deviation predicts failing here that passed: it is fixed, or has changed. Beyond
        the releases it was measured on (or before them) a pass is not unexpected; where the
        framing could not train, nothing passed."""
        failed = {f.check for f in self.failures}
        predicted = [c for c, e in self.expected.items() if e.predicted]
        if "training" in predicted or "training" in failed:
            return [] if failed else ["training"]
        return [check for check in predicted if check not in failed]

    @property
    def status(self) -> str:
        if not self.judged:
            return NOT_JUDGED
        if self.unexpected_failures:
            return FAIL
        if self.unexpected_passes:
            return UNEXPECTED_PASS
        return EXPECTED_FAILURE if self.failures else OK

    @property
    def fails_run(self) -> bool:
        return self.status == FAIL or (self.status == UNEXPECTED_PASS and self.unexpected_pass == "fail")

    @property
    def warned(self) -> bool:
        """An unexpected pass that does not fail the run (--unexpected-pass warn): reported as such."""
        return self.status == UNEXPECTED_PASS and not self.fails_run

    def explanations(self, causes: bool = True) -> list[str]:
        """What a report adds to the failures: each unexpected pass (prominently: a recorded
        deviation no longer holds), where a deviation's measurements do not reach this release what
        that means, and with `causes` each expected failure's cause."""
        if not self.judged:
            return []
        found = []
        for expectation in dict.fromkeys(self.expected.values()):
            shown = self._shown(expectation)
            checks = [c for c, e in self.expected.items() if e == expectation and c in self.unexpected_passes]
            if checks:
                release = f" on Keras {expectation.release}" if expectation.release else ""
                warned = " (--unexpected-pass warn: not failing the run)" if self.unexpected_pass == "warn" else ""
                cause = f": {expectation.why}" if causes else ""
                found.append(f"UNEXPECTED PASS {self.subject}: recorded as failing ({', '.join(checks)}){release}, "
                             f"but passed{warned}{cause}")
            elif shown and causes:
                found.append(f"expected failure {self.subject}: {expectation.why}")
            note = expectation.note(shown)
            if note:
                found.append(f"note {self.subject}: {note}")
        return found


def expected_outcome(expectation: Expectation | None, unexpected_pass: str = "fail") -> tuple[str, bool] | None:
    """For a test of a check a deviation breaks: (reason, strict) of its expected failure, or None.
    Strict (a pass fails the test) where the deviation is predicted and unexpected passes fail."""
    if expectation is None:
        return None
    position = expectation.position
    reason = f"{expectation.why}; {position}" if position else expectation.why
    return reason, expectation.predicted and unexpected_pass == "fail"


def judge(subject: str, failures: Sequence[Failure], expected: Mapping[str, Expectation | str | None],
          judged: bool = True, unexpected_pass: str = "fail") -> Verdict:
    """The verdict on one subject; `expected`: check -> the known deviation here (deviations.known_deviation),
    a plain reason for one that holds on every release, or None."""
    if unexpected_pass not in UNEXPECTED_PASS_POLICIES:
        raise ValueError(f"unexpected_pass must be one of {UNEXPECTED_PASS_POLICIES}; got {unexpected_pass!r}")
    standing = {c: why if isinstance(why, Expectation) else _everywhere(subject, c, why)
                for c, why in expected.items() if why}
    return Verdict(subject, tuple(failures), standing, judged, unexpected_pass)


def _everywhere(subject: str, check: str, why: str) -> Expectation:
    return Expectation(KnownDeviation("", subject, (check,), why), None, MEASURED)


def contract_verdict(name: str, violation: str | None, expected: Mapping[str, Expectation | str | None],
                     unexpected_pass: str = "fail") -> Verdict:
    """A contract's verdict from what its check saw (None: kept) and its `expectations`."""
    return judge(name, [Failure("contract", violation, name)] if violation else [], expected,
                 unexpected_pass=unexpected_pass)


@dataclass(frozen=True)
class RunVerdict:
    framings: tuple[Verdict, ...]
    contracts: tuple[Verdict, ...] = ()

    @property
    def failed(self) -> list[str]:
        return [v.subject for v in self.contracts + self.framings if v.fails_run]

    @property
    def exit_status(self) -> int:
        """0: everything judged as expected; 1: a failure or an unexpected pass."""
        return 1 if self.failed else 0

    def line(self) -> str:
        judged = sum(v.judged for v in self.framings)
        framings = f"{judged - sum(v.fails_run for v in self.framings)}/{judged} framings"
        contracts = f"{len(self.contracts) - sum(v.fails_run for v in self.contracts)}/{len(self.contracts)} contracts"
        counts = f"{framings} and {contracts}" if self.contracts else framings
        if not judged and not self.contracts:
            return f"verdict: not judged: 0/{len(self.framings)} framings judged (settings overridden)"
        head = f"FAIL ({', '.join(self.failed)})" if self.failed else "ok"
        warned = [v.subject for v in self.contracts + self.framings if v.warned]
        tail = f"; UNEXPECTED PASS ({', '.join(warned)}), not failing the run (--unexpected-pass warn)" if warned else ""
        return f"verdict: {head}: {counts} as expected{tail}"
