"""Training data for each framing, in plain NumPy, exactly as the tutorial builds it.

Letters are integers 0..25 (A..Z) divided by 26.0; targets are one-hot over 26 classes; padding is on
the left with 0, which is also the value of A (as in the tutorial).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from alphabench.framings import ALPHABET, Framing

CLASSES = len(ALPHABET)
# The tutorial seeds NumPy's legacy global RNG with 7 before drawing variable_length's runs.
TUTORIAL_DATA_SEED = 7


@dataclass(frozen=True)
class Dataset:
    patterns: tuple[str, ...]  # the input letters of each sample, e.g. "ABC"
    x: np.ndarray  # float32 [samples, time steps, features]
    labels: np.ndarray  # int64 [samples]: index of the next letter

    @property
    def y(self) -> np.ndarray:
        return one_hot(self.labels)

    def __len__(self) -> int:
        return len(self.labels)


def one_hot(labels: np.ndarray) -> np.ndarray:
    return np.eye(CLASSES, dtype="float32")[labels]


def encode(patterns, context: int, layout: str) -> np.ndarray:
    """Letters -> normalised, left zero-padded float32 array in the framing's layout."""
    padded = np.zeros((len(patterns), context), dtype="float32")
    for row, pattern in enumerate(patterns):
        if pattern:
            padded[row, context - len(pattern) :] = [ALPHABET.index(c) for c in pattern]
    padded /= float(CLASSES)
    if layout == "features":
        return padded.reshape(len(patterns), 1, context)
    return padded.reshape(len(patterns), context, 1)


def window_pairs(context: int) -> list[tuple[str, str]]:
    """ABC->D ... for a window of `context` letters."""
    return [(ALPHABET[i : i + context], ALPHABET[i + context]) for i in range(CLASSES - context)]


def random_run_pairs(samples: int, max_length: int) -> list[tuple[str, str]]:
    """The tutorial's variable_length draw: runs of 1..max_length letters and the letter after."""
    rng = np.random.RandomState(TUTORIAL_DATA_SEED)  # identical stream to np.random.seed(7)
    pairs = []
    for _ in range(samples):
        start = rng.randint(CLASSES - 2)
        end = rng.randint(start, min(start + max_length, CLASSES - 1))
        pairs.append((ALPHABET[start : end + 1], ALPHABET[end + 1]))
    return pairs


def prefix_pairs() -> list[tuple[str, str]]:
    """A->B, AB->C, ..., A..Y->Z."""
    return [(ALPHABET[: i + 1], ALPHABET[i + 1]) for i in range(CLASSES - 1)]


def pairs_for(framing: Framing) -> list[tuple[str, str]]:
    if framing.pairs == "window":
        return window_pairs(framing.context)
    if framing.pairs == "random_runs":
        return random_run_pairs(framing.samples, framing.context)
    return prefix_pairs()


def sample_count(framing: Framing) -> int:
    return framing.samples if framing.pairs == "random_runs" else len(pairs_for(framing))


def training_cost(framing: Framing) -> int:
    """Sample time steps one seed trains on in all: what ranks the long framings first when they are
    shared out among workers (variable_length, then prefix_padded), so the longest does not start last."""
    return framing.epochs * sample_count(framing) * (framing.context if framing.layout == "timesteps" else 1)


def steps_per_epoch(framing: Framing) -> int:
    """Optimiser steps in one epoch: batches of the framing's size (none: all samples in one)."""
    samples = sample_count(framing)
    return -(-samples // (framing.batch_size or samples))


def build_dataset(framing: Framing) -> Dataset:
    pairs = pairs_for(framing)
    patterns = tuple(p for p, _ in pairs)
    labels = np.array([ALPHABET.index(t) for _, t in pairs], dtype="int64")
    return Dataset(patterns, encode(patterns, framing.context, framing.layout), labels)


def random_pattern_indices(dataset_size: int, count: int, seed: int) -> np.ndarray:
    """Which samples the "random patterns" probe asks about (the tutorial draws 20 at random)."""
    return np.random.default_rng(seed).integers(dataset_size, size=count)
