"""The cross-environment report: which differences between environments' baselines it flags."""

from __future__ import annotations

import dataclasses

from alphabench import environments
from alphabench.results import Baseline, BaselineEntry, Settings
from fakes import ENVIRONMENT, RECITED


def entry(accuracies=(0.80, 0.84, 0.84), recite=RECITED, throughput=200.0) -> BaselineEntry:
    return BaselineEntry(
        path="fast",
        settings=Settings(units=50, epochs=300, batch_size=1, shuffle=False, stateful=True),
        seeds=tuple(range(1, len(accuracies) + 1)),
        accuracy=tuple(accuracies),
        epochs_to_100=(None,) * len(accuracies),
        probes=({"recite": recite},) * len(accuracies),
        final_loss=(1.0,) * len(accuracies),
        steps_per_second=throughput * 10,
        normalised_throughput=throughput,
        loss_curve=(1.0,),
        accuracy_curve=(0.5,),
    )


def document(environment: str, **framings) -> Baseline:
    # Measured on Keras 3.15.1, like the deviations on record.
    fingerprint = dataclasses.replace(ENVIRONMENT, environment=environment, keras_version="3.15.1")
    return Baseline(fingerprint, 0.1, framings)


def three_environments(third="keras3-oldest", **third_framings) -> dict[str, dict]:
    return {
        "keras3-tensorflow": document("keras3-tensorflow", stateful=entry()),
        "keras2-tensorflow": document("keras2-tensorflow", stateful=entry((0.84, 0.84, 0.88))),
        third: document(third, **third_framings),
    }


def test_seeds_that_overlap_the_other_environments_are_not_flagged():
    # stateful has 25 samples: 0.76 is one sample below the others' worst seed (0.80), but 0.84 overlaps.
    assert environments.flags(three_environments(stateful=entry((0.72, 0.76, 0.84)))) == []


def test_seeds_all_beyond_the_other_environments_by_a_sample_are_flagged():
    [flag] = environments.flags(three_environments(stateful=entry((0.72, 0.76, 0.76))))
    assert (flag.environment, flag.entry) == ("keras3-oldest", "stateful")
    assert flag.what == "every seed below every other environment's: 76.00% (72.00%-76.00%, 3 seeds), others 80.00%-88.00%"
    [flag] = environments.flags(three_environments(stateful=entry((0.92, 0.96, 1.0))))
    assert flag.what.startswith("every seed above")


def test_a_different_probe_majority_is_flagged():
    [flag] = environments.flags(three_environments(stateful=entry(recite="BCDEF")))
    assert flag.what == f"probe recite: most seeds 'BCDEF', usual {RECITED!r}"


def test_only_a_large_throughput_gap_is_flagged():
    assert environments.flags(three_environments(stateful=entry(throughput=110.0))) == []
    [flag] = environments.flags(three_environments(stateful=entry(throughput=50.0)))
    assert flag.what == "throughput 0.25x the median environment's"


def test_a_throughput_explanation_can_be_the_reference_paths_alone():
    def slow_on_keras3_tensorflow(entry_name):
        speeds = {"keras3-tensorflow": 50.0, "keras2-tensorflow": 200.0, "keras3-oldest": 200.0}
        return {env: document(env, **{entry_name: entry(throughput=speed)}) for env, speed in speeds.items()}

    [fast] = environments.flags(slow_on_keras3_tensorflow("stateful"))
    assert fast.explained is None  # no explanation on record for keras3-tensorflow's fast path
    [reference] = environments.flags(slow_on_keras3_tensorflow("stateful@reference"))
    assert reference.environment == "keras3-tensorflow" and "make_iterator" in reference.explained


def test_a_missing_entry_is_flagged_with_its_known_deviation():
    documents = three_environments()
    documents["keras3-torch"] = document("keras3-torch")
    documents["keras3-oldest"] = document("keras3-oldest", stateful=entry())
    [flag] = environments.flags(documents)
    assert (flag.environment, flag.what) == ("keras3-torch", "missing, present in keras3-tensorflow, keras2-tensorflow, keras3-oldest")
    assert "Variable.assign" in flag.explained  # the recorded cause, shown with the flag
    assert "(explained: Keras 3's PyTorch backend cannot train a stateful LSTM" in flag.line()


def test_a_flag_says_which_known_deviation_explains_it_or_that_none_does():
    [flag] = environments.flags(three_environments(stateful=entry((0.4, 0.4, 0.4))))
    assert flag.explained is None and flag.line().endswith("(not explained yet)")
    [flag] = environments.flags(three_environments("keras3-jax", stateful=entry((0.4, 0.4, 0.4))))
    assert "untracked" in flag.explained and flag.line().startswith("keras3-jax stateful: every seed below")


def test_the_report_lists_every_environment_and_marks_flagged_rows():
    text = environments.markdown(three_environments())
    assert "## Differences (1)" in text
    assert "| keras3-oldest | not in baseline | | | | yes |" in text
    assert "| keras3-tensorflow | 84.00% (80.00%-84.00%, 3 seeds) | never | recite='BCDEFGHIJKLMNOPQRSTUVWXYZ' 3/3 | 2000 (200) |  |" in text


def test_an_entry_only_one_environment_has_is_flagged_missing_in_the_others():
    documents = {"keras3-tensorflow": document("keras3-tensorflow", stateful=entry()),
                 "keras2-tensorflow": document("keras2-tensorflow")}
    [flag] = environments.flags(documents)
    assert (flag.environment, flag.what) == ("keras2-tensorflow", "missing, present in keras3-tensorflow")


def test_the_report_writes_each_explanation_once_as_a_note():
    documents = three_environments("keras3-jax", stateful=entry((0.4, 0.4, 0.4), recite="BBBB"))
    text = environments.markdown(documents)
    assert text.count("untracked") == 1  # two flags (accuracy, probe), one note
    assert "- keras3-jax stateful: every seed below" in text and "(see note 1)" in text
    assert "\n1. Keras 3's JAX backend never carries" in text


def test_throughput_is_compared_only_between_environments_measured_on_one_machine():
    documents = three_environments(stateful=entry(throughput=50.0))
    elsewhere = dataclasses.replace(documents["keras3-oldest"].environment, cpu_signature="family 26 model 2 stepping 1")
    documents["keras3-oldest"] = dataclasses.replace(documents["keras3-oldest"], environment=elsewhere)
    assert environments.flags(documents) == []  # a quarter of the speed, on another machine: no flag
