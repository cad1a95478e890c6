"""The progress of one framing's training: a live line on a terminal, a line now and then in a log.

variable_length trains for minutes; without this, nothing shows between its start and "done". A
terminal gets one line redrawn in place with the epoch and the time left; a CI log, which keeps
every line, gets one every `log_every` seconds rather than one per epoch.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from alphabench.results import describe_seeds

_CLEAR_TO_END_OF_LINE = "\x1b[K"


def duration(seconds: float) -> str:
    """'42s', '3m05s', '1h02m'."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds}s"
    if seconds < 3600:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


class ProgressLine:
    """Called as `progress(done, total)` after each epoch (alphabench.trainer's Progress)."""

    def __init__(self, prefix: str, stream: TextIO, live: bool, log_every: float = 30.0, redraw_every: float = 0.5,
                 clock=time.monotonic):
        self.prefix, self.stream, self.live, self.clock = prefix, stream, live, clock
        self.interval = redraw_every if live else log_every
        self.started = self.last_shown = clock()
        self.first: tuple[int, float] | None = None  # (epoch, time) the rate is measured from
        self.last_done = 0

    def start(self) -> None:
        self.stream.write(f"{self.prefix} ...\n")
        self.stream.flush()

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        if self.first is None or done <= self.last_done:  # the first epoch, or the next replica group's
            self.first = (done, now)  # the first epoch includes building and compiling: not the rate
        self.last_done = done
        if now - self.last_shown < self.interval and done != total:
            return
        self.last_shown = now
        first_done, first_time = self.first
        left = ""
        if done > first_done:
            left = f", {duration((now - first_time) / (done - first_done) * (total - done))} left"
        self._show(f"epoch {done}/{total}{left}")

    def finish(self, outcome: str) -> None:
        self._show(f"{outcome} in {self.clock() - self.started:.1f}s", final=True)

    def _show(self, status: str, final: bool = False) -> None:
        line = f"{self.prefix}: {status}"
        if self.live:
            self.stream.write(f"\r{line}{_CLEAR_TO_END_OF_LINE}{chr(10) if final else ''}")
        else:
            self.stream.write(f"{line}\n")
        self.stream.flush()


def seeds_text(seeds) -> str:
    """'seed 1', 'seeds 1-3'."""
    return f"seed{'s' * (len(seeds) > 1)} {describe_seeds(seeds)}"


def train_all(session, names, stream: TextIO | None = None) -> None:
    """Train each framing of an alphabench.session.Session with a progress display (default: on stderr).

    A framing whose training raises is not retrained: the session keeps the error, and its verdict
    (session.verdict) judges it as a "training" failure, expected or not. With `session.jobs` above
    one, framings train side by side in that many processes, each reported as it ends.
    """
    stream = stream or sys.stderr
    if session.jobs > 1 and len(names) > 1:
        _train_in_processes(session, names, stream)
        return
    for position, name in enumerate(names, start=1):
        progress = ProgressLine(f"[{position}/{len(names)}] {name} ({seeds_text(session.seeds_for(name))}, "
                                f"{session.path} path)", stream, live=stream.isatty())
        progress.start()
        try:
            session.train(name, progress)
        except Exception:
            progress.finish("training failed")
        else:
            progress.finish("done")


def _train_in_processes(session, names, stream: TextIO) -> None:
    jobs = min(session.jobs, len(names))
    stream.write(f"training {len(names)} framings in {jobs} processes, the longest first ...\n")
    stream.flush()
    ended = iter(range(1, len(names) + 1))

    def finished(name: str, seconds: float, trained: bool) -> None:
        outcome = "done" if trained else "training failed"
        stream.write(f"[{next(ended)}/{len(names)}] {name} ({seeds_text(session.seeds_for(name))}, "
                     f"{session.path} path): {outcome} in {seconds:.1f}s\n")
        stream.flush()

    session.train_in_processes(names, finished)
