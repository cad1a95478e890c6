"""`alphabench matrix [run|merge|cell]` and `alphabench bisect`: parsing and printing; the modules
above decide. `matrix run` and `matrix merge` exit with their MatrixVerdict's status
(alphabench.matrix.judging)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from alphabench import atomic, options
from alphabench.errors import UsageError
from alphabench.matrix.ab import run_ab
from alphabench.matrix.bisect import BREAK, DIRECTIONS, THROUGHPUT_CHANGE, between, bisect, bisect_throughput
from alphabench.matrix.cells import (BACKENDS, CELL_PATH, DEFAULT_FRAMINGS, DEFAULT_TORCH, Cell, default_cells,
                                     ordered, parse_cells)
from alphabench.matrix.files import cell_file, load_ab, load_cells
from alphabench.matrix.index import index_versions
from alphabench.matrix.judging import MatrixVerdict, judge_all, lines, neighbouring_ab, reference_baselines
from alphabench.matrix.rendering import write_report
from alphabench.matrix.running import run_inside_cell, run_matrix


def add_commands(commands) -> None:
    """`alphabench matrix [run|merge|cell]` and `alphabench bisect`, on the CLI's subparsers."""
    matrix = commands.add_parser("matrix", help="the suite across Keras releases x backends, one virtual "
                                 "environment per cell (run, merge CI jobs' cells)")
    actions = matrix.add_subparsers(required=True, metavar="ACTION")
    run = actions.add_parser("run", help="run the cells that have no result yet, then judge and render them; exit "
                             "status 1 if a cell regressed, 3 if a cell could not be built, run or train")
    run.add_argument("cells", nargs="*", metavar="CELL",
                     help="cells like keras==3.0.5/tensorflow==2.16.2, keras-nightly==V/jax, tf-keras==2.16.0/tensorflow "
                     "(default: every Keras 3 minor's last patch and the newest nightly x the three backends, and tf-keras)")
    _add_cell_options(run)
    options.add_unexpected_pass_option(run.add_argument)
    run.add_argument("--ab-rounds", type=int, default=8, metavar="N",
                     help="alternating throughput rounds between neighbouring cells (default 8; 0: none)")
    run.add_argument("--ab-framing", type=options.framing_name, default="one_char", metavar="FRAMING")
    run.add_argument("--ab-epochs", type=options.positive_int, default=30, metavar="N")
    run.set_defaults(command=_run_command)
    merge = actions.add_parser("merge", help="judge and render cell files made elsewhere (e.g. CI jobs' artifacts); "
                               "exit status as run's")
    merge.add_argument("paths", nargs="+", metavar="DIR", help="cell and A/B JSON files, or directories holding them "
                       "(e.g. a matrix run's --dir)")
    merge.add_argument("--out", default=".", metavar="DIR", help="where matrix.md and matrix.png go (default: .)")
    options.add_baseline_option(merge.add_argument)
    options.add_unexpected_pass_option(merge.add_argument)
    merge.set_defaults(command=_merge_command)
    cell = actions.add_parser("cell", help="(run inside a cell's environment by `matrix run`) measure this "
                              "environment and write its cell file")
    cell.add_argument("framings", nargs="*", type=options.framing_name, metavar="FRAMING")
    cell.add_argument("--out", required=True, metavar="FILE")
    cell.add_argument("--seeds", type=options.seed_list, default=None, metavar="SEEDS")
    cell.add_argument("--checkpoint", type=Path, metavar="FILE",
                      help="keep each finished framing here, and carry over what a stopped run of this cell kept")
    cell.set_defaults(command=_cell_command)

    bisect_parser = commands.add_parser("bisect", help="find the first Keras release between OLDER and NEWER where a "
                                        "framing breaks (or with --direction fix, where it is fixed), one matrix cell per probe; "
                                        "with --throughput, where training gets slower (or faster), one A/B test per probe")
    bisect_parser.add_argument("older", metavar="OLDER", help="a Keras release where the framing passes "
                               "(with --direction fix: fails), e.g. 3.2.1")
    bisect_parser.add_argument("newer", metavar="NEWER", help="a later release where it fails (with --direction fix: passes)")
    bisect_parser.add_argument("--direction", choices=DIRECTIONS, default=BREAK,
                               help="break (default): the first release failing a check OLDER passes; fix: the first "
                               "passing every check OLDER fails and NEWER passes (a known deviation's end)")
    bisect_parser.add_argument("--framing", type=options.framing_name, metavar="FRAMING",
                               help="the framing whose checks are bisected (with --throughput: timed; default one_char)")
    bisect_parser.add_argument("--throughput", action="store_true",
                               help="the first release that trains slower than OLDER (an A/B test against OLDER "
                               "at each probe; NEWER must be slower), or with --direction fix faster (NEWER faster)")
    bisect_parser.add_argument("--ab-rounds", type=options.positive_int, default=8, metavar="N",
                               help="with --throughput: alternating rounds of each A/B test (default 8)")
    bisect_parser.add_argument("--ab-epochs", type=options.positive_int, default=30, metavar="N",
                               help="with --throughput: epochs a round trains (default 30)")
    bisect_parser.add_argument("--backend", choices=BACKENDS, default="tensorflow")
    bisect_parser.add_argument("--backend-version", metavar="V", help="hold the backend at this version "
                               "(default: each probed release's era's, see ERA)")
    _add_cell_options(bisect_parser, framings=False)
    bisect_parser.set_defaults(command=_bisect_command)


def _add_cell_options(parser, framings: bool = True) -> None:
    if framings:
        parser.add_argument("--framings", type=lambda t: tuple(options.framing_name(n) for n in t.split(",")),
                            default=DEFAULT_FRAMINGS, metavar="A,B", help=f"default: {','.join(DEFAULT_FRAMINGS)}")
    parser.add_argument("--seeds", default=None, metavar="SEEDS", help="default: each framing's own")
    parser.add_argument("--dir", default=".matrix", metavar="DIR",
                        help="environments (envs/), cell files (cells/), A/B files (ab/), matrix.md/png (default: .matrix)")
    parser.add_argument("--cells-file", metavar="FILE", help="read cells from FILE, one a line")
    parser.add_argument("--torch", default=DEFAULT_TORCH, metavar="V", help=f"torch cells' version (default {DEFAULT_TORCH})")
    parser.add_argument("--find-links", action="append", default=[], metavar="DIR",
                        help="extra wheels for uv (e.g. a directory holding torch's CPU wheel)")
    options.add_baseline_option(parser.add_argument)


def _source() -> Path:
    """The source tree holding alphabench/, installed (editable) into each cell."""
    return Path(__file__).resolve().parents[2]


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _chosen_cells(args) -> list[Cell]:
    if args.cells_file:
        return ordered(parse_cells(Path(args.cells_file).read_text().splitlines(), args.torch))
    if args.cells:
        return ordered(parse_cells(args.cells, args.torch))
    nightlies = index_versions("keras-nightly", pre=True)  # newest first, as pip lists them
    return ordered(default_cells(index_versions("keras"), nightlies[0] if nightlies else None,
                                 index_versions("tf-keras"), args.torch))


def _run_command(args) -> int:
    directory = Path(args.dir)
    cells = _chosen_cells(args)
    start = time.perf_counter()
    unmeasured = {}

    def timings() -> None:
        # The last call's pairs left untimed are the run's: each call retries every pair without a file.
        if args.ab_rounds:
            unmeasured.clear()
            unmeasured.update(run_ab(cells, directory, _source(), args.find_links, args.ab_framing, args.ab_epochs,
                                     args.ab_rounds, _log))

    # Each pair's A/B as soon as both its cells are done, so an interrupted matrix keeps its timings too.
    run_matrix(cells, directory, _source(), args.framings, args.seeds, args.find_links, _log, timings)
    timings()  # pairs whose cells were done before this run
    results = load_cells([cell_file(directory, cell) for cell in cells])
    _log(f"matrix: {len(cells)} cells in {(time.perf_counter() - start) / 60:.1f} min this run")
    outcome = _judge_and_report(results, load_ab([directory]), directory, args, unmeasured)
    if outcome.errors:
        _log(f"matrix: to rerun a cell, delete its file: {', '.join(str(cell_file(directory, c)) for c in outcome.errors)}")
    if outcome.unmeasured:
        _log("matrix: a pair without an A/B file is timed again by the same `alphabench matrix run`")
    return outcome.exit_status


def _merge_command(args) -> int:
    # Cells from separate jobs ran on separate machines: their stored throughputs are never compared,
    # but an A/B file given (both sides timed in turns on one machine) is shown and judged.
    outcome = _judge_and_report(load_cells(args.paths), load_ab(args.paths), Path(args.out), args)
    if outcome.errors:
        _log(f"matrix: to rerun a cell, rerun its job, or on one machine `alphabench matrix run "
             f"{' '.join(cell.text for cell in outcome.errors)}`")
    return outcome.exit_status


def _judge_and_report(results, ab, out: Path, args, unmeasured=None) -> MatrixVerdict:
    """Judge the cells (against args.baselines, with args.unexpected_pass), print and write the
    report (matrix.md, its pictures) into `out`, and say which cells erred, regressed or passed
    unexpectedly: `run` and `merge` alike exit with this verdict's status."""
    ab = neighbouring_ab(results, ab)
    judged = judge_all(results, reference_baselines(args.baselines), args.unexpected_pass)
    print(write_report(judged, results, ab, out), end="")
    _log(f"matrix: {len(results)} cells judged; {out / 'matrix.md'}, {out / 'matrix.png'}")
    outcome = MatrixVerdict(judged, ab, unmeasured or {})
    for line in outcome.summary_lines():
        _log(line)
    return outcome


def _cell_command(args) -> int:
    framings = list(dict.fromkeys(args.framings)) or list(DEFAULT_FRAMINGS)
    body = run_inside_cell(framings, args.seeds, CELL_PATH, lambda line: _log(f"cell: {line}"), args.checkpoint)
    atomic.write_json(Path(args.out), body)
    return 0


def _bisect_command(args) -> int:
    if not (args.framing or args.throughput):
        raise UsageError("bisect needs --framing FRAMING (the framing whose checks change), or --throughput")
    # Both ends checked against the index before anything is built.
    versions = between(index_versions("keras"), args.older, args.newer)
    backend = f"{args.backend}=={args.backend_version}" if args.backend_version else args.backend
    if args.throughput:
        framing = args.framing or "one_char"
        first, probed, comparison = bisect_throughput(versions, backend, Path(args.dir), _source(), framing,
                                                      args.ab_epochs, args.ab_rounds, args.torch, args.find_links, _log,
                                                      direction=args.direction)
        print(f"{framing} throughput on {args.backend}: first {THROUGHPUT_CHANGE[args.direction]} release Keras {first} "
              f"({len(probed)} probes between {versions[0]} and {versions[-1]}, {len(versions)} releases: "
              f"{', '.join(probed) or 'none'})")
        print(f"  {comparison.line()}")
        return 0
    first, probed, judged = bisect(versions, args.framing, backend, Path(args.dir), _source(),
                                   reference_baselines(args.baselines), args.seeds, args.torch, args.find_links, _log,
                                   args.direction)
    found = "first failing release" if args.direction == BREAK else "first release fixed again"
    print(f"{args.framing} on {args.backend}: {found} Keras {first} "
          f"({len(probed)} probes between {versions[0]} and {versions[-1]}, {len(versions)} releases: "
          f"{', '.join(probed) or 'none'})")
    for line in lines(judged):
        print(f"  {line}")
    return 0
