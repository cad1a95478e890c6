"""The training progress line: redrawn live on a terminal, a line every half minute in a log."""

import io

from alphabench.progress import ProgressLine, duration, train_all


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def train(progress, clock, epochs, seconds_per_epoch, first_epoch_seconds=0.0):
    clock.now += first_epoch_seconds
    for epoch in range(1, epochs + 1):
        clock.now += seconds_per_epoch
        progress(epoch, epochs)


def test_a_log_gets_a_line_every_half_minute_with_the_time_left():
    out, clock = io.StringIO(), Clock()
    progress = ProgressLine("[1/1] variable_length (seed 1, fast path)", out, live=False, clock=clock)
    progress.start()
    train(progress, clock, epochs=500, seconds_per_epoch=0.9, first_epoch_seconds=20.0)
    progress.finish("done")
    lines = out.getvalue().splitlines()
    assert lines[0] == "[1/1] variable_length (seed 1, fast path) ..."
    assert lines[-1] == "[1/1] variable_length (seed 1, fast path): done in 470.0s"
    middle = lines[1:-1]
    assert 14 <= len(middle) <= 17, middle  # 450 s of epochs: one line per 30 s (and the last epoch), not 500
    assert middle[0].startswith("[1/1] variable_length (seed 1, fast path): epoch ")
    # The compile time of the first epoch does not count in the rate: 0.9 s an epoch.
    done = int(middle[0].split("epoch ")[1].split("/")[0])
    assert middle[0].endswith(f"/500, {duration((500 - done) * 0.9)} left")


def test_a_terminal_gets_one_line_redrawn_in_place():
    out, clock = io.StringIO(), Clock()
    progress = ProgressLine("[2/3] stateful (seeds 1-3, fast path)", out, live=True, clock=clock)
    train(progress, clock, epochs=300, seconds_per_epoch=0.01)
    progress.finish("done")
    text = out.getvalue()
    assert text.count("\n") == 1 and text.endswith("done in 3.0s\x1b[K\n")
    assert 5 <= text.count("\r") <= 8  # at most two redraws a second
    assert "epoch 300/300, 0s left" in text


def test_a_new_replica_group_restarts_the_estimate():
    out, clock = io.StringIO(), Clock()
    progress = ProgressLine("p", out, live=False, log_every=0.0, clock=clock)
    train(progress, clock, epochs=3, seconds_per_epoch=10.0)
    train(progress, clock, epochs=3, seconds_per_epoch=1.0)
    assert out.getvalue().splitlines()[-3:] == ["p: epoch 1/3", "p: epoch 2/3, 1s left", "p: epoch 3/3, 0s left"]


def test_durations():
    assert [duration(s) for s in (4.4, 59.6, 185, 3720)] == ["4s", "1m00s", "3m05s", "1h02m"]


class SideBySide:
    """A session training in processes, as alphabench.session.Session.train_in_processes reports."""

    jobs, path = 2, "fused"

    def seeds_for(self, name):
        return tuple(range(1, 17))

    def train_in_processes(self, names, finished):
        for name, seconds, trained in (("variable_length", 80.04, True), ("one_char", 5.0, False)):
            finished(name, seconds, trained)


def test_framings_trained_side_by_side_are_each_reported_as_they_end():
    out = io.StringIO()
    train_all(SideBySide(), ["one_char", "variable_length"], out)
    assert out.getvalue().splitlines() == [
        "training 2 framings in 2 processes, the longest first ...",
        "[1/2] variable_length (seeds 1-16, fused path): done in 80.0s",
        "[2/2] one_char (seeds 1-16, fused path): training failed in 5.0s",
    ]
