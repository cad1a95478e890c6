import numpy as np
import pytest

from alphabench.data import build_dataset, encode, prefix_pairs, random_run_pairs, window_pairs
from alphabench.framings import FRAMINGS, get_framing


def test_variable_length_draw_reproduces_the_tutorials_first_nine_pairs():
    first_nine = random_run_pairs(1000, 5)[:9]
    assert [f"{x}->{y}" for x, y in first_nine] == [
        "PQRST->U", "W->X", "O->P", "OPQ->R", "IJKLM->N", "QRSTU->V", "ABCD->E", "X->Y", "GHIJ->K",
    ]


def test_variable_length_draw_does_not_touch_numpys_global_rng():
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    random_run_pairs(10, 5)
    assert np.random.rand() == expected


@pytest.mark.parametrize(
    "name, shape, first, last",
    [
        ("one_char", (25, 1, 1), "A->B", "Y->Z"),
        ("feature_window", (23, 1, 3), "ABC->D", "WXY->Z"),
        ("timestep_window", (23, 3, 1), "ABC->D", "WXY->Z"),
        ("timestep_window_2", (24, 2, 1), "AB->C", "XY->Z"),
        ("batch_state", (25, 1, 1), "A->B", "Y->Z"),
        ("stateful", (25, 1, 1), "A->B", "Y->Z"),
        ("variable_length", (1000, 5, 1), "PQRST->U", None),
        ("prefix_padded", (25, 25, 1), "A->B", "ABCDEFGHIJKLMNOPQRSTUVWXY->Z"),
    ],
)
def test_each_framing_has_the_tutorials_shape_and_pairs(name, shape, first, last):
    dataset = build_dataset(get_framing(name))
    assert dataset.x.shape == shape and dataset.x.dtype == np.float32
    assert dataset.y.shape == (shape[0], 26) and (dataset.y.sum(axis=1) == 1).all()
    pairs = [f"{p}->{chr(65 + label)}" for p, label in zip(dataset.patterns, dataset.labels)]
    assert pairs[0] == first
    if last:
        assert pairs[-1] == last


def test_letters_are_normalised_by_26_and_layout_decides_steps_or_features():
    np.testing.assert_allclose(encode(["ABC"], 3, "timesteps")[0, :, 0], [0, 1 / 26, 2 / 26])
    np.testing.assert_allclose(encode(["ABC"], 3, "features")[0, 0, :], [0, 1 / 26, 2 / 26])


def test_padding_is_on_the_left_with_the_value_of_a():
    np.testing.assert_allclose(encode(["XY"], 5, "timesteps")[0, :, 0], [0, 0, 0, 23 / 26, 24 / 26])


def test_pair_builders():
    assert window_pairs(1)[0] == ("A", "B") and len(window_pairs(1)) == 25
    assert window_pairs(3)[-1] == ("WXY", "Z")
    assert prefix_pairs()[1] == ("AB", "C") and len(prefix_pairs()) == 25
    assert all(1 <= len(run) <= 5 for run, _ in random_run_pairs(1000, 5))


def test_every_framing_builds():
    assert len(FRAMINGS) == 8
    for framing in FRAMINGS.values():
        assert len(build_dataset(framing)) > 0
