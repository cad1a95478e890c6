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


def test_the_outcome_fails_on_a_missed_injection_or_a_false_alarm_and_tallies_both():
    from alphabench import abtest

    caught = selftest.Judgement("upgrade", (verdict.Failure("accuracy", "line", "expectation"),))
    missed, quiet = selftest.Judgement("same environment", ()), selftest.Judgement("upgrade", ())
    same = abtest.Comparison(((100.0, 100.0),) * 8)
    injected = selftest.Caught(selftest.INJECTIONS[0], "fast", (missed, caught))
    outcome = selftest.Outcome((injected,), ((quiet,),), same)
    assert outcome.missed == 1 and outcome.alarms == 0 and outcome.exit_status == 1
    assert "| Adam learning rate 10x lower | timestep_window (fast) | MISSED | caught: expectation |" in outcome.lines()
    assert outcome.lines()[-1] == "\nselftest: 1/2 injections caught (injection x regime), 0 false alarms in 3 unchanged judgements"
    all_caught = selftest.Caught(selftest.INJECTIONS[0], "fast", (caught, caught))
    assert selftest.Outcome((all_caught,), ((quiet,),), same).exit_status == 0
    alarmed = selftest.Outcome((all_caught,), ((caught,),), same)
    assert alarmed.alarms == 1 and alarmed.exit_status == 1
    assert "  FALSE ALARM: line" in alarmed.lines()
    slowdown = next(i for i in selftest.INJECTIONS if i.slowdown)
    timed = selftest.Caught(slowdown, "fast", (missed, missed), abtest.Comparison(((100.0, 85.0),) * 8))
    assert f"| {slowdown.name} (A/B: 0.85x, p = 0.0039) | {slowdown.framing} (fast) | MISSED | MISSED |" in \
        selftest.Outcome((timed,), (), same).lines()
