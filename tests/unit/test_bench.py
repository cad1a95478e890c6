"""The benchmark's table: what it prints from measured rows (the timing itself is the slow tier's)."""

from alphabench import bench


def row(**overrides) -> bench.PathComparison:
    measured = {
        "framing": "one_char", "seeds": list(range(1, 11)),
        "fast_environment": "keras3-jax", "reference_environment": "keras3-tensorflow",
        "reference_epochs": 500, "extrapolated": False,
        "fast_seconds": 20.0, "reference_seconds": 400.0, "speedup": 20.0, "fast_one_seed_seconds": 10.0,
        "fast_steps_per_second": 6250.0, "reference_steps_per_second": 312.5,
        "fast_accuracy": [0.84] * 6 + [0.80] * 4, "reference_accuracy": [0.80] * 6 + [0.84] * 4,
        "samples": 25, "fast_peak_rss_mb": 800.0, "reference_peak_rss_mb": 700.0,
    }
    return bench.PathComparison.from_dict({**measured, **overrides})


def test_the_table_shows_speedup_seed_scaling_and_the_accuracy_shift_in_samples():
    header, first, total = bench.table([row()]).splitlines()
    assert header.split()[:4] == ["framing", "seeds", "reference", "s"]
    cells = first.split()
    assert cells[:7] == ["one_char", "10", "400.0", "20.0", "20.0x", "10.0", "2.00x"]
    assert cells[9:12] == ["80.00%", "84.00%", "+1.0"]  # medians one sample (4%) apart
    assert total == "total: reference 400.0s (keras3-tensorflow), fast 20.0s (keras3-jax), speedup 20.0x"


def test_an_extrapolated_reference_is_marked_and_explained():
    text = bench.table([row(extrapolated=True, reference_epochs=25)])
    assert "400.0*" in text and text.endswith("extrapolated per step")


def fused_row(name: str, one_seed: float, process: float, seconds: float) -> bench.FusedRow:
    return bench.FusedRow.from_dict({
        "framing": name, "seeds": list(range(1, 65)), "one_seed_seconds": one_seed,
        "one_seed_process_seconds": process, "seconds": seconds, "train_seconds": seconds / 2,
        "seed_step_microseconds": 2.5, "accuracy": [0.84] * 64, "peak_rss_mb": 900.0, "environment": "keras3-jax",
    })


def test_the_fused_total_is_the_one_seed_processs_whole_time_imports_included():
    # One seed of every framing runs in one process: its total is where that process ended, not the
    # sum of the framings' own times, which leave out the imports.
    rows = [fused_row("one_char", 2.0, 5.0, 6.0), fused_row("stateful", 3.0, 8.5, 7.0)]
    total = bench.fused_table(rows).splitlines()[-1]
    assert "one seed of every framing 8.5s in one fresh process" in total
    assert "(5.0s of it training, evaluating, probing)" in total and "all seeds 13.0s" in total


def test_rows_go_to_json_and_back_unchanged():
    for typed in (row(), fused_row("one_char", 2.0, 5.0, 6.0)):
        document = typed.to_dict()
        assert isinstance(document["seeds"], list) and type(typed).from_dict(document) == typed
