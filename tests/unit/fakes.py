"""Shared test data for the pure-module tests: a fingerprint and per-seed results built by hand."""

from __future__ import annotations

import dataclasses
import sys
import types

from alphabench.results import Fingerprint, SeedResult, Settings

# A fingerprint as alphabench.compat.fingerprint() returns it.
ENVIRONMENT = Fingerprint(
    environment="keras3-tensorflow",
    keras_flavour="keras3",
    keras_version="3.5.0",
    backend="tensorflow",
    backend_version="2.17.0",
    python="3.12.3",
    numpy="1.26.4",
    cpu="Test CPU",
    cpu_count=2,
    platform="linux",
    cpu_vendor="TestVendor",
    cpu_signature="family 25 model 17 stepping 1",
    cpu_flags=("avx", "avx2", "fma"),
    packages={"keras": "3.5.0", "tensorflow": "2.17.0", "numpy": "1.26.4"},
    threads="tensorflow compute threads=1",
)
UPGRADED = dataclasses.replace(ENVIRONMENT, keras_version="3.6.0")
RECITED = "BCDEFGHIJKLMNOPQRSTUVWXYZ"


def fake_result(seed: int, accuracy: float = 0.84, epochs: int = 3, **overrides) -> SeedResult:
    """One seed's result of one_char, shaped like alphabench.trainer.train()'s; `epochs` of history."""
    fields = {
        "framing": "one_char",
        "path": "fast",
        "seed": seed,
        "settings": Settings(units=32, epochs=epochs, batch_size=1, shuffle=True, stateful=False),
        "accuracy": accuracy,
        "epochs_to_100": None,
        "loss_history": tuple(round(3.0 - epoch / epochs, 6) for epoch in range(epochs)),
        "accuracy_history": tuple(round(accuracy * epoch / epochs, 6) for epoch in range(epochs)),
        "probes": {"recite": RECITED, "batch_independence": True},
        "replicas": 5,
        "train_seconds": 10.0,
        "steps_per_second": 400.0,
        "environment": ENVIRONMENT,
    }
    return SeedResult(**{**fields, **overrides})


def fake_results(accuracies=(0.80, 0.84, 0.84, 0.88, 0.92), seeds=None, **overrides) -> list[SeedResult]:
    seeds = seeds or range(1, len(accuracies) + 1)
    return [fake_result(seed, accuracy, **overrides) for seed, accuracy in zip(seeds, accuracies)]


def with_probes(result: SeedResult, **probes) -> SeedResult:
    return dataclasses.replace(result, probes=probes)


def go_offline(monkeypatch) -> None:
    """Sessions (and `alphabench run`) that 'train' into fake results in the fakes' environment,
    with no contracts, without Keras: fake alphabench.trainer, .compat and .contracts modules."""
    fake_trainer = types.ModuleType("alphabench.trainer")
    fake_trainer.train = lambda framing, seeds, path, progress=None: fake_results(
        accuracies=[0.84] * len(seeds), seeds=seeds, framing=framing.name, path=path,
        settings=Settings(framing.units, framing.epochs, framing.batch_size, framing.shuffle, framing.stateful))
    fake_trainer.check_path = lambda path: None
    fake_compat = types.ModuleType("alphabench.compat")
    fake_compat.ENVIRONMENT, fake_compat.fingerprint = ENVIRONMENT.environment, lambda: ENVIRONMENT
    fake_compat.keras = types.SimpleNamespace(__version__=ENVIRONMENT.keras_version)
    fake_compat.FUSED = False
    fake_contracts = types.ModuleType("alphabench.contracts")
    fake_contracts.CONTRACTS = ()
    for name, module in (("trainer", fake_trainer), ("compat", fake_compat), ("contracts", fake_contracts)):
        monkeypatch.setitem(sys.modules, f"alphabench.{name}", module)
        monkeypatch.setattr(f"alphabench.{name}", module, raising=False)
