"""The self-test's bookkeeping (its runs are the slow tier's and `alphabench selftest`'s)."""

from alphabench import selftest, verdict


def test_a_judgement_names_the_rules_that_caught_the_injection_once_each():
    failures = (
        verdict.Failure("accuracy", "timestep_window: median accuracy 17.39% < required 100.00%", "expectation"),
        verdict.Failure("baseline", "REGRESSION timestep_window accuracy[seed 1]: ...", "accuracy[seed 1]"),
        verdict.Failure("baseline", "REGRESSION timestep_window accuracy[seed 2]: ...", "accuracy[seed 2]"),
        verdict.Failure("contract", "contract adam_step: ...", "adam_step"),
    )
    judgement = selftest.Judgement("upgrade", failures)
    assert judgement.caught and judgement.rules == ["expectation", "exact", "contract adam_step"]
    assert not selftest.Judgement("upgrade", ()).caught


def test_every_injection_is_named_once_and_the_fit_ones_are_left_out_of_the_fused_path():
    names = [injection.name for injection in selftest.INJECTIONS]
    assert len(names) == len(set(names)) == 13
    fused = object.__new__(selftest.Selftest)
    fused.path = "fused"
    left = [injection.name for injection in selftest.INJECTIONS if fused.applies(injection)]
    assert left == names[:3] + names[4:10]  # not fit's shuffle, not the slowed fit steps


def test_a_judgement_names_the_broken_trajectories_once_with_their_count():
    from alphabench import verdict

    failures = tuple(verdict.Failure("contract", "seen", name)
                     for name in ("adam_step", "trajectory_one_char", "trajectory_stateful"))
    assert selftest.Judgement("upgrade", failures).rules == ["contract adam_step", "trajectories (2 framings)"]
    one = selftest.Judgement("upgrade", failures[1:2])
    assert one.rules == ["contract trajectory_one_char"]
