"""The commands alphabench suggests, written so that they work when pasted.

A suggestion carries what the user typed: their baselines directory, framings, path and seeds (in
the CLI's form, or under pytest the user's own pytest command line with --alphabench-update), so
following it writes the baseline the check looked for, where it looked. A file that cannot be read
is rebuilt entry by entry on each entry's own path and seeds, never replaced by a part of itself,
and `git checkout` is offered only for a file git holds.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from alphabench.framings import AUTO_PATH, FRAMINGS, TRAINING_PATHS
from alphabench.results import DEFAULT_BASELINES, UPDATE_COMMAND

UPGRADE_ALPHABENCH = "pip install --upgrade alphabench"


def seeds_argument(seeds: Sequence[int]) -> str:
    """The --seeds value that selects exactly `seeds` (options.seed_list reads it back)."""
    ordered = sorted(seeds)
    if ordered == list(range(1, len(ordered) + 1)):
        return str(len(ordered))
    if len(ordered) > 1 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{ordered[0]}-{ordered[-1]}"
    return ",".join(map(str, ordered)) if len(ordered) > 1 else f"{ordered[0]}-{ordered[0]}"


def environment_variables(environment: str) -> list[str]:
    """The variables that select `environment` (keras3-jax: KERAS_BACKEND=jax); none for a name not of that form."""
    flavour, _, backend = environment.partition("-")
    if flavour == "keras2" and backend == "tensorflow":
        return ["TF_USE_LEGACY_KERAS=1"]
    if flavour == "keras3" and backend in ("tensorflow", "jax", "torch"):
        return [f"KERAS_BACKEND={backend}"]
    return []


def update_command(
    baselines: str | None = None,
    framings: Sequence[str] = (),
    path: str | None = None,
    seeds: Sequence[int] | None = None,
    environment: str | None = None,
) -> str:
    """`alphabench baseline update` with these options; framings: none or every one, left out (all)."""
    words = environment_variables(environment) if environment else []
    words += UPDATE_COMMAND.split()
    if baselines and baselines != DEFAULT_BASELINES:
        words += ["--baselines", str(baselines)]
    if path and path != AUTO_PATH:
        words += ["--path", path]
    if seeds:
        words += ["--seeds", seeds_argument(seeds)]
    named = list(dict.fromkeys(framings))
    if set(named) != set(FRAMINGS):
        words += named
    return shlex.join(words)


@dataclass(frozen=True)
class Advice:
    """How to word a command for the user who ran this check: their baselines directory and seeds, and
    under pytest their own command line (pytest_args), which --alphabench-update completes."""

    baselines: str | None = None  # as the user named it; None or the default: left out
    seeds: tuple[int, ...] | None = None  # None: each framing's own
    pytest_args: tuple[str, ...] | None = None

    def create(self, framings: Sequence[str] = (), path: str | None = None) -> str:
        """The command that writes the missing baseline entries of `framings` on `path`."""
        if self.pytest_args is not None:
            return shlex.join(["pytest", *self.pytest_args, "--alphabench-update"])
        return update_command(self.baselines, framings, path, self.seeds)


def _tracked_by_git(path: Path) -> bool:
    try:
        done = subprocess.run(["git", "-C", str(path.parent), "ls-files", "--error-unmatch", path.name],
                              capture_output=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return False
    return done.returncode == 0


_ENTRY_KEY = re.compile(r'"((?:%s)(?:@(?:%s))?)"\s*:\s*\{' % ("|".join(FRAMINGS), "|".join(TRAINING_PATHS)))


_SEEDS = re.compile(r'"seeds"\s*:\s*\[\s*(\d+(?:\s*,\s*\d+)*)\s*\]')


def _entries_held(document, text: str | None) -> dict[str, tuple[int, ...] | None]:
    """{entry key: its seeds, None where unknown} of what a broken file still shows it held."""
    framings = document.get("framings") if isinstance(document, dict) else None
    if isinstance(framings, dict):
        held = {}
        for key, entry in framings.items():
            if key.partition("@")[0] not in FRAMINGS:
                continue
            seeds = entry.get("seeds") if isinstance(entry, dict) else None
            valid = isinstance(seeds, list) and seeds and all(type(s) is int and s >= 0 for s in seeds)
            held[key] = tuple(seeds) if valid and len(set(seeds)) == len(seeds) else None
        return held
    # Not JSON (cut short): each entry's key, and its seeds where its text still shows them.
    starts = list(_ENTRY_KEY.finditer(text or ""))
    held = {}
    for match, following in zip(starts, starts[1:] + [None]):
        span = text[match.end() : following.start() if following else len(text)]
        seeds = _SEEDS.search(span)
        held[match.group(1)] = tuple(int(s) for s in seeds.group(1).split(",")) if seeds else None
    return held


def rebuild_commands(path: str | Path, document=None, text: str | None = None) -> list[str]:
    """The commands that write anew, in `path`'s directory and environment, every entry `path` held."""
    path = Path(path)
    groups: dict[tuple[str, tuple[int, ...] | None], list[str]] = {}
    for key, seeds in _entries_held(document, text).items():
        framing, _, training_path = key.partition("@")
        groups.setdefault((training_path or "fast", seeds), []).append(framing)
    if not groups:  # nothing left to read: every framing, on this environment's default path
        return [update_command(str(path.parent), environment=path.stem)]
    order = sorted(groups, key=lambda group: (TRAINING_PATHS.index(group[0]), group[1] or ()))
    return [update_command(str(path.parent), groups[group], group[0], group[1], path.stem) for group in order]


def repair(path: str | Path, document=None, text: str | None = None) -> str:
    """What to do about the baseline file `path` that cannot be used (`update` never overwrites it)."""
    path = Path(path)
    aside = shlex.join(["mv", str(path), f"{path}.broken"])
    rebuild = " && ".join([aside, *rebuild_commands(path, document, text)])
    restore = ""
    if _tracked_by_git(path):
        restore = f"restore it from git (`{shlex.join(['git', '-C', str(path.parent), 'checkout', '--', path.name])}`), "
    if isinstance(document, dict) or text is None:
        return f"{restore}fix it, or set it aside and rebuild every entry it held: `{rebuild}`"
    # Cut short: what followed the cut is gone, and no command can name it.
    return (f"{restore}fix it, or set it aside and rebuild every entry it still shows (any cut off with the rest "
            f"of the file are unknown): `{rebuild}`")
