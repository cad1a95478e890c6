"""What the package index lists: the releases a default matrix and a bisect choose from."""

from __future__ import annotations

import subprocess
import sys

from alphabench.errors import UsageError


def index_versions(package: str, pre: bool = False) -> list[str]:
    """Every version of `package` the package index lists, newest first, through pip (its configured index)."""
    command = [sys.executable, "-m", "pip", "index", "versions", package] + (["--pre"] if pre else [])
    done = subprocess.run(command, capture_output=True, text=True)
    for line in done.stdout.splitlines():
        if line.startswith("Available versions:"):
            return [version.strip() for version in line.partition(":")[2].split(",")]
    raise UsageError(f"`pip index versions {package}` listed nothing ({(done.stderr.strip() or 'no output')[-200:]}); "
                     "is the package index reachable?")
