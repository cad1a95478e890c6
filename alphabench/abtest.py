"""A/B throughput: two environments (or two versions of one) measured in turns on one machine.

A throughput stored on another machine, or on another day of a shared one, cannot tell a release
twice as slow from a slower machine. Measured in alternating rounds (ABBA...), the machine's drift
falls on both sides alike, and each round's ratio B/A is one paired observation; a one-sided
Wilcoxon signed-rank test (scipy.stats) on their logarithms says whether B is slower beyond chance,
and the median ratio how much.

Each measurement of another environment is `alphabench throughput` run by its interpreter
(Timer: `alphabench throughput --serve`, kept running for every round), which prints a Throughput as
JSON: `alphabench ab` and the matrix's A/B both read it.
Both commands are defined here (add_commands); `ab`'s exit status is its Comparison's.
"""

from __future__ import annotations

import errno
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from alphabench import deviations, options
from alphabench.errors import UsageError
from alphabench.framings import get_framing
from alphabench.results import Fingerprint

# An A/B comparison is its own check with its own false-alarm budget.
FALSE_ALARM_BUDGET = 0.01
# Slower than this (B's throughput below 1/SLOWDOWN of A's) and significant: a regression. Smaller
# slowdowns are reported; the smallest this can resolve depends on the rounds (README).
SLOWDOWN = 1.2


def interleaved(measure_a: Callable[[], float], measure_b: Callable[[], float], rounds: int) -> list[tuple[float, float]]:
    """`rounds` pairs (a, b) of throughputs, measured A then B, then B then A, and so on."""
    pairs = []
    for round_number in range(rounds):
        if round_number % 2 == 0:
            a = measure_a()
            b = measure_b()
        else:
            b = measure_b()
            a = measure_a()
        pairs.append((a, b))
    return pairs


@dataclass(frozen=True)
class Throughput:
    """One framing's training throughput, and the environment that measured it."""

    steps_per_second: float
    environment: Fingerprint

    @property
    def description(self) -> str:
        """'keras3-tensorflow (Keras 3.15.1, tensorflow 2.21.0)'."""
        e = self.environment
        return f"{e.environment} (Keras {e.keras_version}, {e.backend} {e.backend_version})"

    def to_dict(self) -> dict:
        return {"steps_per_second": self.steps_per_second, **self.environment.as_dict()}

    @classmethod
    def from_dict(cls, document: Mapping) -> Throughput:
        return cls(document["steps_per_second"], Fingerprint.from_dict(document))


class MeasureError(UsageError):
    """Another environment could not time a framing: the message says what to give instead."""


_ADVICE = "give the other environment's Python, e.g. old-venv/bin/python"


def check_interpreter(python: str, framing: str) -> None:
    """MeasureError now, before any round, unless `python` names a program that can be run."""
    if Path(python).is_dir():
        raise MeasureError(f"{python} is a directory, not a Python interpreter; {_ADVICE}")
    if shutil.which(python) is None:
        missing = not (os.path.exists(python) or shutil.which(python, mode=os.F_OK))
        reason = os.strerror(errno.ENOENT if missing else errno.EACCES)
        raise MeasureError(f"{python} could not time {framing} ({reason}); {_ADVICE}")


class Timer:
    """Another environment's `alphabench throughput --serve`, kept running: each call fits the
    framing's model there once more (built and compiled once, trainer.throughput_rounds) and returns
    its Throughput. Its start-up (Python, Keras, the backend, the compilation) is paid once, not once a
    round, and a round costs its training alone. A context manager:
    leaving it ends the process."""

    def __init__(self, python: str | os.PathLike, framing: str, epochs: int,
                 environment_variables: Mapping[str, str] | None = None):
        self._what = f"{python} could not time {framing}"
        self._warm = False
        self._errors = tempfile.TemporaryFile(mode="w+")  # read only to say why it failed
        command = [str(python), "-m", "alphabench", "throughput", framing, "--epochs", str(epochs), "--serve"]
        try:
            self._process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._errors,
                                             text=True, env={**os.environ, **(environment_variables or {})})
        except OSError as error:
            self._errors.close()
            raise MeasureError(f"{self._what} ({error.strerror}); {_ADVICE}") from None

    def __call__(self) -> Throughput:
        if not self._warm:  # a process's first training runs slower (its caches are cold): a warm-up, not a round
            self._warm = True
            self._round()
        return self._round()

    def _round(self) -> Throughput:
        try:
            self._process.stdin.write("\n")
            self._process.stdin.flush()
            for line in self._process.stdout:  # anything else the environment prints is passed over
                if line.startswith("{"):
                    return Throughput.from_dict(json.loads(line))
        except BrokenPipeError:
            pass
        self._process.wait()
        self._errors.seek(0)
        last = (self._errors.read().strip().splitlines() or ["no output"])[-1]
        raise MeasureError(f"{self._what} ({last}); is alphabench installed there?")

    def __enter__(self) -> Timer:
        return self

    def __exit__(self, error_type, *exc_info) -> None:
        if error_type is not None:  # the comparison failed: nothing more to wait for
            self._process.kill()
        try:
            self._process.stdin.close()  # end of input: the process ends
        except BrokenPipeError:
            pass
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process.stdout.close()
        self._errors.close()


@dataclass(frozen=True)
class Comparison:
    """B's throughput against A's, one pair a round. `known_slowdown`: the known Keras or backend
    slowdown that going from A's environment to B's crosses (known_slowdown()), if any: a slower B is
    then expected, said with its cause, and is no regression."""

    pairs: tuple[tuple[float, float], ...]
    known_slowdown: deviations.KnownSlowdown | None = None

    @property
    def ratio(self) -> float:
        """B's throughput over A's, the median over rounds (0.5: B takes twice as long)."""
        return statistics.median(b / a for a, b in self.pairs)

    def interval(self, coverage: float = 0.9) -> tuple[float, float]:
        """A distribution-free interval for the median ratio: the k-th smallest and k-th largest round,
        k the largest for which it covers the median with at least `coverage` (binomial order
        statistics; with 8 rounds, 2nd to 7th: 93%; below 5 rounds the whole range, which covers less)."""
        from scipy import stats

        ratios = sorted(b / a for a, b in self.pairs)
        n, k = len(ratios), 1
        while k < n // 2 and 2 * stats.binom.cdf(k, n, 0.5) <= 1 - coverage:
            k += 1
        return ratios[k - 1], ratios[n - k]

    @cached_property  # asked for by slower, regressed, exit_status and line alike
    def p_value(self) -> float:
        """One-sided: that B is slower than A (exact signed-rank distribution for small samples)."""
        from scipy import stats

        logs = [math.log(b / a) for a, b in self.pairs]
        if all(value == 0 for value in logs):
            return 1.0
        return float(stats.wilcoxon(logs, alternative="less").pvalue)

    @property
    def slower(self) -> bool:
        return self.p_value <= FALSE_ALARM_BUDGET and self.ratio < 1 / SLOWDOWN

    @property
    def faster(self) -> bool:
        """B faster than A by the same rule, mirrored (what a fix is to `bisect --throughput`)."""
        return self._mirrored.slower

    @cached_property
    def _mirrored(self) -> Comparison:
        return Comparison(tuple((b, a) for a, b in self.pairs))

    @property
    def regressed(self) -> bool:
        """Slower by the rule, and not explained by a known slowdown."""
        return self.slower and self.known_slowdown is None

    @property
    def exit_status(self) -> int:
        """`alphabench ab`'s: 1 when B regressed, else 0."""
        return 1 if self.regressed else 0

    def line(self, a: str, b: str) -> str:
        """The verdict in one line, with a known slowdown's cause when it explains a slower B; a faster
        B is said so, with the p-value of the mirrored test that finds it."""
        if self.faster:
            verdict, p_value, rule = "ok, faster", self._mirrored.p_value, f"faster beyond {SLOWDOWN:g}x"
        else:
            verdict = "REGRESSION" if self.regressed else "slower, as expected" if self.slower else "ok"
            p_value, rule = self.p_value, f"fails below 1/{SLOWDOWN:g}"
        known = f"; expected: {self.known_slowdown.cause}" if self.slower and self.known_slowdown else ""
        return (f"{verdict}: {b} trains at {self.ratio:.2f}x the throughput of {a} (median of {len(self.pairs)} "
                f"alternating rounds; one-sided Wilcoxon p = {p_value:.2g}; {rule} at p <= {FALSE_ALARM_BUDGET:g}"
                f"{known})")


def known_slowdown(framing: str, before: Fingerprint, after: Fingerprint) -> deviations.KnownSlowdown | None:
    """The known slowdown of `framing` that upgrading from `before`'s environment to `after`'s crosses;
    None also where the two are not one line of Keras on one backend (no upgrade of each other)."""
    if before.environment != after.environment:
        return None
    keras_line = "keras" if after.keras_flavour == "keras3" else "tf-keras"
    return deviations.known_slowdown(after.backend, framing, keras_line,
                                     (before.keras_version, before.backend_version),
                                     (after.keras_version, after.backend_version))


def add_commands(commands) -> None:
    """`alphabench ab` and `alphabench throughput`, on the CLI's subparsers."""
    ab = commands.add_parser("ab", help="compare this environment's training throughput with another's, "
                             "measured in alternating rounds on this machine (e.g. before and after an upgrade)")
    ab.add_argument("other_python", metavar="PYTHON",
                    help="the other environment's interpreter (alphabench installed there), e.g. old-venv/bin/python")
    ab.add_argument("framing", nargs="?", type=options.framing_name, default="one_char",
                    help="framing to time (default: one_char)")
    ab.add_argument("--rounds", type=options.positive_int, default=8, metavar="N",
                    help="alternating rounds (default: 8; fewer cannot reach the false-alarm budget)")
    ab.add_argument("--epochs", type=options.positive_int, default=60, metavar="N",
                    help="epochs a round trains (default: 60)")
    ab.set_defaults(command=ab_command)
    throughput = commands.add_parser("throughput", help="train one framing briefly and print its steps per "
                                     "second as JSON (what `alphabench ab` runs in each environment)")
    throughput.add_argument("framing", type=options.framing_name)
    throughput.add_argument("--epochs", type=options.positive_int, default=60, metavar="N")
    throughput.add_argument("--serve", action="store_true",
                            help="time it once for every line read on standard input, a JSON line each (Timer)")
    throughput.set_defaults(command=throughput_command)


def throughput_command(args) -> int:
    from alphabench import compat, trainer  # imports Keras

    framing = get_framing(args.framing).with_settings(epochs=args.epochs)
    environment = compat.fingerprint()
    # One model, compiled once, fitted again each round: a round costs its training alone.
    rounds = trainer.throughput_rounds(framing, framing.seeds)
    for _ in sys.stdin if args.serve else [None]:
        print(json.dumps(Throughput(next(rounds), environment).to_dict()), flush=True)
    return 0


def ab_command(args) -> int:
    check_interpreter(args.other_python, args.framing)  # one line, before the progress line
    measured = {}

    def measure(python: str, timer: Timer) -> float:
        measured[python] = timer()
        print(".", end="", file=sys.stderr, flush=True)
        return measured[python].steps_per_second

    print(f"timing {args.framing} in turns, {args.rounds} rounds ", end="", file=sys.stderr, flush=True)
    try:
        with Timer(args.other_python, args.framing, args.epochs) as other, \
                Timer(sys.executable, args.framing, args.epochs) as this:
            pairs = interleaved(lambda: measure(args.other_python, other), lambda: measure(sys.executable, this),
                                args.rounds)
    finally:
        print(file=sys.stderr)  # the progress line ends before an error or the results
    before, after = measured[args.other_python], measured[sys.executable]
    comparison = Comparison(tuple(pairs), known_slowdown(args.framing, before.environment, after.environment))
    for a, b in pairs:
        print(f"round: {a:.1f} -> {b:.1f} steps/s ({b / a:.2f}x)")
    print(comparison.line(before.description, after.description))
    return comparison.exit_status
