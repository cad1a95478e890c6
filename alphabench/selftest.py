"""Proof that the gate works: inject regressions into Keras at run time and check that each is caught;
rerun unchanged and check that nothing is.

Each injection patches a public Keras class for the duration of one fresh Session, i.e. exactly as a
broken Keras release would behave, and is judged the way `alphabench run` judges: a framing
expectation it breaks, or a regression finding against the committed baseline.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from unittest import mock

from alphabench.session import Session


@dataclass(frozen=True)
class Injection:
    name: str
    framing: str
    path: str
    seeds: tuple[int, ...]
    patch: object  # () -> context manager applying the regression

    def run(self, baselines: str) -> list[str]:
        """What the gate says about the injected run: one line per failure, if the verdict fails it."""
        with self.patch():
            session = Session(seeds=self.seeds, path=self.path, baselines=baselines)
            return alarms(session, self.framing)


def alarms(session: Session, framing: str) -> list[str]:
    """The verdict's failure lines, where it fails the run (alphabench.verdict decides)."""
    verdict = session.verdict(framing)
    return verdict.lines() or [verdict.status] if verdict.fails_run else []


def _lower_adam_learning_rate():
    from alphabench.compat import keras

    adam = keras.optimizers.Adam
    return mock.patch.object(keras.optimizers, "Adam", lambda *a, **k: adam(*a, **{"learning_rate": 1e-4, **k}))


@contextlib.contextmanager
def _state_reset_does_nothing():
    from alphabench.compat import keras

    with contextlib.ExitStack() as stack:
        for method in ("reset_state", "reset_states"):
            if hasattr(keras.layers.RNN, method):
                stack.enter_context(mock.patch.object(keras.layers.RNN, method, lambda self, *a, **k: None))
        yield


def _fit_wrapped(change):
    from alphabench.compat import keras

    fit = keras.Model.fit

    def patched(self, *args, **kwargs):
        return fit(self, *args, **change(kwargs))

    return mock.patch.object(keras.Model, "fit", patched)


def _fit_ignores_shuffle():
    return _fit_wrapped(lambda kwargs: {**kwargs, "shuffle": False})


def _training_step_twice_as_slow():
    from alphabench.compat import keras

    class TwiceAsSlow(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            self.started = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            time.sleep(time.perf_counter() - self.started)

    return _fit_wrapped(lambda kwargs: {**kwargs, "callbacks": [*(kwargs.get("callbacks") or []), TwiceAsSlow()]})


INJECTIONS = (
    Injection("Adam learning rate 10x lower", "timestep_window", "fast", (1, 2, 3), _lower_adam_learning_rate),
    Injection("stateful state reset does nothing", "stateful", "fast", (1, 2, 3), _state_reset_does_nothing),
    Injection("fit ignores shuffle=True", "timestep_window", "reference", (1,), _fit_ignores_shuffle),
    Injection("training step twice as slow", "one_char", "fast", (1, 2, 3), _training_step_twice_as_slow),
)
# The unchanged reruns train the cheapest framing: every rule (exact reproduction, throughput) applies.
RERUN_FRAMING = "one_char"


def rerun_unchanged(reruns: int, baselines: str) -> list[list[str]]:
    """Alarms of each of `reruns` unchanged runs (each should be empty)."""
    return [alarms(Session(baselines=baselines), RERUN_FRAMING) for _ in range(reruns)]
