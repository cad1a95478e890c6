"""The fused path: a framing's steps, for every seed, compiled into one computation (Keras 3 on JAX
or TensorFlow).

Keras builds each seed's model exactly as the fast path does (trainer.build_model, so a seed starts
from the weights it would start from alone), and Keras supplies the mathematics: the model's own
forward pass, its cross-entropy and its Adam. What Keras's trainers do not do, and this does, is put
the loop over steps inside the compiled computation (fit returns to Python every
`steps_per_execution` steps at best, and pays a dispatch per op in between). Each seed sees the fast
path's batches in the fast path's order, so its loss curve is the lone fast-path run's
(tests/training/test_equivalence.py). Each backend compiles with its own public pieces:

JAX         the stateless API (`model.stateless_call`, `optimizer.stateless_apply`) under `jax.vmap`
            over the seeds (their weights stacked on a leading axis) and `jax.lax.scan` over the
            steps: all seeds in one computation, compiled once.
TensorFlow  `model.stateless_call` and `tf.GradientTape` under `tf.vectorized_map` over the seeds
            (their weights stacked on a leading axis), Adam's `apply_gradients` on the stacked
            weights, in a `tf.function(jit_compile=True)` loop over the steps: all seeds in one
            computation, compiled once. TensorFlow's optimiser has no stateless apply to vectorise,
            and needs none: Adam updates every number from its own gradient and moments alone, so
            one Adam over the stacked weights is each seed's own Adam. The vectorised model is the
            seeds' model with its LSTM unrolled (XLA cannot vectorise the loop's tensor lists);
            the same operations, step by step. A stateful framing's state lives in the layer's
            variables, which a stateless call does not carry: its seeds run one after another
            through the model itself, each from its own initial weights and a fresh optimiser.

It never repairs what it tests: the JAX trainer threads only the model's tracked variables, so a
stateful LSTM's state is lost between batches there, and here too (deviations.py); on TensorFlow the
state carries, as in TensorFlow's fit, and is reset at each epoch's start, as the tutorial's
callback leaves it. It tests Keras's layers, loss and optimiser, not `fit`: the fast and reference
paths keep covering that. tf-keras is not fused: the same TensorFlow loop ran no faster than fit
there (README, "The fused path", has the figures).
"""

from __future__ import annotations

import time

import numpy as np

from alphabench import compat
from alphabench.calibration import IntervalClock
from alphabench.compat import keras
from alphabench.data import Dataset, steps_per_epoch
from alphabench.framings import Framing

CHUNKS = 20  # a seed's steps run in this many equal calls (at most), so that progress can be reported


def train(framing: Framing, dataset: Dataset, models: list, orders: list[np.ndarray], progress=None):
    """Train `models` (one per seed) in place on their sample `orders`; (histories, seconds, epochs),
    epochs as calibration.Interval records, each chunk's time shared among its epochs.

    Compilation is left out of `seconds`: it is paid once per framing, however many seeds.
    """
    epoch_steps = steps_per_epoch(framing)
    batch_size = framing.batch_size or len(dataset)
    epochs_per_chunk = max(d for d in range(1, max(1, framing.epochs // CHUNKS) + 1) if framing.epochs % d == 0)
    # [seed, chunk, step in chunk, sample in batch]: the sample indices of every step of the run.
    batches = np.stack(orders).reshape(len(models), -1, epochs_per_chunk * epoch_steps, batch_size)
    run = _train_jax if compat.BACKEND == "jax" else _train_tensorflow
    clock = IntervalClock()
    losses, correct, seconds = run(framing, dataset, models, batches, epoch_steps, clock, progress)
    # Keras logs an epoch's loss and accuracy as the mean over its batches, as these are.
    per_epoch = [values.reshape(len(models), framing.epochs, epoch_steps).mean(-1) for values in (losses, correct)]
    histories = [(tuple(loss_row), tuple(accuracy_row)) for loss_row, accuracy_row in zip(*per_epoch)]
    return histories, seconds, clock.intervals


def _train_jax(framing, dataset, models, batches, epoch_steps, clock, progress):
    """All seeds at once; per-step (losses, correct) as [seed, step] arrays, and training seconds."""
    import jax
    import jax.numpy as jnp

    template = models[0]
    optimizer = keras.optimizers.Adam()
    optimizer.build(template.trainable_variables)
    loss = keras.losses.CategoricalCrossentropy()
    trainable = [jnp.stack([np.asarray(m.trainable_variables[i].value) for m in models])
                 for i in range(len(template.trainable_variables))]
    non_trainable = [v.value for v in template.non_trainable_variables]
    optimizer_state = [jnp.stack([v.value] * len(models)) for v in optimizer.variables]
    x, y = jnp.asarray(dataset.x), jnp.asarray(dataset.y)

    def step(carry, batch):
        weights, state = carry

        def batch_loss(weights):
            predicted, _ = template.stateless_call(weights, non_trainable, x[batch], training=True)
            return loss(y[batch], predicted), predicted

        (value, predicted), gradients = jax.value_and_grad(batch_loss, has_aux=True)(weights)
        weights, state = optimizer.stateless_apply(state, gradients, weights)
        correct = jnp.mean(jnp.argmax(predicted, -1) == jnp.argmax(y[batch], -1))
        return (weights, state), (value, correct)

    def run(weights, state, batches):
        (weights, state), (losses, correct) = jax.lax.scan(step, (weights, state), batches)
        return weights, state, losses, correct

    chunk = jax.jit(jax.vmap(run))
    compiled = chunk.lower(trainable, optimizer_state, batches[:, 0]).compile()  # compile once, untimed
    losses, correct = [], []
    chunks = batches.shape[1]
    start = time.perf_counter()
    for index in range(chunks):
        clock.start()
        trainable, optimizer_state, chunk_losses, chunk_correct = compiled(trainable, optimizer_state, batches[:, index])
        losses.append(np.asarray(chunk_losses))
        correct.append(np.asarray(chunk_correct))
        clock.stop(epochs=batches.shape[2] // epoch_steps)
        _report(progress, framing, index + 1, chunks)
    seconds = time.perf_counter() - start
    for i, model in enumerate(models):
        for variable, stacked in zip(model.trainable_variables, trainable):
            variable.assign(stacked[i])
    return np.concatenate(losses, axis=1), np.concatenate(correct, axis=1), seconds


def _train_tensorflow(framing, dataset, models, batches, epoch_steps, clock, progress):
    """All seeds at once, or (stateful) one after another; as _train_jax."""
    if framing.stateful:
        return _train_tensorflow_in_turn(framing, dataset, models, batches, epoch_steps, clock, progress)
    import tensorflow as tf

    template = keras.models.clone_model(models[0], clone_function=_unrolled)
    template.build(models[0].inputs[0].shape)
    stacked = [keras.Variable(np.stack([np.asarray(m.trainable_variables[i].value) for m in models]),
                              name=f"stacked_{i}")
               for i in range(len(template.trainable_variables))]
    optimizer = keras.optimizers.Adam()
    optimizer.build(stacked)
    loss = keras.losses.CategoricalCrossentropy()
    non_trainable = [v.value for v in template.non_trainable_variables]
    x, y = tf.constant(dataset.x), tf.constant(dataset.y)
    chunk_steps = batches.shape[2]

    def seed_step(weights_and_batch):
        weights, batch = weights_and_batch
        batch_x, batch_y = tf.gather(x, batch), tf.gather(y, batch)
        with tf.GradientTape() as tape:
            tape.watch(weights)
            predicted, _ = template.stateless_call(weights, non_trainable, batch_x, training=True)
            value = loss(batch_y, predicted)
        hits = tf.cast(tf.argmax(predicted, -1) == tf.argmax(batch_y, -1), tf.float32)
        return tape.gradient(value, weights), value, tf.reduce_mean(hits)

    @tf.function(jit_compile=True)
    def run(chunk_batches):  # [seed, step, sample]
        losses = tf.TensorArray(tf.float32, size=chunk_steps)
        correct = tf.TensorArray(tf.float32, size=chunk_steps)
        for i in tf.range(chunk_steps):
            gradients, value, hits = tf.vectorized_map(seed_step, ([v.value for v in stacked], chunk_batches[:, i]))
            optimizer.apply_gradients(zip(gradients, stacked))
            losses, correct = losses.write(i, value), correct.write(i, hits)
        return tf.transpose(losses.stack()), tf.transpose(correct.stack())  # [seed, step]

    initial_weights = [v.numpy() for v in stacked]
    initial_optimizer_state = [v.numpy() for v in optimizer.variables]
    run(tf.constant(batches[:, 0], tf.int32))  # trace and compile once, untimed; then start afresh
    for variable, value in zip([*stacked, *optimizer.variables], [*initial_weights, *initial_optimizer_state]):
        variable.assign(value)
    chunks = batches.shape[1]
    losses, correct = [], []
    start = time.perf_counter()
    for chunk in range(chunks):
        clock.start()
        chunk_losses, chunk_correct = run(tf.constant(batches[:, chunk], tf.int32))
        losses.append(chunk_losses.numpy())
        correct.append(chunk_correct.numpy())
        clock.stop(epochs=chunk_steps // epoch_steps)
        _report(progress, framing, chunk + 1, chunks)
    seconds = time.perf_counter() - start
    for i, model in enumerate(models):
        for variable, value in zip(model.trainable_variables, stacked):
            variable.assign(value.numpy()[i])
    return np.concatenate(losses, axis=1), np.concatenate(correct, axis=1), seconds


def _unrolled(layer):
    """A copy of `layer` (as configured, injected defaults included), an RNN unrolled."""
    config = layer.get_config()
    if isinstance(layer, keras.layers.RNN) or "unroll" in config:
        config["unroll"] = True
    return type(layer).from_config(config)


def _train_tensorflow_in_turn(framing, dataset, models, batches, epoch_steps, clock, progress):
    """One seed after another through one compiled loop over the model itself."""
    import tensorflow as tf

    initial_weights = [model.get_weights() for model in models]
    template = models[0]  # trains every seed in turn; each model gets its own final weights at the end
    optimizer = keras.optimizers.Adam()
    optimizer.build(template.trainable_variables)
    initial_optimizer_state = [v.numpy() for v in optimizer.variables]
    loss = keras.losses.CategoricalCrossentropy()
    x, y = tf.constant(dataset.x), tf.constant(dataset.y)
    chunk_steps = batches.shape[2]

    @tf.function(jit_compile=True)
    def run(chunk_batches):
        losses = tf.TensorArray(tf.float32, size=chunk_steps)
        correct = tf.TensorArray(tf.float32, size=chunk_steps)
        for i in tf.range(chunk_steps):
            if framing.stateful and i % epoch_steps == 0:  # chunks hold whole epochs
                compat.reset_states(template)
            batch_x, batch_y = tf.gather(x, chunk_batches[i]), tf.gather(y, chunk_batches[i])
            with tf.GradientTape() as tape:
                predicted = template(batch_x, training=True)
                value = loss(batch_y, predicted)
            gradients = tape.gradient(value, template.trainable_variables)
            optimizer.apply_gradients(zip(gradients, template.trainable_variables))
            hits = tf.cast(tf.argmax(predicted, -1) == tf.argmax(batch_y, -1), tf.float32)
            losses, correct = losses.write(i, value), correct.write(i, tf.reduce_mean(hits))
        return losses.stack(), correct.stack()

    def start_seed(index):
        template.set_weights(initial_weights[index])
        for variable, value in zip(optimizer.variables, initial_optimizer_state):
            variable.assign(value)
        compat.reset_states(template)

    run(tf.constant(batches[0, 0], tf.int32))  # trace and compile once, untimed; every seed starts afresh
    seeds, chunks = batches.shape[:2]
    losses, correct, final_weights, seconds = [], [], [], 0.0
    for index in range(seeds):
        start_seed(index)
        start = time.perf_counter()
        for chunk in range(chunks):
            clock.start()
            chunk_losses, chunk_correct = run(tf.constant(batches[index, chunk], tf.int32))
            losses.append(chunk_losses.numpy())
            correct.append(chunk_correct.numpy())
            clock.stop(epochs=chunk_steps // epoch_steps / seeds)  # one seed's epochs: a share of all seeds'
            _report(progress, framing, index * chunks + chunk + 1, seeds * chunks)
        seconds += time.perf_counter() - start
        final_weights.append(template.get_weights())
    for model, weights in zip(models, final_weights):
        model.set_weights(weights)
    return np.concatenate(losses).reshape(seeds, -1), np.concatenate(correct).reshape(seeds, -1), seconds


def _report(progress, framing: Framing, done: int, total: int) -> None:
    """Progress in the trainer's unit, epochs (of one seed), whatever order the seeds run in."""
    if progress:
        progress(framing.epochs * done // total, framing.epochs)
