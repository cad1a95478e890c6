"""`alphabench bisect`: the first Keras release between a good and a bad one where a framing fails.

Each probe is one matrix cell (its file kept, so a rerun probes nothing twice); verdict.fails_run
says whether a release is bad.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from packaging.version import InvalidVersion, Version

from alphabench import verdict
from alphabench.errors import UsageError
from alphabench.matrix.cells import parse_cell
from alphabench.matrix.files import cell_file, load_cell
from alphabench.matrix.judging import judge_cell
from alphabench.matrix.rendering import shown_as
from alphabench.matrix.running import run_cell


def first_bad(versions: Sequence[str], is_bad: Callable[[str], bool]) -> tuple[str, list[str]]:
    """The first bad version, given versions[0] good and versions[-1] bad; and the versions probed.

    Binary search: each probe halves the range between the last good and the first bad known.
    """
    good, bad = 0, len(versions) - 1
    probed = []
    while bad - good > 1:
        middle = (good + bad) // 2
        probed.append(versions[middle])
        if is_bad(versions[middle]):
            bad = middle
        else:
            good = middle
    return versions[bad], probed


def between(versions: Iterable[str], good: str, bad: str) -> list[str]:
    """Final releases from `good` to `bad`, both included, oldest first; both must be listed in `versions`."""
    versions = list(versions)
    try:
        low, high = Version(good), Version(bad)
    except InvalidVersion as error:
        raise UsageError(f"{error}: GOOD and BAD are Keras releases, e.g. 3.2.1") from None
    if not low < high:
        raise UsageError(f"GOOD ({good}) must be an older release than BAD ({bad})")
    listed = {Version(v) for v in versions}
    missing = [text for text, version in ((good, low), (bad, high)) if version not in listed]
    if missing:
        newest = max(listed, default=None)
        raise UsageError(f"Keras {' and '.join(missing)}: not a release the package index lists "
                         f"(newest listed: {newest or 'none'})")
    chosen = sorted({Version(v) for v in versions if low <= Version(v) <= high and not Version(v).is_prerelease})
    return [str(v) for v in chosen]


def bisect(versions: Sequence[str], framing: str, backend: str, directory: Path, source: Path, references: dict,
           seeds: str | None, torch: str, find_links: Sequence[str] = (), log=print
           ) -> tuple[str, list[str], verdict.Verdict]:
    """(first failing release, releases probed, its verdict); UsageError unless versions[0] passes and
    versions[-1] fails. `backend`: a name, or NAME==VERSION to hold it."""
    judged_by_version: dict[str, verdict.Verdict] = {}

    def judged(version: str) -> verdict.Verdict:
        if version not in judged_by_version:
            cell = parse_cell(f"keras=={version}/{backend}", torch)
            path = cell_file(directory, cell)
            if not path.exists():
                log(f"probing {cell.label} ...")
                run_cell(cell, directory, source, (framing,), seeds, find_links, log)
            result = load_cell(path)
            reference = references.get(result.environment)
            only_this = dataclasses.replace(result, framings=(framing,))
            judged_by_version[version] = judge_cell(only_this, None, reference, "the committed baseline")[framing]
            log(f"  Keras {version}: {shown_as(judged_by_version[version])}")
        return judged_by_version[version]

    for version, must_fail in ((versions[0], False), (versions[-1], True)):
        if judged(version).fails_run != must_fail:
            raise UsageError(f"{framing} {'passes' if must_fail else 'fails'} on Keras {version}: "
                             f"bisect needs GOOD passing and BAD failing")
    first, probed = first_bad(versions, lambda v: judged(v).fails_run)
    return first, probed, judged(first)
