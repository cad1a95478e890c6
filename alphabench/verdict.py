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

from alphabench.deviations import known_deviation
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
                 checks: Sequence[str] | None = None) -> dict[str, str | None]:
    """What `subject` is expected to do in this environment, release and path: check -> why it is a
    known deviation (alphabench.deviations), or None. `checks`: by default a framing's, as its
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


@dataclass(frozen=True)
class Verdict:
    """The verdict on one subject: a framing, or one of the contracts (alphabench.contracts)."""

    subject: str
    failures: tuple[Failure, ...]
    # Known deviations of this environment, by check: each must fail (a strict expected failure).
    expected: Mapping[str, str] = field(default_factory=dict)
    judged: bool = True

    def lines(self, check: str | None = None) -> list[str]:
        return [f.line for f in self.failures if check is None or f.check == check]

    @property
    def unexpected_failures(self) -> list[Failure]:
        return [f for f in self.failures if f.check not in self.expected and "training" not in self.expected]

    @property
    def unexpected_passes(self) -> list[str]:
        """Checks recorded as failing here that passed: the deviation is fixed, or has changed."""
        failed = {f.check for f in self.failures}
        if "training" in self.expected:
            return [] if failed else ["training"]
        return [check for check in self.expected if check not in failed]

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
        return self.status in (FAIL, UNEXPECTED_PASS)


def judge(subject: str, failures: Sequence[Failure], expected: Mapping[str, str | None],
          judged: bool = True) -> Verdict:
    """The verdict on one subject; `expected`: check -> why it is a known deviation here (or None)."""
    return Verdict(subject, tuple(failures), {c: why for c, why in expected.items() if why}, judged)


def contract_verdict(name: str, violation: str | None, expected: Mapping[str, str | None]) -> Verdict:
    """A contract's verdict from what its check saw (None: kept) and its `expectations`."""
    return judge(name, [Failure("contract", violation, name)] if violation else [], expected)


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
        return f"verdict: {head}: {counts} as expected"
