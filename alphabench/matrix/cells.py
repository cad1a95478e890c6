"""Cells (one installation: a Keras line at one release, one backend at one version) and their eras.

A cell's backend version, when not given, is its Keras release's era's (ERA): the backend releases
current when that Keras minor came out. Cells are ordered by line, oldest release first, and each
is compared with its neighbour, the next older cell of its line: what a user upgrading one step sees.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

from alphabench.errors import UsageError
from alphabench.framings import AUTO_PATH, FRAMINGS

CELL_SCHEMA_VERSION = 2  # 2: the path the cell trained on is recorded (schema 1 trained the fast path)
KERAS_LINES = ("keras", "keras-nightly", "tf-keras")
BACKENDS = ("tensorflow", "jax", "torch")
# Every framing in every cell, on the default run's path: the fused path's 16 seeds where the cell's
# environment has it (the rank tests' power against the committed baseline's 64), else the fast path.
DEFAULT_FRAMINGS = tuple(FRAMINGS)
PYTHON = "3.11"
CELL_PATH = AUTO_PATH
# The backend releases current when each Keras 3 minor came out (TensorFlow's own requirement on
# keras decides which TensorFlow accepts it), and a NumPy cap where those releases predate NumPy 2.
# TensorFlow 2.16 is the first that installs Keras 3; a Keras 3 release needs no newer one.
ERA = {
    (3, 0): ("2.16.2", "0.4.23", "<2"), (3, 1): ("2.16.2", "0.4.23", "<2"), (3, 2): ("2.16.2", "0.4.26", "<2"),
    (3, 3): ("2.16.2", "0.4.28", "<2"), (3, 4): ("2.17.1", "0.4.30", ""), (3, 5): ("2.17.1", "0.4.31", ""),
    (3, 6): ("2.18.1", "0.4.34", ""), (3, 7): ("2.18.1", "0.4.35", ""), (3, 8): ("2.18.1", "0.5.0", ""),
    (3, 9): ("2.19.1", "0.5.3", ""), (3, 10): ("2.19.1", "0.6.2", ""), (3, 11): ("2.20.0", "0.7.0", ""),
    (3, 12): ("2.20.0", "0.7.2", ""), (3, 13): ("2.21.0", "0.8.2", ""), (3, 14): ("2.21.0", "0.9.2", ""),
}
NEWEST_ERA = ("2.21.0", "0.10.2", "")
# PyTorch's CPU wheels are not on PyPI (its Linux wheels there pull gigabytes of CUDA libraries): a
# torch cell uses the CPU build given by --torch, from --find-links or an index that has it.
DEFAULT_TORCH = "2.13.0+cpu"


@dataclass(frozen=True, order=True)
class Cell:
    keras: str  # one of KERAS_LINES
    keras_version: str
    backend: str  # one of BACKENDS
    backend_version: str

    @property
    def id(self) -> str:
        """A file name: keras-3.0.5_tensorflow-2.16.2."""
        return f"{self.keras}-{self.keras_version}_{self.backend}-{self.backend_version}"

    @property
    def text(self) -> str:
        """The form parse_cell reads: keras==3.0.5/tensorflow==2.16.2."""
        return f"{self.keras}=={self.keras_version}/{self.backend}=={self.backend_version}"

    @property
    def line(self) -> tuple[str, str]:
        """Cells a user upgrades between: keras releases and nightlies are one line, tf-keras another."""
        return ("tf-keras" if self.keras == "tf-keras" else "keras", self.backend)

    @property
    def label(self) -> str:
        keras = {"keras": "Keras", "keras-nightly": "nightly", "tf-keras": "tf-keras"}[self.keras]
        return f"{keras} {self.keras_version} / {self.backend} {self.backend_version}"

    def requirements(self) -> list[str]:
        # jax[cpu]: before 0.4.2x jax did not require its jaxlib, and on its own cannot start.
        backend = "jax[cpu]" if self.backend == "jax" else self.backend
        requirements = [f"{self.keras}=={self.keras_version}", f"{backend}=={self.backend_version}"]
        numpy_cap = era(self.keras_version if self.keras == "keras" else "99")[2]
        if self.keras == "tf-keras" and _release(self.backend_version) < (2, 17):
            numpy_cap = "<2"
        return requirements + ([f"numpy{numpy_cap}"] if numpy_cap else [])

    def environment_variables(self) -> dict[str, str]:
        if self.keras == "tf-keras":
            return {"TF_USE_LEGACY_KERAS": "1", "KERAS_BACKEND": "tensorflow"}
        return {"KERAS_BACKEND": self.backend}


def _release(version: str) -> tuple[int, ...]:
    return Version(version).release


def era(keras_version: str) -> tuple[str, str, str]:
    """(TensorFlow, JAX, NumPy cap) of the Keras release's time (ERA); the newest for later ones."""
    return ERA.get(_release(keras_version)[:2], NEWEST_ERA)


def _tensorflow_of_minor(version: str) -> str:
    """The TensorFlow release of ERA with `version`'s minor (tf-keras 2.17.0: TensorFlow 2.17.1)."""
    for tensorflow, _, _ in [*ERA.values(), NEWEST_ERA]:
        if _release(tensorflow)[:2] == _release(version)[:2]:
            return tensorflow
    return version


def parse_cell(text: str, torch: str = DEFAULT_TORCH) -> Cell:
    """'keras==3.0.5/tensorflow==2.16.2'; the backend's version may be left out ('keras==3.8.0/jax'):
    the release's era's (ERA; torch: `torch`)."""
    keras_part, slash, backend_part = text.strip().partition("/")
    keras, _, keras_version = keras_part.partition("==")
    backend, _, backend_version = backend_part.partition("==")
    form = "KERAS==VERSION/BACKEND[==VERSION], e.g. keras==3.0.5/tensorflow==2.16.2 or tf-keras==2.16.0/tensorflow"
    if not slash or keras not in KERAS_LINES or backend not in BACKENDS or not keras_version:
        raise UsageError(f"cell {text!r}: expected {form}; Keras from {', '.join(KERAS_LINES)}, "
                         f"backend from {', '.join(BACKENDS)}")
    try:
        Version(keras_version)
        if backend_version:
            Version(backend_version)
    except InvalidVersion:
        raise UsageError(f"cell {text!r}: not a version number in it (expected {form})") from None
    if keras == "tf-keras" and backend != "tensorflow":
        raise UsageError(f"cell {text!r}: tf-keras (Keras 2) runs on tensorflow only")
    if not backend_version:
        if backend == "torch":
            backend_version = torch
        elif keras == "tf-keras":  # tf-keras's releases follow TensorFlow's minors
            backend_version = _tensorflow_of_minor(keras_version)
        else:
            tensorflow, jax, _ = era(keras_version if keras == "keras" else "99")
            backend_version = tensorflow if backend == "tensorflow" else jax
    return Cell(keras, keras_version, backend, backend_version)


def parse_cells(lines: Iterable[str], torch: str = DEFAULT_TORCH) -> list[Cell]:
    """Cells from lines (a --cells file): blank lines and '#' comments skipped, duplicates once."""
    cells = [parse_cell(line.split("#")[0], torch) for line in lines if line.split("#")[0].strip()]
    return list(dict.fromkeys(cells))


def last_patches(versions: Iterable[str]) -> list[str]:
    """Every Keras 3 minor's newest final release, oldest first."""
    newest: dict[tuple[int, ...], Version] = {}
    for text in versions:
        version = Version(text)
        if version.release[0] == 3 and not version.is_prerelease:
            minor = version.release[:2]
            newest[minor] = max(newest.get(minor, version), version)
    return [str(newest[minor]) for minor in sorted(newest)]


def default_cells(keras_versions: Sequence[str], nightly: str | None, tf_keras_versions: Sequence[str],
                  torch: str = DEFAULT_TORCH) -> list[Cell]:
    """Every Keras 3 minor's last patch and the newest nightly on the three backends, and tf-keras
    for each TensorFlow release that has one (2.16 on: the ones that install Keras 3 beside it)."""
    releases = [f"keras=={version}" for version in last_patches(keras_versions)]
    releases += [f"keras-nightly=={nightly}"] if nightly else []
    cells = [parse_cell(f"{keras}/{backend}", torch) for backend in BACKENDS for keras in releases]
    newest_tf_keras: dict[tuple[int, ...], str] = {}
    for version in tf_keras_versions:
        if _release(version)[:2] >= (2, 16):
            minor = _release(version)[:2]
            newest_tf_keras[minor] = max(newest_tf_keras.get(minor, version), version, key=_release)
    cells += [parse_cell(f"tf-keras=={version}/tensorflow") for _, version in sorted(newest_tf_keras.items())]
    return cells


def ordered(cells: Iterable[Cell]) -> list[Cell]:
    """Cells by line, then oldest release first (a nightly after every release)."""
    return sorted(cells, key=lambda c: (BACKENDS.index(c.backend), c.line, Version(c.keras_version), c.keras,
                                        Version(c.backend_version.split("+")[0])))


def neighbours(cells: Iterable[Cell]) -> dict[Cell, Cell | None]:
    """Each cell's predecessor: the next older cell of its line (None for a line's oldest)."""
    previous: dict[tuple[str, str], Cell] = {}
    paired = {}
    for cell in ordered(cells):
        paired[cell] = previous.get(cell.line)
        previous[cell.line] = cell
    return paired
