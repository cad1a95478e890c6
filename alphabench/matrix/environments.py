"""A cell's virtual environment: made with uv from the cell's requirements, reused while they stay the same."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from alphabench.errors import UsageError
from alphabench.matrix.cells import PYTHON, Cell


class CellError(Exception):
    """A cell could not be built or run: recorded in its file, the matrix goes on."""


def python_of(directory: Path, cell: Cell) -> Path:
    """The cell's interpreter (absolute: the cell runs in a scratch directory)."""
    return Path(directory).absolute() / "envs" / cell.id / "bin" / "python"


def _uv() -> list[str]:
    found = shutil.which("uv")
    if found:
        return [found]
    if importlib.util.find_spec("uv") is None:  # pip install uv: the binary comes with its module
        raise UsageError("the matrix makes its environments with uv: pip install uv")
    return [sys.executable, "-m", "uv"]


def _run(command: Sequence[str], what: str, env: dict | None = None) -> None:
    done = subprocess.run(list(command), capture_output=True, text=True, env=env)
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip() or "no output").splitlines()
        raise CellError(f"{what} failed: {' '.join(line.strip() for line in last[-3:])[-400:]}")


def ensure_environment(cell: Cell, directory: Path, source: Path, find_links: Sequence[str] = ()) -> Path:
    """The cell's interpreter, its environment made (or reused: same requirements) under `directory`."""
    python = python_of(directory, cell)
    root = python.parent.parent
    marker = root / "alphabench-cell.json"
    wanted = {"requirements": cell.requirements(), "source": str(source)}
    if python.exists() and marker.exists() and json.loads(marker.read_text()) == wanted:
        return python
    shutil.rmtree(root, ignore_errors=True)
    uv = _uv()
    links = [arg for link in find_links for arg in ("--find-links", link)]
    _run(uv + ["venv", "--quiet", "--python", PYTHON, str(root)], f"uv venv {root}")
    install = uv + ["pip", "install", "--quiet", "--python", str(python), *links]
    # alphabench's own needs inside a cell (its Keras and backend come from the cell's requirements).
    _run(install + cell.requirements() + ["packaging", "scipy"], f"installing {' '.join(cell.requirements())}")
    if cell.keras == "keras-nightly":
        # TensorFlow requires `keras`, so a release was installed beside the nightly into the same
        # module directory: remove it, then put the nightly's files back.
        _run(uv + ["pip", "uninstall", "--quiet", "--python", str(python), "keras"], "removing release keras")
        _run(install + ["--reinstall", "--no-deps", f"keras-nightly=={cell.keras_version}"], "reinstalling keras-nightly")
    _run(install + ["--no-deps", "-e", str(source)], "installing alphabench")
    marker.write_text(json.dumps(wanted))
    return python
