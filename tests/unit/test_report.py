"""The report's learning-curve pictures: each side's seeds drawn as a band about its median."""

from __future__ import annotations

import dataclasses

from alphabench import report
from alphabench.framings import get_framing
from alphabench.results import BaselineEntry
from alphabench.summary import Summary
from fakes import fake_results

EPOCHS = 200


def summary(accuracies):
    framing = get_framing("one_char").with_settings(epochs=EPOCHS)
    return Summary(framing, tuple(fake_results(accuracies, epochs=EPOCHS)))


def test_each_side_is_drawn_with_its_seeds_interquartile_range_and_extremes():
    now = summary((0.8, 0.84, 0.84, 0.88, 0.92))
    entry = BaselineEntry.from_results(fake_results((0.5, 0.6, 0.7), epochs=EPOCHS), 0.2)
    now_side, baseline_side = report.learning_curves(now, entry)["accuracy"]
    last = EPOCHS - 1
    assert now_side.epochs[-1] == EPOCHS and now_side.median[-1] == round(0.84 * last / EPOCHS, 6)
    assert (now_side.band.low[-1], now_side.band.lower_quartile[-1], now_side.band.upper_quartile[-1],
            now_side.band.high[-1]) == tuple(round(a * last / EPOCHS, 6) for a in (0.8, 0.84, 0.88, 0.92))
    assert baseline_side.epochs[0] == 1 and baseline_side.epochs[-1] == EPOCHS  # its 100 points span its epochs
    assert baseline_side.band.low[-1] == round(0.5 * last / EPOCHS, 6)
    assert baseline_side.band.high[-1] == round(0.7 * last / EPOCHS, 6)


def test_the_legend_says_what_each_band_is_and_when_the_baseline_has_none():
    now = summary((0.8, 0.84, 0.92))
    entry = BaselineEntry.from_results(fake_results((0.5, 0.6, 0.7), epochs=EPOCHS), 0.2)
    figure = report._figure(now, entry)
    labels = [text.get_text() for text in figure.axes[1].get_legend().get_texts()]
    assert labels == ["now: median of 3 seeds", "now: middle half of the seeds", "now: every seed (min to max)",
                      "baseline: median of 3 seeds", "baseline: middle half of the seeds",
                      "baseline: every seed (min to max)"]
    older = dataclasses.replace(entry, loss_band=None, accuracy_band=None)  # made before schema 3
    labels = [text.get_text() for text in report._figure(now, older).axes[1].get_legend().get_texts()]
    assert labels[-1] == "baseline: seed spread not stored (made before schema 3)"


def test_the_report_writes_one_picture_per_framing(tmp_path):
    path = report._plot(tmp_path, summary((0.8, 0.9)), None)
    assert path.name == "one_char.png" and path.read_bytes().startswith(b"\x89PNG")
