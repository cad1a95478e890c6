"""Train a framing through Keras's public training API and describe the outcome as typed records.

Two paths train the same model (one LSTM layer, Dense(26, softmax), categorical cross-entropy, Adam
with its defaults) for the same number of optimiser steps of the same batch size:

reference  the tutorial's calls: one `fit(..., shuffle=...)` per seed; for the stateful framing one
           `fit(epochs=1)` per epoch followed by a state reset. Slow (a Python round trip per step),
           and the comparison point for everything else.
fast       all seeds at once: each seed is its own sub-model (own initialisation), and the sub-models
           are trained side by side as the outputs of one model whose loss is the sum of theirs.
           A sum's gradient with respect to a replica's weights is that replica's own gradient, and
           Adam updates each weight from its own gradient alone, so every replica follows exactly the
           trajectory it would follow alone. Each replica gets its own shuffling order (drawn here,
           per epoch, from its seed), the epochs run in one `fit` call reading one iterator over
           the pre-ordered data, `steps_per_execution` runs up to an epoch's steps per call (at
           most compat.MAX_STEPS_PER_EXECUTION), and the stateful reset happens in an
           `on_epoch_end` callback.
           Equivalent in distribution to the reference (fit's own shuffle draws other orders), and
           exactly equal to itself with one replica or many (tests/training/test_equivalence.py).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Sequence

import numpy as np

from alphabench import compat
from alphabench.calibration import IntervalClock, typical_interval
from alphabench.compat import keras
from alphabench.errors import UsageError
from alphabench.data import ALPHABET, CLASSES, Dataset, build_dataset, encode, random_pattern_indices, steps_per_epoch
from alphabench.framings import TRAINING_PATHS, Framing
from alphabench.results import SeedResult, Settings
from alphabench.trajectory import GOLDEN_SEED, STEPS, Trajectory

RANDOM_PATTERNS = 20  # the tutorial predicts 20 randomly drawn patterns
BATCH_INDEPENDENCE_SAMPLES = 25

Progress = Callable[[int, int], None]  # (epochs done, epochs in all)


def build_model(framing: Framing, dataset: Dataset, seed: int, name: str = "model", compiled: bool = True):
    """The tutorial's network for `framing`, initialised from `seed` (and compiled, unless told not to)."""
    compat.seed_everything(seed)
    time_steps, features = dataset.x.shape[1:]
    inputs = keras.Input(shape=(time_steps, features), batch_size=1 if framing.stateful else None)
    hidden = keras.layers.LSTM(framing.units, stateful=framing.stateful)(inputs)
    outputs = keras.layers.Dense(CLASSES, activation="softmax")(hidden)
    model = keras.Model(inputs, outputs, name=name)
    if compiled:
        compile_model(model)
    return model


def compile_model(model) -> None:
    model.compile(loss="categorical_crossentropy", optimizer=keras.optimizers.Adam(), metrics=["accuracy"])


def train(
    framing: Framing, seeds: Sequence[int], path: str = "fast", progress: Progress | None = None
) -> list[SeedResult]:
    """Train `framing` once per seed and return one result per seed."""
    check_path(path)
    if not seeds or len(set(seeds)) != len(seeds):
        raise UsageError(f"need one or more distinct seeds, got {list(seeds)}")
    compat.enable_determinism()
    compat.use_one_cpu_thread()
    dataset = build_dataset(framing)
    runner = {"fast": _train_fast, "reference": _train_reference, "fused": _train_fused}[path]
    models, histories, seconds, epochs = runner(framing, dataset, list(seeds), progress)
    # Models trained together: all seeds on the fast and fused paths, one at a time on the reference.
    models_per_epoch = 1 if path == "reference" else len(models)
    environment = compat.fingerprint()
    settings = Settings(framing.units, framing.epochs, framing.batch_size or len(dataset), framing.shuffle,
                        framing.stateful)
    # Optimiser steps (all models trained together) per second of a median epoch: a neighbour's burst
    # of load slows some epochs, a real slowdown every one; compilation is left out.
    typical_epoch = typical_interval(epochs)
    steps_per_second = _steps_per_second(framing, models_per_epoch, typical_epoch)
    results = []
    for seed, model, (loss, accuracy) in zip(seeds, models, histories):
        if path == "fused":  # a seed's weights in the first model: one compiled evaluation serves all
            models[0].set_weights(model.get_weights())
            model = models[0]
        results.append(
            SeedResult(
                framing=framing.name,
                path=path,
                seed=seed,
                settings=settings,
                accuracy=evaluate(framing, model, dataset),
                epochs_to_100=epochs_to_full_accuracy(accuracy),
                loss_history=loss,
                accuracy_history=accuracy,
                probes=run_probes(framing, model, dataset, seed),
                replicas=len(seeds),
                train_seconds=round(seconds, 3),
                steps_per_second=steps_per_second,
                environment=environment,
                other_load=typical_epoch.other_cores,
            )
        )
    return results


def trajectory(framing: Framing, steps: int = STEPS, seed: int = GOLDEN_SEED) -> Trajectory:
    """Keras's own train step, `steps` times, from fixed initial weights (alphabench.trajectory)."""
    compat.enable_determinism()
    compat.use_one_cpu_thread()
    dataset = build_dataset(framing)
    model = build_model(framing, dataset, seed)
    # The loss object the fused path uses too (a string would bypass a change to the public class).
    model.compile(loss=keras.losses.CategoricalCrossentropy(), optimizer=keras.optimizers.Adam())
    model.set_weights(_fixed_initial_weights(model, seed))
    batch_size = framing.batch_size or len(dataset)
    batches = _sample_order(framing, len(dataset), seed)[: steps * batch_size].reshape(steps, batch_size)
    epoch_steps = steps_per_epoch(framing)
    losses = []
    for step, batch in enumerate(batches):
        if framing.stateful and step % epoch_steps == 0:
            compat.reset_states(model)
        model.reset_metrics()  # Keras 3 reports the running mean over calls otherwise
        logs = model.train_on_batch(dataset.x[batch], dataset.y[batch], return_dict=True)
        losses.append(float(logs["loss"]))
    weights = [np.asarray(w, np.float64) for w in model.get_weights()]
    made_with = f"Keras {keras.__version__}, {compat.BACKEND} {compat.backend_version()}, {compat.cpu_model()}"
    return Trajectory(framing.name, tuple(losses), tuple(float(w.sum()) for w in weights),
                      tuple(float(np.abs(w).sum()) for w in weights), made_with)


def _fixed_initial_weights(model, seed: int) -> list[np.ndarray]:
    """Glorot-uniform-sized draws for every array from NumPy: the same on every backend and release."""
    rng = np.random.default_rng(seed)
    weights = []
    for array in model.get_weights():
        limit = math.sqrt(6 / sum(array.shape)) if array.ndim == 2 else 0.1
        weights.append(rng.uniform(-limit, limit, array.shape).astype(array.dtype))
    return weights


def _steps_per_execution(epoch_steps: int) -> int:
    """The largest divisor of an epoch's steps within the cap, so executions never straddle epochs."""
    return max(d for d in range(1, min(epoch_steps, compat.MAX_STEPS_PER_EXECUTION) + 1) if epoch_steps % d == 0)


def _train_reference(framing, dataset, seeds, progress):
    models, histories, seconds, clock = [], [], 0.0, IntervalClock()
    batch_size = framing.batch_size or len(dataset)
    for seed in seeds:
        model = build_model(framing, dataset, seed)
        start = time.perf_counter()
        if framing.stateful:
            logs = {"loss": [], "accuracy": []}
            for epoch in range(framing.epochs):
                clock.start()
                history = model.fit(dataset.x, dataset.y, epochs=1, batch_size=batch_size, shuffle=False, verbose=0)
                compat.reset_states(model)
                clock.stop()
                for key in logs:
                    logs[key] += history.history[key]
                _report(progress, epoch + 1, framing.epochs)
        else:
            callbacks = [_EpochClock(clock)] + ([_ProgressCallback(progress, framing.epochs)] if progress else [])
            logs = model.fit(
                dataset.x,
                dataset.y,
                epochs=framing.epochs,
                batch_size=batch_size,
                shuffle=framing.shuffle,
                verbose=0,
                callbacks=callbacks,
            ).history
        seconds += time.perf_counter() - start
        models.append(model)
        histories.append(_rounded_history(logs["loss"], logs["accuracy"]))
    return models, histories, seconds, clock.intervals


def _train_fast(framing, dataset, seeds, progress):
    models, fit = _fast_replicas(framing, dataset, seeds)
    clock = IntervalClock()
    start = time.perf_counter()
    logs = fit(clock, progress)
    seconds = time.perf_counter() - start
    if not compat.NESTS_COMPILED_MODELS:
        for model in models:
            compile_model(model)
    return models, [_replica_history(logs, m.name, len(models)) for m in models], seconds, clock.intervals


def _fast_replicas(framing, dataset, seeds):
    """The fast path's replicas, compiled: (their models, fit(clock, progress) -> the history of one
    more fit over the framing's epochs). Keras keeps a compiled model's train function from one fit
    to the next, so only the first fit compiles."""
    models = [build_model(framing, dataset, seed, name=f"replica_{i}", compiled=compat.NESTS_COMPILED_MODELS)
              for i, seed in enumerate(seeds)]
    inputs = [keras.Input(batch_shape=m.inputs[0].shape, name=f"x{i}") for i, m in enumerate(models)]
    replicas = keras.Model(inputs, [m(x) for m, x in zip(models, inputs)], name="replicas")
    epoch_steps = steps_per_epoch(framing)
    replicas.compile(
        loss=_per_output({m.name: "categorical_crossentropy" for m in models}),
        optimizer=keras.optimizers.Adam(),
        metrics=_per_output({m.name: ["accuracy", *compat.output_loss_metrics()] for m in models}),
        steps_per_execution=_steps_per_execution(epoch_steps),
        jit_compile=compat.JIT_COMPILE,
    )
    orders = [_sample_order(framing, len(dataset), seed) for seed in seeds]
    x = _per_output({x.name: dataset.x[order] for x, order in zip(inputs, orders)})
    y = _per_output({m.name: dataset.y[order] for m, order in zip(models, orders)})

    def fit(clock: IntervalClock, progress: Progress | None = None) -> dict:
        callbacks = [_EpochClock(clock)] + ([_ProgressCallback(progress, framing.epochs)] if progress else [])
        if framing.stateful:
            callbacks.append(_ResetStatesAfterEachEpoch())
        return replicas.fit(
            x,
            y,
            batch_size=framing.batch_size or len(dataset),
            epochs=framing.epochs,
            # The arrays hold every epoch's samples in that epoch's order; with steps_per_epoch set, fit
            # keeps reading one iterator from epoch to epoch instead of building a new one each epoch
            # (which costs more than batch_state's whole one-step epoch).
            steps_per_epoch=epoch_steps,
            shuffle=False,
            verbose=0,
            callbacks=callbacks,
        ).history

    return models, fit


def throughput_rounds(framing: Framing, seeds: Sequence[int]) -> Iterator[float]:
    """The fast path's optimiser steps per second (all replicas, a median epoch, as `train` reports
    them), once per round, without end: the replicas are built and compiled once and each round fits
    them for the framing's epochs once more. A/B rounds then cost their training alone, not a build
    and a compilation each (minutes a round for an old JAX's jit)."""
    compat.enable_determinism()
    compat.use_one_cpu_thread()
    dataset = build_dataset(framing)
    _, fit = _fast_replicas(framing, dataset, list(seeds))
    while True:
        clock = IntervalClock()
        fit(clock)
        yield _steps_per_second(framing, len(seeds), typical_interval(clock.intervals))


def _steps_per_second(framing: Framing, models_per_epoch: int, typical_epoch) -> float:
    return round(steps_per_epoch(framing) * models_per_epoch / typical_epoch.seconds, 1)


def check_path(path: str) -> None:
    """UsageError unless this environment can train on `path`: cheap, so callers check before training."""
    if path not in TRAINING_PATHS:
        raise UsageError(f"unknown training path {path!r}; choose from {TRAINING_PATHS}")
    if path == "fused" and not compat.FUSED:
        raise UsageError(f"{compat.NOT_FUSED}: set KERAS_BACKEND=jax or tensorflow with Keras 3, "
                         "or use --path fast")


def _train_fused(framing, dataset, seeds, progress):
    from alphabench import fused

    models = [build_model(framing, dataset, seed, name=f"seed_{seed}") for seed in seeds]
    orders = [_sample_order(framing, len(dataset), seed) for seed in seeds]
    histories, seconds, epochs = fused.train(framing, dataset, models, orders, progress)
    rounded = [_rounded_history(loss, accuracy) for loss, accuracy in histories]
    return models, rounded, seconds, epochs


def _per_output(by_name: dict):
    """Inputs, targets, losses and metrics keyed by name for several replicas, which every Keras from
    tf-keras to 3.x pairs up alike (tf-keras cannot pair metric dicts with target lists); the bare
    value for one, as a single-output model wants it."""
    return by_name if len(by_name) > 1 else next(iter(by_name.values()))


def _replica_history(logs: dict, name: str, replicas: int) -> dict:
    # Keras names a multi-output model's metrics after the output; a lone output's carry no prefix.
    if replicas == 1:
        return _rounded_history(logs["loss"], logs["accuracy"])
    return _rounded_history(logs[f"{name}_{compat.OUTPUT_LOSS}"], logs[f"{name}_accuracy"])


def _sample_order(framing: Framing, samples: int, seed: int) -> np.ndarray:
    """Sample indices for the whole run: per epoch, a permutation drawn from the seed, or in order."""
    if not framing.shuffle:
        return np.tile(np.arange(samples), framing.epochs)
    rng = np.random.default_rng(seed)
    return np.concatenate([rng.permutation(samples) for _ in range(framing.epochs)])


class _ResetStatesAfterEachEpoch(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        compat.reset_states(self.model)


class _EpochClock(keras.callbacks.Callback):
    """Times every epoch on `clock`."""

    def __init__(self, clock: IntervalClock):
        super().__init__()
        self._clock = clock

    def on_epoch_begin(self, epoch, logs=None):
        self._clock.start()

    def on_epoch_end(self, epoch, logs=None):
        self._clock.stop()


class _ProgressCallback(keras.callbacks.Callback):
    def __init__(self, progress: Progress, epochs: int):
        super().__init__()
        self._progress, self._epochs = progress, epochs

    def on_epoch_end(self, epoch, logs=None):
        _report(self._progress, epoch + 1, self._epochs)


def _report(progress: Progress | None, done: int, total: int) -> None:
    if progress:
        progress(done, total)


def _rounded_history(loss, accuracy) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """(loss per epoch, accuracy per epoch)."""
    return tuple(round(float(v), 6) for v in loss), tuple(round(float(v), 6) for v in accuracy)


def epochs_to_full_accuracy(accuracy_per_epoch: Sequence[float]) -> int | None:
    """The first epoch (1-based) whose training accuracy reached 100%, or None."""
    for epoch, accuracy in enumerate(accuracy_per_epoch, start=1):
        if accuracy >= 1.0:
            return epoch
    return None


def evaluate(framing: Framing, model, dataset: Dataset) -> float:
    """Accuracy on the training set, as the tutorial reports it (stateful: in order, from a reset)."""
    compat.reset_states(model)
    batch_size = 1 if framing.stateful else len(dataset)
    _, accuracy = model.evaluate(dataset.x, dataset.y, batch_size=batch_size, verbose=0)
    compat.reset_states(model)
    return round(float(accuracy), 6)


def _predict_letters(model, x: np.ndarray) -> np.ndarray:
    return np.argmax(np.asarray(model.predict_on_batch(x)), axis=-1)


def recite(framing: Framing, model, first_letter: str, length: int) -> str:
    """Seed with one letter and feed each prediction back in, state carried; returns what it said."""
    compat.reset_states(model)
    letter, said = first_letter, []
    for _ in range(length):
        letter = ALPHABET[_predict_letters(model, encode([letter], framing.context, framing.layout))[0]]
        said.append(letter)
    compat.reset_states(model)
    return "".join(said)


def run_probes(framing: Framing, model, dataset: Dataset, seed: int) -> dict:
    probes = {}
    if "recite" in framing.probes:
        probes["recite"] = recite(framing, model, "A", CLASSES - 1)  # expected: B..Z
    if "cold_start" in framing.probes:
        probes["cold_start"] = recite(framing, model, "K", 5)  # the tutorial saw: BCDEF
    if "batch_independence" in framing.probes:
        probes["batch_independence"] = batch_independent(model, dataset.x[:BATCH_INDEPENDENCE_SAMPLES])
    if "random_patterns" in framing.probes:
        picked = random_pattern_indices(len(dataset), RANDOM_PATTERNS, seed)
        correct = _predict_letters(model, dataset.x[picked]) == dataset.labels[picked]
        probes["random_patterns"] = f"{int(correct.sum())}/{RANDOM_PATTERNS}"
    return probes


def batch_independent(model, x: np.ndarray) -> bool:
    """Whether each sample's prediction is the same alone as inside a batch of all of them.

    The tutorial credits batch_state's 100% to "context within the batch"; a stateless LSTM has no
    such context, and this probe checks it.
    """
    together = np.asarray(model.predict_on_batch(x))
    alone = np.concatenate([np.asarray(model.predict_on_batch(x[i : i + 1])) for i in range(len(x))])
    return bool(np.allclose(together, alone, atol=1e-5))
