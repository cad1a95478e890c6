"""What the tutorial relies on Keras to do, checked directly: deterministic, on any machine and release.

The framings show these behaviours only through seed noise (a reset that does nothing moves the
stateful framing's epochs to 100%, a changed initialisation moves accuracy a little); checked
directly they hold or fail outright, with a line that says which. Each check builds tiny models
through Keras's public API (so a patched or broken Keras class is what it exercises) and returns
None, or what it saw instead of what must hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from alphabench import compat, trajectory
from alphabench.compat import keras
from alphabench.framings import FRAMINGS, get_framing

UNITS = 4
SEED = 11


@dataclass(frozen=True)
class Contract:
    name: str
    claim: str  # what must hold
    check: Callable[[], str | None]  # None, or what was seen instead

    def violation(self) -> str | None:
        try:
            seen = self.check()
        except Exception as error:  # a Keras that raises here breaks the contract as surely
            seen = f"checking it raised {type(error).__name__}: {error}".splitlines()[0]
        return None if seen is None else f"contract {self.name}: {self.claim}; but {seen}"


def _lstm_model(stateful: bool, time_steps: int = 1, features: int = 1, **lstm_settings):
    compat.seed_everything(SEED)
    inputs = keras.Input(shape=(time_steps, features), batch_size=1 if stateful else None)
    lstm = keras.layers.LSTM(UNITS, stateful=stateful, **lstm_settings)
    return keras.Model(inputs, lstm(inputs)), lstm


def _state(lstm) -> list[np.ndarray]:
    return [np.asarray(state) for state in lstm.states or ()]  # None: the layer keeps no state


def _reset_zeroes_the_state() -> str | None:
    model, lstm = _lstm_model(stateful=True)
    model(np.ones((1, 1, 1), "float32"))  # an eager call updates the state on every backend
    if not any(state.any() for state in _state(lstm)):
        return "a call left the state at zero, so a reset cannot be told from none"
    compat.reset_states(model)
    leftover = max(float(np.abs(state).max()) for state in _state(lstm))
    return None if leftover == 0 else f"after the reset the state's largest magnitude is {leftover:g}"


def _state_carries_between_batches_only_when_stateful() -> str | None:
    x = np.full((1, 1, 1), 0.5, "float32")
    seen = []
    for stateful in (True, False):
        model, _ = _lstm_model(stateful)
        first, second = (np.asarray(model.predict_on_batch(x)) for _ in range(2))
        carried = not np.array_equal(first, second)
        if carried != stateful:
            seen.append(f"the {'stateful' if stateful else 'stateless'} layer "
                        f"{'gave the same output' if stateful else 'gave another output'} for the same input twice")
    return "; ".join(seen) or None


def _epoch_orders(shuffle: bool) -> list[tuple[float, ...]]:
    """What three epochs of fit(batch_size=1) fed, in order, as a fingerprint per epoch.

    With a learning rate of 0 each batch's loss depends on its sample alone, so the running mean
    the batch callbacks see spells out the order in which fit fed the samples.
    """
    compat.seed_everything(SEED)
    x = np.linspace(0, 1, 25, dtype="float32").reshape(25, 1)
    y = np.eye(5, dtype="float32")[np.arange(25) % 5]
    inputs = keras.Input(shape=(1,))
    model = keras.Model(inputs, keras.layers.Dense(5, activation="softmax")(inputs))
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.SGD(learning_rate=0.0))
    recorder = _BatchLosses()
    model.fit(x, y, batch_size=1, epochs=3, shuffle=shuffle, verbose=0, callbacks=[recorder])
    return recorder.epochs


def _fit_shuffles() -> str | None:
    in_order, shuffled = _epoch_orders(False), _epoch_orders(True)
    if in_order[0] in shuffled:
        return "fit(shuffle=True) fed an epoch in the unshuffled order"
    return None


def _fit_reshuffles_every_epoch() -> str | None:
    shuffled = _epoch_orders(True)
    return "fit(shuffle=True) fed two epochs in the same order" if len(set(shuffled)) < len(shuffled) else None


class _BatchLosses(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs: list[tuple[float, ...]] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._losses = []

    def on_train_batch_end(self, batch, logs=None):
        self._losses.append(round(float(logs["loss"]), 6))

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(tuple(self._losses))


def _initial_weights_do_not_depend_on_the_path() -> str | None:
    from alphabench.data import build_dataset
    from alphabench.framings import get_framing
    from alphabench.trainer import build_model

    framing = get_framing("timestep_window")
    dataset = build_dataset(framing)
    alone = build_model(framing, dataset, seed=9).get_weights()
    build_model(framing, dataset, seed=4, name="replica_0")  # the fast path builds replicas in turn
    beside = build_model(framing, dataset, seed=9, name="replica_1").get_weights()
    differing = sum(not np.array_equal(a, b) for a, b in zip(alone, beside))
    return None if differing == 0 else f"{differing} of {len(alone)} weight arrays differ when another seed was built first"


def _lstm_initialisation_is_kerass_default() -> str | None:
    _, lstm = _lstm_model(stateful=False, time_steps=3)
    kernel, recurrent, bias = (np.asarray(w) for w in lstm.get_weights())
    seen = []
    forget_gate = np.r_[np.zeros(UNITS), np.ones(UNITS), np.zeros(2 * UNITS)]  # unit_forget_bias=True
    if not np.array_equal(bias, forget_gate):
        seen.append(f"the bias is {np.round(bias, 3).tolist()}, not 1 on the forget gate and 0 elsewhere")
    glorot_limit = np.sqrt(6 / sum(kernel.shape))
    if np.abs(kernel).max() > glorot_limit or np.abs(kernel).max() < glorot_limit / 4:
        seen.append(f"the kernel's largest magnitude {np.abs(kernel).max():.3g} is not Glorot-uniform's "
                    f"(within {glorot_limit:.3g})")
    if not np.allclose(recurrent @ recurrent.T, np.eye(UNITS), atol=1e-5):
        seen.append("the recurrent kernel is not orthogonal")
    return "; ".join(seen) or None


def _lstm_computes_the_lstm_equations() -> str | None:
    model, lstm = _lstm_model(stateful=False, time_steps=3, features=2)
    x = np.random.default_rng(SEED).uniform(-1, 1, (2, 3, 2)).astype("float32")
    kernel, recurrent, bias = (np.asarray(w, dtype="float64") for w in lstm.get_weights())
    h = c = np.zeros((2, UNITS))
    for step in range(x.shape[1]):
        z = x[:, step] @ kernel + h @ recurrent + bias
        i, f, g, o = np.split(z, 4, axis=-1)  # Keras's gate order: input, forget, cell, output
        c = _sigmoid(f) * c + _sigmoid(i) * np.tanh(g)
        h = _sigmoid(o) * np.tanh(c)
    difference = float(np.abs(np.asarray(model.predict_on_batch(x)) - h).max())
    return None if difference <= 1e-5 else f"its output differs from them by up to {difference:.3g}"


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _adams_first_step_is_its_learning_rate() -> str | None:
    # Adam's first step is learning_rate * m/(sqrt(v) + epsilon) with bias-corrected m = g, v = g^2:
    # every weight with a gradient well above epsilon moves by the learning rate (0.001 by default).
    compat.seed_everything(SEED)
    inputs = keras.Input(shape=(3,))
    model = keras.Model(inputs, keras.layers.Dense(4, activation="softmax")(inputs))
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.Adam())
    before = model.get_weights()[0]
    model.train_on_batch(np.ones((2, 3), "float32"), np.eye(4, dtype="float32")[[0, 1]])
    step = np.abs(model.get_weights()[0] - before)
    if not np.allclose(step, 0.001, rtol=1e-3):
        return f"its first steps measure {step.min():.3g} to {step.max():.3g}, not Adam's default learning rate 0.001"
    return None


CONTRACTS = (
    Contract("reset_zeroes_state", "after reset_states the recurrent state is exactly zero", _reset_zeroes_the_state),
    Contract("state_carries_between_batches", "a stateful LSTM's output for the same input changes from one "
             "batch to the next, a stateless one's does not", _state_carries_between_batches_only_when_stateful),
    Contract("fit_shuffles", "fit(shuffle=True) feeds the samples out of their order", _fit_shuffles),
    Contract("fit_reshuffles", "fit(shuffle=True) feeds every epoch in a new order", _fit_reshuffles_every_epoch),
    Contract("same_initial_weights", "a seed's initial weights are the same alone and as a fast-path replica",
             _initial_weights_do_not_depend_on_the_path),
    Contract("lstm_initialisation", "a new LSTM has Keras's documented initialisation (Glorot-uniform kernel, "
             "orthogonal recurrent kernel, forget-gate bias 1)", _lstm_initialisation_is_kerass_default),
    Contract("lstm_equations", "an LSTM computes the LSTM equations (sigmoid gates, tanh cell)",
             _lstm_computes_the_lstm_equations),
    Contract("adam_step", "Adam's first step moves each weight by its default learning rate",
             _adams_first_step_is_its_learning_rate),
)


def _follows_the_golden_trajectory(framing: str) -> Callable[[], str | None]:
    def check() -> str | None:
        from alphabench import trainer

        golden = trajectory.load().get(framing)
        if golden is None:
            return (f"alphabench ships no golden trajectory for {framing} (record one with "
                    f"`{trajectory.RECORD_COMMAND} {framing}`, in a checkout of alphabench)")
        departure = trajectory.compare(golden, trainer.trajectory(get_framing(framing)))
        return departure.line() if departure.broken else None

    return check


# One per framing: Keras's train step, step by step, against golden values (alphabench.trajectory).
CONTRACTS += tuple(
    Contract(f"trajectory_{name}", f"{trajectory.STEPS} train steps of {name} from fixed weights follow the "
             f"golden losses and weights within {trajectory.TOLERANCE:g}", _follows_the_golden_trajectory(name))
    for name in FRAMINGS
)


def get_contract(name: str) -> Contract:
    return next(contract for contract in CONTRACTS if contract.name == name)
