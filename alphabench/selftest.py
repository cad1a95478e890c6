"""Proof that the gate works where users meet it: regressions injected into Keras, judged in two regimes.

Each injection patches a public Keras class for one fresh run, as a broken release would behave,
and the run is judged twice by the one verdict (alphabench.verdict) every command uses:

- same environment: against a baseline made by this very run, unchanged, on these seeds (same
  bits: the exact rule applies);
- upgrade: against the committed baseline of this environment, its fingerprint relabelled as
  another Keras release (what a user's upgrade meets: the cross-environment rules).

The contracts (alphabench.contracts) are checked under every injection; a slowed training step is
also measured A/B against the unchanged code in alternating rounds (alphabench.abtest). Unchanged
reruns, judged the same two ways, count the false alarms.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from unittest import mock

from alphabench import abtest, gate, verdict
from alphabench.advice import update_command
from alphabench.data import sample_count
from alphabench.errors import BaselineError
from alphabench.framings import get_framing
from alphabench.results import Baseline, BaselineEntry, SeedResult, entry_key
from alphabench.session import Session

REGIMES = ("same environment", "upgrade")
RERUN_FRAMING = "one_char"  # the cheapest framing; every rule applies to it
AB_EPOCHS = 60  # an A/B round trains one_char this long: a few seconds, most of it steady state


@dataclass(frozen=True)
class Injection:
    name: str
    framing: str
    path: str
    patch: Callable[[], contextlib.AbstractContextManager]
    slowdown: bool = False  # also measured A/B against the unchanged code


def _adam_defaults(**defaults):
    """Adam with other defaults (what a caller passes still wins), as a release that changed them."""
    from alphabench.compat import keras

    adam = keras.optimizers.Adam
    return mock.patch.object(keras.optimizers, "Adam", lambda *a, **k: adam(*a, **{**defaults, **k}))


def _crossentropy_defaults(**defaults):
    from alphabench.compat import keras

    loss = keras.losses.CategoricalCrossentropy
    return mock.patch.object(keras.losses, "CategoricalCrossentropy", lambda *a, **k: loss(*a, **{**defaults, **k}))


@contextlib.contextmanager
def _state_reset_does_nothing():
    from alphabench.compat import keras

    with contextlib.ExitStack() as stack:
        for method in ("reset_state", "reset_states"):
            if hasattr(keras.layers.RNN, method):
                stack.enter_context(mock.patch.object(keras.layers.RNN, method, lambda self, *a, **k: None))
        yield


def _lstm_settings(**settings):
    """LSTM layers built with other settings than asked for (the rest of their arguments kept)."""
    from alphabench.compat import keras

    lstm = keras.layers.LSTM
    return mock.patch.object(keras.layers, "LSTM", lambda *a, **k: lstm(*a, **{**k, **settings}))


def _fit_wrapped(change):
    from alphabench.compat import keras

    fit = keras.Model.fit

    def patched(self, *args, **kwargs):
        return fit(self, *args, **change(kwargs))

    return mock.patch.object(keras.Model, "fit", patched)


def _fit_ignores_shuffle():
    return _fit_wrapped(lambda kwargs: {**kwargs, "shuffle": False})


def _training_step_slower(factor: float):
    from alphabench.compat import keras

    class Slower(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.started = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            time.sleep((factor - 1) * (time.perf_counter() - self.started))

    return _fit_wrapped(lambda kwargs: {**kwargs, "callbacks": [*(kwargs.get("callbacks") or []), Slower()]})


INJECTIONS = (
    Injection("Adam learning rate 10x lower", "timestep_window", "fast", lambda: _adam_defaults(learning_rate=1e-4)),
    Injection("state reset does nothing", "stateful", "fast", _state_reset_does_nothing),
    Injection("stateful LSTM carries no state between batches", "stateful", "fast",
              lambda: _lstm_settings(stateful=False)),
    Injection("fit ignores shuffle=True", "timestep_window", "reference", _fit_ignores_shuffle),
    Injection("LSTM forget-gate bias initialised at 0", "timestep_window", "fast",
              lambda: _lstm_settings(unit_forget_bias=False)),
    Injection("LSTM recurrent activation hard_sigmoid", "timestep_window", "fast",
              lambda: _lstm_settings(recurrent_activation="hard_sigmoid")),
    # Changes no contract describes: only the golden trajectories and the seed populations can see them.
    Injection("Adam default beta_1 0.9 -> 0.95", "timestep_window", "fast", lambda: _adam_defaults(beta_1=0.95)),
    Injection("LSTM default activation tanh -> softsign", "timestep_window", "fast",
              lambda: _lstm_settings(activation="softsign")),
    Injection("LSTM dropout 0.1 switched on", "timestep_window", "fast", lambda: _lstm_settings(dropout=0.1)),
    Injection("cross-entropy reduction sum, not mean over the batch", "batch_state", "fast",
              lambda: _crossentropy_defaults(reduction="sum")),
    Injection("training step 1.25x slower", RERUN_FRAMING, "fast", lambda: _training_step_slower(1.25), slowdown=True),
    Injection("training step 1.5x slower", RERUN_FRAMING, "fast", lambda: _training_step_slower(1.5), slowdown=True),
    Injection("training step 2x slower", RERUN_FRAMING, "fast", lambda: _training_step_slower(2.0), slowdown=True),
)


@dataclass(frozen=True)
class Judgement:
    """What the gate said of one run in one regime."""

    regime: str
    failures: tuple[verdict.Failure, ...]

    @property
    def caught(self) -> bool:
        return bool(self.failures)

    @property
    def rules(self) -> list[str]:
        """Which rules saw it: 'contract adam_step', 'expectation', 'exact', 'accuracy', 'A/B'..."""
        names = list(dict.fromkeys(_rule_name(failure) for failure in self.failures))
        trajectories = [name for name in names if name.startswith(TRAJECTORY_RULE)]
        if len(trajectories) > 1:  # one entry for them all: "trajectories (8 framings)"
            names = [name for name in names if name not in trajectories[1:]]
            names[names.index(trajectories[0])] = f"trajectories ({len(trajectories)} framings)"
        return names


TRAJECTORY_RULE = "contract trajectory_"


def _rule_name(failure: verdict.Failure) -> str:
    if failure.check == "contract":
        return f"contract {failure.rule}"
    return "exact" if "[seed " in failure.rule else failure.rule


class Selftest:
    """One self-test: the unchanged runs it compares with, made once, and the judgements."""

    def __init__(self, baselines: str, seeds: tuple[int, ...] | None = None, ab_rounds: int = 8, path: str = "fast"):
        """`path`: the path the fast-path injections train on ("fused": 16 seeds a framing, Keras 3 on JAX or TF)."""
        self.seeds, self.ab_rounds, self.path = seeds, ab_rounds, path
        self.session = Session(seeds=seeds, baselines=baselines)
        committed = self.session.load_baseline()
        if committed is None:
            raise BaselineError(f"{self.session.baseline_file}: does not exist; the upgrade regime judges "
                                f"against it: create it with `{update_command(baselines)}`")
        self.committed = dataclasses.replace(
            committed, environment=dataclasses.replace(committed.environment, keras_version="selftest-upgrade"))
        self._unchanged: dict[str, list[SeedResult]] = {}

    def _train(self, framing: str, path: str) -> tuple[Session, list[SeedResult]]:
        seeds = (1,) if path == "reference" else self.seeds  # None: the path's default seeds
        session = Session(seeds=seeds, path=path, baselines=self.session.baselines)
        return session, session.train(framing)

    def applies(self, injection: Injection) -> bool:
        """Whether the injection can act on this self-test's path (the fused path does not call fit)."""
        return self.path != "fused" or not (injection.slowdown or injection.path == "reference")

    def path_of(self, injection: Injection) -> str:
        return self.path if injection.path == "fast" else injection.path

    def unchanged(self, framing: str, path: str) -> list[SeedResult]:
        key = entry_key(framing, path)
        if key not in self._unchanged:
            self._unchanged[key] = self._train(framing, path)[1]
        return self._unchanged[key]

    def judge(self, framing: str, path: str, session: Session, results: list[SeedResult],
              contract_failures: list[verdict.Failure], extra: list[verdict.Failure] = ()) -> list[Judgement]:
        """The run judged in both regimes, by the verdict that `alphabench run` uses."""
        key = entry_key(framing, path)
        calibration = self.session.calibration
        here = Baseline(results[0].environment, calibration,
                        {key: BaselineEntry.from_results(self.unchanged(framing, path), calibration)})
        expected = session.expectations(framing)
        judgements = []
        for regime, baseline in zip(REGIMES, (here, self.committed)):
            findings = gate.compare_all(baseline, {key: results}, calibration, {key: sample_count(get_framing(framing))})
            failures = verdict.failures_of(framing, session.summary(framing), findings, path)
            decided = verdict.judge(framing, [*failures, *contract_failures, *extra], expected)
            judgements.append(Judgement(regime, tuple(decided.unexpected_failures)))
        return judgements

    def contract_failures(self) -> list[verdict.Failure]:
        from alphabench.contracts import CONTRACTS

        judged = [self.session.contract_verdict(contract.name) for contract in CONTRACTS]
        return [failure for v in judged for failure in v.unexpected_failures]

    def inject(self, injection: Injection) -> Caught:
        path = self.path_of(injection)
        self.unchanged(injection.framing, path)  # made before the patch
        with injection.patch():
            session, results = self._train(injection.framing, path)
            contracts = self.contract_failures()
        extra, comparison = [], None
        if injection.slowdown:
            comparison = self.ab(injection.patch)
            if comparison.regressed:
                extra.append(verdict.Failure("baseline", comparison.line("unchanged", injection.name), "A/B"))
        return Caught(injection, path, tuple(self.judge(injection.framing, path, session, results, contracts, extra)),
                      comparison)

    def ab(self, patch: Callable[[], contextlib.AbstractContextManager] | None) -> abtest.Comparison:
        """The unchanged fast path against the same under `patch` (None: unchanged too), in turns."""
        framing = get_framing(RERUN_FRAMING).with_settings(epochs=AB_EPOCHS)
        seeds = self.seeds or framing.seeds

        def throughput(patched: bool) -> float:
            from alphabench import trainer

            with patch() if patched and patch else contextlib.nullcontext():
                return trainer.train(framing, seeds)[0].steps_per_second

        return abtest.Comparison(tuple(abtest.interleaved(lambda: throughput(False), lambda: throughput(True),
                                                          self.ab_rounds)))

    def rerun_unchanged(self) -> list[Judgement]:
        session, results = self._train(RERUN_FRAMING, self.path)
        return self.judge(RERUN_FRAMING, self.path, session, results, self.contract_failures())


@dataclass(frozen=True)
class Caught:
    """One injection's row of the table: how each regime judged it."""

    injection: Injection
    path: str
    judgements: tuple[Judgement, ...]
    ab: abtest.Comparison | None = None  # a slowdown's A/B against the unchanged path: what it measured

    def cells(self) -> tuple[str, ...]:
        shown = [f"caught: {', '.join(j.rules)}" if j.caught else "MISSED" for j in self.judgements]
        measured = f" (A/B: {self.ab.ratio:.2f}x, p = {self.ab.p_value:.2g})" if self.ab else ""
        return (self.injection.name + measured, f"{self.injection.framing} ({self.path})", *shown)


@dataclass(frozen=True)
class Outcome:
    """What `alphabench selftest` found, and its exit status: 1 if an injection was missed in a
    regime or an unchanged run raised an alarm, else 0."""

    caught: tuple[Caught, ...]
    reruns: tuple[tuple[Judgement, ...], ...]  # each unchanged rerun, judged in every regime
    unchanged_ab: abtest.Comparison  # one_char against itself

    @property
    def missed(self) -> int:
        return sum(not j.caught for row in self.caught for j in row.judgements)

    @property
    def false_alarms(self) -> Mapping[str, list[Judgement]]:
        return {regime: [j for run in self.reruns for j in run if j.regime == regime and j.caught] for regime in REGIMES}

    @property
    def alarms(self) -> int:
        return sum(len(a) for a in self.false_alarms.values()) + self.unchanged_ab.slower

    @property
    def exit_status(self) -> int:
        return 1 if self.missed or self.alarms else 0

    def lines(self) -> list[str]:
        """The table (injection x regime), the false alarms, the tally."""
        shown = ["| injected into Keras | framing (path) | " + " | ".join(REGIMES) + " |",
                 "|---|---|" + "---|" * len(REGIMES)]
        shown += ["| " + " | ".join(row.cells()) + " |" for row in self.caught] + [""]
        for regime, alarms in self.false_alarms.items():
            shown.append(f"unchanged reruns, {regime}: {len(alarms)}/{len(self.reruns)} raised an alarm")
            shown += [f"  FALSE ALARM: {judgement.failures[0].line}" for judgement in alarms]
        shown.append(f"A/B, unchanged against itself: {self.unchanged_ab.line('unchanged', 'unchanged')}")
        judged = len(self.caught) * len(REGIMES)
        shown.append(f"\nselftest: {judged - self.missed}/{judged} injections caught (injection x regime), "
                     f"{self.alarms} false alarms in {len(self.reruns) * len(REGIMES) + 1} unchanged judgements")
        return shown


def run(test: Selftest, reruns: int, log: Callable[[str], None] = print) -> Outcome:
    """Every injection that applies to the test's path, then `reruns` unchanged reruns and one A/B."""
    caught = []
    for injection in filter(test.applies, INJECTIONS):
        log(f"injecting: {injection.name} ({injection.framing}) ...")
        caught.append(test.inject(injection))
    log(f"rerunning {RERUN_FRAMING} unchanged {reruns} times ...")
    unchanged = tuple(tuple(test.rerun_unchanged()) for _ in range(reruns))
    log(f"A/B: {RERUN_FRAMING} unchanged against itself, {test.ab_rounds} rounds ...")
    return Outcome(tuple(caught), unchanged, test.ab(None))
