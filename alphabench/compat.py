"""The one place that knows which Keras is installed and which backend runs it.

Everything else imports `keras` from here and calls these helpers, so the framings, the trainer,
the tests and the gate are identical on Keras 3 (TensorFlow, JAX, PyTorch backends) and on Keras 2
(tf-keras, selected the standard way: TF_USE_LEGACY_KERAS=1).
"""

from __future__ import annotations

import importlib.util
import os
import platform
import sys

from alphabench.errors import IncompatibleKeras
from alphabench.framings import FUSED_ENVIRONMENTS
from alphabench.results import Fingerprint

# The oldest Keras 3 the suite runs on: the first, 3.0 (`alphabench matrix` runs every minor). What
# older releases lack is bridged below, each bridge saying which releases need it.
OLDEST_KERAS3 = (3, 0)


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".")[:2] if part.isdigit())


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow, if installed, with its C++ start-up lines kept off stderr.

    TensorFlow 2.21 writes about six of them through absl before any of its log settings applies
    (TF_CPP_MIN_LOG_LEVEL=3 included), on every command. Only file descriptor 2 is silenced, and only
    during the import: an import error is raised, not written, and still shows.
    """
    if "tensorflow" in sys.modules or importlib.util.find_spec("tensorflow") is None:
        return
    sys.stderr.flush()
    saved_stderr = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow  # noqa: F401
    finally:
        os.dup2(saved_stderr, 2)
        os.close(saved_stderr)
        os.close(devnull)


# What each way of running Keras needs beyond Keras, as alphabench's extras install it (pyproject.toml).
_EXTRA_OF_BACKEND = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}


def _missing_package_advice(error: ImportError, requested: str) -> str:
    """One line for an import of Keras that failed on a missing package: which one, and the extra with it."""
    missing = (error.name or "").partition(".")[0]  # "torch.utils" is torch missing
    extra = "keras2" if requested == "keras2" else _EXTRA_OF_BACKEND.get(requested)
    install = f'pip install "alphabench[{extra}]"' if extra else f"pip install {missing or 'keras'}"
    if requested == "keras2":
        return f"TF_USE_LEGACY_KERAS=1 asks for Keras 2, but {missing or 'tf-keras'} is not installed: {install}"
    if missing in ("", "keras"):
        return f"Keras is not installed: {install}"
    return f"Keras's {requested} backend needs {missing}, which is not installed: {install}"


def _import_keras():
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's later C++ log lines, off the output
    # One XLA CPU thread for JAX (see use_one_cpu_thread); must be set before JAX starts.
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")
    # For the advice only: Keras itself also reads ~/.keras/keras.json.
    requested = "keras2" if os.environ.get("TF_USE_LEGACY_KERAS") == "1" else os.environ.get("KERAS_BACKEND", "tensorflow")
    if requested not in ("keras2", *_EXTRA_OF_BACKEND):  # Keras itself would answer with a traceback
        raise IncompatibleKeras(f"KERAS_BACKEND={requested!r} is no backend alphabench runs on: set it to "
                                f"{', '.join(_EXTRA_OF_BACKEND)} (lower case), or TF_USE_LEGACY_KERAS=1 for Keras 2")
    try:
        if requested in ("keras2", "tensorflow"):
            _import_tensorflow_quietly()
        if requested == "keras2":
            import tf_keras

            return tf_keras, "keras2", "tensorflow"
        import keras
    except ImportError as error:
        raise IncompatibleKeras(_missing_package_advice(error, requested)) from None
    if _version_tuple(keras.__version__) < OLDEST_KERAS3:
        raise IncompatibleKeras(
            f"Keras {keras.__version__} is not supported: install keras>={'.'.join(map(str, OLDEST_KERAS3))}, "
            "or tf-keras and set TF_USE_LEGACY_KERAS=1 for Keras 2"
        )
    return keras, "keras3", keras.backend.backend()


keras, FLAVOUR, BACKEND = _import_keras()
if BACKEND == "tensorflow":
    import tensorflow as _tf

    # The probes call predict_on_batch on batches of several sizes; TensorFlow's retracing warning
    # about that is noise in a test log.
    _tf.get_logger().setLevel("ERROR")
elif BACKEND == "jax":
    import jax

    # One thread for JAX too (see use_one_cpu_thread), set before its CPU client starts (importing
    # Keras does not start it). Asynchronous dispatch runs Python and XLA on two threads: faster for
    # a lone process, but two such pytest workers starve each other, and a serial baseline's
    # throughput would no longer compare with `pytest -n auto`'s (figures: README, "JAX fast path
    # against the TensorFlow reference").
    try:
        jax.config.update("jax_cpu_enable_async_dispatch", False)
    except AttributeError:  # before jax 0.4.31, which made CPU dispatch asynchronous, it was synchronous
        pass
ENVIRONMENT = f"{FLAVOUR}-{BACKEND}"  # names this environment's baseline file

# JAX's eager mode dispatches every op separately (minutes per epoch); its trainer is meant to be
# jitted. On TensorFlow's CPU kernels XLA measured slower than plain graph mode for this tiny LSTM.
JIT_COMPILE = BACKEND == "jax"
# Keras's PyTorch trainer refuses steps_per_execution > 1 (keras/src/backend/torch/trainer.py,
# make_train_function). Elsewhere a cap: TensorFlow traces the steps into one graph loop, JAX's trainer
# loops in Python over one jitted step (keras/src/backend/jax/trainer.py, iterator_step), so beyond
# a few dozen steps only per-call overhead is saved (variable_length on JAX: 50 and 1000 within noise).
MAX_STEPS_PER_EXECUTION = 1 if BACKEND == "torch" else 50
# Keras 3.0-3.6's TensorFlow trainer unrolls steps_per_execution in Python, one iterator get_next per
# step inside one tf.function, and TensorFlow refuses more than 32 of those in a function
# (tensorflow/python/data/ops/iterator_ops.py, GET_NEXT_CALL_ERROR_THRESHOLD); 3.7 loops with
# tf.while_loop. The steps are the same either way, only their grouping into calls changes.
if FLAVOUR == "keras3" and BACKEND == "tensorflow" and _version_tuple(keras.__version__) < (3, 7):
    MAX_STEPS_PER_EXECUTION = 32
# Keras 3.0-3.4 log a multi-output model's summed loss only; 3.5 added each output's ("<output>_loss"),
# as tf-keras always had. There the fast path logs each replica's loss through a cross-entropy metric:
# the mean over the epoch's samples, which for an epoch of equal batches is the mean of its batch
# losses that Keras logs as "loss" (equal up to float rounding, not bit for bit).
LOGS_OUTPUT_LOSSES = FLAVOUR == "keras2" or _version_tuple(keras.__version__) >= (3, 5)
OUTPUT_LOSS = "loss" if LOGS_OUTPUT_LOSSES else "crossentropy"
# The fused path (alphabench.fused) compiles the loop over steps with JAX or TensorFlow: Keras 3 only.
FUSED = ENVIRONMENT in FUSED_ENVIRONMENTS
NOT_FUSED = f"the fused path runs on {' and '.join(FUSED_ENVIRONMENTS)}, not on {ENVIRONMENT}"


# Keras 3.3-3.7 cannot use a model that nests compiled models as the fast path does. 3.3-3.5: the outer
# model's metrics take in each inner model's compile metrics, which only the inner model's own fit
# builds, and fit raises "Cannot get result() since the metric has not yet been built". 3.6-3.7: the
# outer compile clears each inner model's compile metrics (Trainer._clear_previous_trainer_metrics, gone
# in 3.8), so the replica's own evaluate raises "'NoneType' object has no attribute 'update_state'".
# Measured: 3.3.3, 3.5.0 (fit), 3.6.0, 3.7.0 (evaluate) fail; 3.2.1 and 3.8.0 do not. There the fast
# path compiles its replicas after the fit, for evaluate.
NESTS_COMPILED_MODELS = not (FLAVOUR == "keras3" and (3, 3) <= _version_tuple(keras.__version__) < (3, 8))


def output_loss_metrics() -> list:
    """Metrics to add to each output of a multi-output model so its loss is logged as "<output>_<OUTPUT_LOSS>"."""
    return [] if LOGS_OUTPUT_LOSSES else [keras.metrics.CategoricalCrossentropy(name=OUTPUT_LOSS)]


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and the backend (weight initialisation, fit's shuffle)."""
    _import_tensorflow_quietly()  # Keras's set_random_seed seeds TensorFlow too, on any backend, if installed
    keras.utils.set_random_seed(seed)


_determinism_enabled = False


def use_one_cpu_thread() -> None:
    """One compute thread per process.

    The network is tiny, so extra threads buy nothing but contention; with one thread, a serial run
    (the main job, a baseline update) and `pytest -n auto` with one worker per core train at the same
    speed, and throughput compares between them.
    """
    if BACKEND == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(1)
            tf.config.threading.set_inter_op_parallelism_threads(1)
        except RuntimeError:  # already initialised by an earlier run in this process: keep its setting
            pass
    elif BACKEND == "torch":
        import torch

        torch.set_num_threads(1)
    # JAX: XLA's CPU client takes its threading from the environment when it starts; see _import_keras.


def enable_determinism() -> None:
    """Make repeated runs with one seed give identical numbers where the backend can on CPU."""
    global _determinism_enabled
    if _determinism_enabled:
        return
    if BACKEND == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()
    elif BACKEND == "torch":
        import torch

        torch.use_deterministic_algorithms(True)
    # JAX on CPU is deterministic already.
    _determinism_enabled = True


def stateful_layers(model):
    """Every stateful RNN layer in `model`, looking inside nested models."""
    for layer in model.layers:
        if hasattr(layer, "layers"):
            yield from stateful_layers(layer)
        elif getattr(layer, "stateful", False):
            yield layer


def reset_states(model) -> None:
    """Reset the state of every stateful layer.

    Keras 3 models have no reset_states(), but its RNN layers keep reset_states() as an alias of
    reset_state(), and tf-keras layers have reset_states(): one call serves both.
    """
    for layer in stateful_layers(model):
        layer.reset_states()


def backend_version() -> str:
    if BACKEND == "tensorflow":
        import tensorflow as tf

        return tf.__version__
    module = __import__(BACKEND)
    return module.__version__


# The ISA features that XLA, oneDNN and Eigen choose CPU kernels by: two CPUs sold under one model
# name that differ here may round differently (README, "The gate").
KERNEL_ISA_FLAGS = (
    "sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512cd", "avx512bw",
    "avx512dq", "avx512vl", "avx512ifma", "avx512vbmi", "avx512_vbmi2", "avx512_vnni", "avx512_bf16",
    "avx512_fp16", "amx_tile", "amx_int8", "amx_bf16", "asimd", "sve", "sve2",
)
# The packages whose versions can change this environment's numbers, and so its fingerprint: a
# baseline made in a venv that also holds other backends must still reproduce in one that does not.
NUMERICAL_PACKAGES = {
    "keras3-tensorflow": ("keras", "tensorflow", "numpy"),
    "keras2-tensorflow": ("tf-keras", "tensorflow", "numpy"),
    "keras3-jax": ("keras", "jax", "jaxlib", "numpy"),
    "keras3-torch": ("keras", "torch", "numpy"),
}[ENVIRONMENT]


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields of /proc/cpuinfo (empty where there is none)."""
    fields = {}
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if not line.strip():
                    break
                key, _, value = line.partition(":")
                fields[key.strip()] = value.strip()
    except OSError:
        pass
    return fields


def cpu_model() -> str:
    return _cpuinfo().get("model name") or platform.processor() or platform.machine()


def _package_versions() -> dict[str, str]:
    from importlib import metadata

    versions = {}
    for name in NUMERICAL_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def _thread_settings() -> str:
    """The settings that decide how many threads compute (use_one_cpu_thread sets the backend's)."""
    return "; ".join(f"{name}={os.environ.get(name, '')}" for name in ("XLA_FLAGS", "OMP_NUM_THREADS")) + (
        f"; {BACKEND} compute threads=1")


def fingerprint() -> Fingerprint:
    """What identifies the environment a result came from, down to what decides its bits."""
    import numpy

    cpuinfo = _cpuinfo()
    flags = set(cpuinfo.get("flags", cpuinfo.get("Features", "")).split())
    return Fingerprint(
        environment=ENVIRONMENT,
        keras_flavour=FLAVOUR,
        keras_version=keras.__version__,
        backend=BACKEND,
        backend_version=backend_version(),
        python=platform.python_version(),
        numpy=numpy.__version__,
        cpu=cpu_model(),
        cpu_count=os.cpu_count(),
        platform=sys.platform,
        cpu_vendor=cpuinfo.get("vendor_id", platform.machine()),
        cpu_signature=" ".join(f"{key.split()[-1]} {cpuinfo.get(key, '?')}"
                               for key in ("cpu family", "model", "stepping")),
        cpu_flags=tuple(flag for flag in KERNEL_ISA_FLAGS if flag in flags),
        packages=_package_versions(),
        threads=_thread_settings(),
    )
