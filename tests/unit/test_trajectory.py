"""Golden trajectories: the comparison's tolerance and first departure, and the golden file's store."""

from __future__ import annotations

import dataclasses
import json

import pytest

from alphabench import trajectory
from alphabench.errors import BaselineError
from alphabench.framings import FRAMINGS
from alphabench.trajectory import TOLERANCE, Trajectory

GOLDEN = Trajectory("one_char", (3.3, 3.2, 3.1), (0.5, -2.0), (10.0, 20.0), "Keras 3.15.1")


def test_the_golden_trajectory_itself_is_within_tolerance():
    departure = trajectory.compare(GOLDEN, GOLDEN)
    assert not departure.broken and departure.deviation == 0


def test_a_deviation_inside_the_tolerance_is_reported_as_the_largest_not_broken():
    now = dataclasses.replace(GOLDEN, losses=(3.3, 3.2 * (1 + TOLERANCE / 2), 3.1))
    departure = trajectory.compare(GOLDEN, now)
    assert not departure.broken
    assert departure.what == "loss at step 2"
    assert departure.deviation == pytest.approx(TOLERANCE / 2)


def test_the_first_step_that_leaves_the_tolerance_is_named_with_golden_and_now():
    now = dataclasses.replace(GOLDEN, losses=(3.3, 3.2 * (1 + 3 * TOLERANCE), 5.0))
    departure = trajectory.compare(GOLDEN, now)
    assert departure.broken
    assert "loss at step 2 left the golden one's tolerance: golden 3.2, now 3.200096" in departure.line()


def test_a_weight_sum_is_judged_against_its_arrays_absolute_sum_so_a_sum_near_zero_is_not_fragile():
    within = dataclasses.replace(GOLDEN, weight_sums=(0.5 + 10.0 * TOLERANCE / 2, -2.0))
    beyond = dataclasses.replace(GOLDEN, weight_sums=(0.5 + 10.0 * TOLERANCE * 2, -2.0))
    assert not trajectory.compare(GOLDEN, within).broken
    assert trajectory.compare(GOLDEN, beyond).what == "weights after step 3 (array 0 sum)"


@pytest.mark.parametrize("loss", [float("nan"), float("inf")])
def test_a_loss_that_is_not_finite_breaks_the_trajectory(loss):
    assert trajectory.compare(GOLDEN, dataclasses.replace(GOLDEN, losses=(3.3, loss, 3.1))).broken


def test_a_trajectory_of_another_length_breaks_it():
    assert trajectory.compare(GOLDEN, dataclasses.replace(GOLDEN, losses=(3.3, 3.2))).broken


def test_save_keeps_the_other_framings_and_round_trips(tmp_path):
    path = tmp_path / "golden.json"
    trajectory.save([GOLDEN], path)
    other = dataclasses.replace(GOLDEN, framing="stateful")
    trajectory.save([other], path)
    assert trajectory.load(path) == {"one_char": GOLDEN, "stateful": other}


@pytest.mark.parametrize("text", ["{", "[]", '{"schema_version": 99}', '{"schema_version": 1, "steps": 3}'])
def test_a_broken_golden_file_is_one_line_that_says_how_to_remake_it(tmp_path, text):
    path = tmp_path / "golden.json"
    path.write_text(text)
    with pytest.raises(BaselineError, match=r"is not a golden trajectory file .*alphabench golden record --out"):
        trajectory.load(path)


def test_the_shipped_golden_file_holds_every_framing():
    shipped = trajectory.load()
    assert set(shipped) == set(FRAMINGS)
    for golden in shipped.values():
        assert len(golden.losses) == trajectory.STEPS
    document = json.loads(trajectory.GOLDEN_FILE.read_text())
    assert document["steps"] == trajectory.STEPS and document["seed"] == trajectory.GOLDEN_SEED


def test_golden_spread_prints_each_files_deviation_and_fails_when_one_leaves_the_tolerance(tmp_path, capsys):
    from alphabench import cli

    golden, within, beyond = (tmp_path / name for name in ("golden.json", "within.json", "beyond.json"))
    trajectory.save([GOLDEN], golden)
    trajectory.save([dataclasses.replace(GOLDEN, losses=(3.3, 3.2 * (1 + TOLERANCE / 10), 3.1))], within)
    trajectory.save([dataclasses.replace(GOLDEN, losses=(3.3, 3.2, 3.1 * (1 + 10 * TOLERANCE)))], beyond)
    assert cli.main(["golden", "spread", str(within), "--golden", str(golden)]) == 0
    assert "| one_char | Keras 3.15.1 | 1e-06 | loss at step 2 | 0.1 |" in capsys.readouterr().out
    assert cli.main(["golden", "spread", str(within), str(beyond), "--golden", str(golden)]) == 1
    assert "| 0.0001 | loss at step 3 | 10 |" in capsys.readouterr().out
