"""`alphabench bisect`: between two Keras releases, the first where a framing breaks (its first bad
release) or where it is fixed again (its first good one); with --throughput, the first that trains
slower than the older end (or, fixing, faster: an A/B test against it at each probe, abtest's rule).

Each probe is one matrix cell (its file kept, so a rerun probes nothing twice); a throughput probe
is one A/B file (ab/, kept as the evidence the log lines summarise). A probe is judged
by the one verdict (verdict.judge) but read for what it measured, not for what a known deviation
expects: the checks that change between the two ends are what is bisected, so a deviation's own
range can be bounded by bisect both ways (deviations.KnownDeviation's measured_bad and measured_good).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from packaging.version import InvalidVersion, Version

from alphabench import abtest, verdict
from alphabench.errors import UsageError
from alphabench.matrix.ab import cell_timer, compare
from alphabench.matrix.cells import parse_cell
from alphabench.matrix.environments import CellError
from alphabench.matrix.files import ThroughputAB, cell_file, load_cell, save_ab
from alphabench.matrix.judging import judge_cell
from alphabench.matrix.rendering import shown_as
from alphabench.matrix.running import run_cell

# What is sought: "break", the first release failing a check the older end passes; "fix", the first
# passing every check the older end fails and the newer end passes.
BREAK, FIX = "break", "fix"
DIRECTIONS = (BREAK, FIX)
# What `--throughput` seeks in each direction, against the older end.
THROUGHPUT_CHANGE = {BREAK: "slower", FIX: "faster"}


def first_changed(versions: Sequence[str], changed: Callable[[str], bool]) -> tuple[str, list[str]]:
    """The first version where `changed` holds, given it does not on versions[0] and does on
    versions[-1]; and the versions probed. Binary search: each probe halves the range between the
    last version known unchanged and the first known changed."""
    before, after = 0, len(versions) - 1
    probed = []
    while after - before > 1:
        middle = (before + after) // 2
        probed.append(versions[middle])
        if changed(versions[middle]):
            after = middle
        else:
            before = middle
    return versions[after], probed


def bisect_releases(versions: Sequence[str], failed_checks: Callable[[str], frozenset[str]], direction: str = BREAK
                    ) -> tuple[str, list[str], frozenset[str]]:
    """(first bad release, or with FIX the first good one; the releases probed between the ends;
    the checks bisected). `failed_checks(release)`: the checks the framing fails there.

    UsageError unless the ends differ that way: with BREAK the newer end fails a check the older
    passes, with FIX the older end fails a check the newer passes."""
    if direction not in DIRECTIONS:
        raise UsageError(f"direction must be one of {', '.join(DIRECTIONS)}; got {direction!r}")
    older, newer = failed_checks(versions[0]), failed_checks(versions[-1])
    checks = frozenset(newer - older if direction == BREAK else older - newer)
    if not checks:
        failing, passing = (versions[-1], versions[0]) if direction == BREAK else (versions[0], versions[-1])
        other = "fix finds where a failure ends" if direction == BREAK else "break finds where a failure starts"
        raise UsageError(f"bisect --direction {direction} needs Keras {failing} failing a check Keras {passing} "
                         f"passes; failing on {versions[0]}: {', '.join(sorted(older)) or 'none'}, on {versions[-1]}: "
                         f"{', '.join(sorted(newer)) or 'none'} (--direction {other})")
    if direction == BREAK:
        first, probed = first_changed(versions, lambda v: bool(checks & failed_checks(v)))
    else:
        first, probed = first_changed(versions, lambda v: not checks & failed_checks(v))
    return first, probed, checks


def between(versions: Iterable[str], older: str, newer: str) -> list[str]:
    """Final releases from `older` to `newer`, both included, oldest first; both must be listed in `versions`."""
    versions = list(versions)
    try:
        low, high = Version(older), Version(newer)
    except InvalidVersion as error:
        raise UsageError(f"{error}: OLDER and NEWER are Keras releases, e.g. 3.2.1") from None
    if not low < high:
        raise UsageError(f"OLDER ({older}) must be an older release than NEWER ({newer})")
    listed = {Version(v) for v in versions}
    missing = [text for text, version in ((older, low), (newer, high)) if version not in listed]
    if missing:
        newest = max(listed, default=None)
        what = "not releases" if len(missing) > 1 else "not a release"
        raise UsageError(f"Keras {' and '.join(missing)}: {what} the package index lists "
                         f"(newest listed: {newest or 'none'})")
    chosen = sorted({Version(v) for v in versions if low <= Version(v) <= high and not Version(v).is_prerelease})
    return [str(v) for v in chosen]


def bisect(versions: Sequence[str], framing: str, backend: str, directory: Path, source: Path, references: dict,
           seeds: str | None, torch: str, find_links: Sequence[str] = (), log=print, direction: str = BREAK
           ) -> tuple[str, list[str], verdict.Verdict]:
    """(first bad release, or with FIX the first good one; releases probed; its verdict).
    `backend`: a name, or NAME==VERSION to hold it."""
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

    def failed_checks(version: str) -> frozenset[str]:
        found = judged(version)
        unmeasured = [f.line for f in found.failures if f.rule == "cell"]
        if unmeasured:  # the cell could not be built or run: nothing was measured there
            raise UsageError(f"cannot probe Keras {version}: {unmeasured[0]}")
        return frozenset(f.check for f in found.failures)

    first, probed, _ = bisect_releases(versions, failed_checks, direction)
    return first, probed, judged(first)


def bisect_throughput(versions: Sequence[str], backend: str, directory: Path, source: Path, framing: str,
                      epochs: int, rounds: int, torch: str, find_links: Sequence[str] = (), log=print,
                      timer: Callable = cell_timer, direction: str = BREAK) -> tuple[str, list[str], ThroughputAB]:
    """(the first release that trains `framing` slower than versions[0] by abtest's rule, or with
    direction FIX faster, the rule mirrored; releases probed; its A/B comparison with versions[0]).
    Each probe is an A/B test against the older end in alternating rounds, so the search assumes a
    change, once there, stays. UsageError unless the newer end has changed so."""
    def changed(timed: ThroughputAB) -> bool:
        return getattr(timed.comparison, THROUGHPUT_CHANGE[direction])

    cells = {version: parse_cell(f"keras=={version}/{backend}", torch) for version in versions}
    compared: dict[str, ThroughputAB] = {}

    def comparison(version: str) -> ThroughputAB:
        if version not in compared:
            before, after = cells[versions[0]], cells[version]
            log(f"A/B {framing}: {before.label} -> {after.label}, {rounds} rounds ...")
            try:
                compared[version] = compare(before, after, directory, source, find_links, framing, epochs, rounds, timer)
            except (CellError, abtest.MeasureError) as error:
                raise UsageError(f"cannot probe Keras {version}: {error}") from None
            save_ab(directory, compared[version])
            log(f"  {compared[version].line()}")
        return compared[version]

    if not changed(comparison(versions[-1])):
        raise UsageError(f"bisect --throughput needs Keras {versions[-1]} {THROUGHPUT_CHANGE[direction]} than {versions[0]}; "
                         f"{comparison(versions[-1]).line()}")
    first, probed = first_changed(versions, lambda version: changed(comparison(version)))
    return first, probed, comparison(first)
