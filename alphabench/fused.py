"""The fused path: every seed of a framing trained as one compiled computation (JAX backend).

Keras builds each seed's model exactly as the fast path does (trainer.build_model, so a seed starts
from the weights it would start from alone) and supplies the mathematics through its stateless API:
`model.stateless_call` for the forward pass, the compiled loss, and `optimizer.stateless_apply` for
Adam's update. What Keras's own JAX trainer does not do, and this does, is batch the seeds and the
steps: the seeds' weights are stacked on a leading axis (`jax.vmap`) and the steps of a run are one
`jax.lax.scan`, compiled once. Each seed sees the fast path's batches in the fast path's order, so
its loss curve is the lone fast-path run's (tests/training/test_equivalence.py).

It never repairs what it tests: like Keras's JAX trainer it threads only the model's tracked
variables, so a stateful LSTM's state is lost between batches here too (deviations.py). It tests
Keras's layers, loss and optimiser, not `fit`: the fast and reference paths keep covering that.
"""

from __future__ import annotations

import time

import numpy as np

from alphabench.compat import keras
from alphabench.data import Dataset, steps_per_epoch
from alphabench.framings import Framing

CHUNKS = 20  # the scan runs in this many equal calls (at most), so that progress can be reported


def train(framing: Framing, dataset: Dataset, models: list, orders: list[np.ndarray], progress=None):
    """Train `models` (one per seed) in place on their sample `orders`; (histories, seconds, epoch_seconds)."""
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

    epoch_steps = steps_per_epoch(framing)
    batch_size = framing.batch_size or len(dataset)
    epochs_per_chunk = max(d for d in range(1, max(1, framing.epochs // CHUNKS) + 1) if framing.epochs % d == 0)
    batches = np.stack(orders).reshape(len(models), -1, epochs_per_chunk * epoch_steps, batch_size)
    chunk = jax.jit(jax.vmap(run))
    compiled = chunk.lower(trainable, optimizer_state, batches[:, 0]).compile()  # compile once, untimed
    losses, correct = [], []
    start = time.perf_counter()
    for index in range(batches.shape[1]):
        trainable, optimizer_state, chunk_losses, chunk_correct = compiled(trainable, optimizer_state, batches[:, index])
        losses.append(np.asarray(chunk_losses))
        correct.append(np.asarray(chunk_correct))
        if progress:
            progress((index + 1) * epochs_per_chunk, framing.epochs)
    seconds = time.perf_counter() - start
    for i, model in enumerate(models):
        for variable, stacked in zip(model.trainable_variables, trainable):
            variable.assign(stacked[i])
    # Keras logs an epoch's loss and accuracy as the mean over its batches, as these are.
    per_epoch = [np.concatenate(values, axis=1).reshape(len(models), framing.epochs, epoch_steps).mean(-1)
                 for values in (losses, correct)]
    histories = [(tuple(loss_row), tuple(accuracy_row)) for loss_row, accuracy_row in zip(*per_epoch)]
    return histories, seconds, [seconds / framing.epochs] * framing.epochs
