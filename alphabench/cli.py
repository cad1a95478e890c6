"""`alphabench` (also `python -m alphabench`): list the framings, run them and gate, keep baselines."""

from __future__ import annotations

import argparse
import json
import os
import sys

from alphabench import abtest, baseline, bench, environments, framing_docs, golden, options, progress, report, selftest
from alphabench.advice import Advice
from alphabench.errors import AlphabenchError
from alphabench.framings import FRAMINGS, get_framing
from alphabench.matrix import commands as matrix
from alphabench.session import Session
from alphabench.verdict import RunVerdict


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    sys.stdout, sys.stderr = _PipeTolerant(sys.stdout), _PipeTolerant(sys.stderr)
    try:
        return args.command(args)
    except KeyboardInterrupt:
        print("alphabench: interrupted", file=sys.stderr)
        return 130
    except AlphabenchError as error:  # anything else is a bug: its traceback shows
        print(f"alphabench: error: {error}", file=sys.stderr)
        return 2


class _PipeTolerant:
    """A stream that goes quiet once its reader is gone (`alphabench run | head -1`): the command runs on
    to its verdict, so the exit status is the verdict's, never a 0 for a run cut short."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text):
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._stream = open(os.devnull, "w")
            return len(text)

    def flush(self):
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._stream = open(os.devnull, "w")

    def __getattr__(self, name):
        return getattr(self._stream, name)


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        """One line, not argparse's usage block: the message already says what was wrong."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="alphabench", description=__doc__)
    commands = parser.add_subparsers(required=True, metavar="COMMAND", parser_class=_Parser)

    listing = commands.add_parser("list", help="show the framings and their settings")
    listing.add_argument("--markdown", action="store_true",
                         help="print docs/framings.md: every framing described, from its definition")
    listing.set_defaults(command=list_framings)

    run = commands.add_parser("run", help="train framings, compare with the baseline, print the verdict")
    _add_framing_selection(run)
    options.add_training_options(run.add_argument)
    options.add_baseline_option(run.add_argument)
    options.add_jobs_option(run.add_argument)
    options.add_create_option(run.add_argument)
    options.add_unexpected_pass_option(run.add_argument)
    run.add_argument("--report", metavar="DIR",
                     help="also write report.json, report.md and learning-curve PNGs to DIR")
    run.set_defaults(command=run_framings)

    baselines = commands.add_parser("baseline", help="create, update or upgrade this environment's baseline")
    actions = baselines.add_subparsers(required=True, metavar="ACTION")
    update = actions.add_parser("update", help="train and write the baseline (atomically)")
    _add_framing_selection(update)
    options.add_training_options(update.add_argument)
    options.add_baseline_option(update.add_argument)
    options.add_jobs_option(update.add_argument)
    update.set_defaults(command=update_baseline)
    show = actions.add_parser("show", help="print a baseline's per-seed table (Markdown)")
    show.add_argument("file")
    show.set_defaults(command=lambda args: _print(report.baseline_markdown(baseline.load(args.file))))
    compare = actions.add_parser("compare", help="every environment's baseline side by side, "
                                 "differences flagged (Markdown)")
    compare.add_argument("files", nargs="*", metavar="FILE",
                         help="baseline files (default: every *.json in the baselines directory)")
    options.add_baseline_option(compare.add_argument)
    compare.set_defaults(command=compare_baselines)
    upgrade = actions.add_parser("upgrade", help="rewrite a baseline file in the current schema")
    upgrade.add_argument("file")
    upgrade.set_defaults(command=upgrade_baseline)

    timing = commands.add_parser("bench", help="time the fast path against the tutorial-style reference path")
    _add_framing_selection(timing)
    timing.add_argument("--seeds", type=options.seed_list, default=(1,), metavar="SEEDS",
                        help="seeds for both paths (default: 1)")
    timing.add_argument("--reference-epochs", type=_framing_epochs, action="append", default=[],
                        metavar="FRAMING=N", help="time FRAMING's reference path on N epochs and extrapolate "
                        f"(default: {', '.join(f'{k}={v}' for k, v in bench.DEFAULT_REFERENCE_EPOCHS.items())})")
    timing.add_argument("--reference-backend", choices=("tensorflow", "jax", "torch"),
                        help="run the reference path on this Keras 3 backend (default: this environment's), "
                        "e.g. the JAX fast path against the TensorFlow reference")
    timing.add_argument("--fused", action="store_true",
                        help="time the fused path on each Keras 3 backend installed (JAX, TensorFlow) on one seed and on the baseline's seeds "
                        "(64 a framing, variable_length 16) instead")
    timing.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    timing.set_defaults(command=bench_paths)

    abtest.add_commands(commands)
    test = commands.add_parser("selftest", help="inject regressions into Keras; check the gate catches "
                               "each, and that unchanged reruns raise no alarm")
    test.add_argument("--reruns", type=options.positive_int, default=10, metavar="N",
                      help="unchanged reruns of one_char (default: 10)")
    test.add_argument("--seeds", type=options.seed_list, default=None, metavar="SEEDS",
                      help="seeds of each injected and unchanged run (default: each framing's own)")
    test.add_argument("--path", choices=("fast", "fused"), default="fast",
                      help="path of the injected runs (fused: 16 seeds a framing, Keras 3 on JAX or TensorFlow; "
                      "injections into fit are then left out)")
    test.add_argument("--ab-rounds", type=options.positive_int, default=8, metavar="N",
                      help="alternating rounds of each A/B throughput comparison (default: 8)")
    options.add_baseline_option(test.add_argument)
    test.set_defaults(command=run_selftest)
    matrix.add_commands(commands)
    golden.add_commands(commands)
    return parser


def _framing_epochs(text: str) -> tuple[str, int]:
    name, _, epochs = text.partition("=")
    try:
        return options.framing_name(name), options.positive_int(epochs)
    except argparse.ArgumentTypeError as error:
        raise argparse.ArgumentTypeError(f"expected FRAMING=N: {error}") from None


def _add_framing_selection(parser) -> None:
    parser.add_argument("framings", nargs="*", type=options.framing_name, metavar="FRAMING",
                        help=f"framings to train (default: all): {', '.join(FRAMINGS)}")


def _selected(args) -> list[str]:
    """The framings named on the command line, each once, in order; none: all."""
    return list(dict.fromkeys(args.framings)) or list(FRAMINGS)


def _session(args, **overrides) -> Session:
    return Session(**{**options.read_options(lambda name: getattr(args, name)), **overrides})


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _print(text: str) -> int:
    print(text, end="")
    return 0


def list_framings(args) -> int:
    return _print(framing_docs.markdown() if args.markdown else framing_docs.listing())


def run_framings(args) -> int:
    from alphabench import compat  # imports Keras
    from alphabench.contracts import CONTRACTS  # imports Keras

    # No directory is no baseline: a check with nothing to compare against fails now, not after the training.
    baseline.check_directory(args.baselines, None if args.update else
                             Advice(args.baselines, args.seeds).create(args.framings, args.path))
    if args.report:
        report.check_destination(args.report)  # before the training, not after it
    session = _session(args, update=args.update, unexpected_pass=args.unexpected_pass, jobs=args.jobs)
    session.check_path()
    loaded = session.load_baseline()  # a broken baseline file is reported now, not after the training
    session.check_can_create()  # and an unwritable directory
    names = _selected(args)
    _log(f"checking {len(CONTRACTS)} contracts Keras must keep ...")  # first: seconds, where framings take minutes
    contracts = [session.contract_verdict(contract.name) for contract in CONTRACTS]
    progress.train_all(session, names)
    verdicts = [session.verdict(name) for name in names]
    summaries = [session.summary(name) for name in names if name in session.results]
    findings = [] if session.overridden else session.findings([s.framing.name for s in summaries])
    table = report.rows(summaries, {v.subject: v for v in verdicts})
    fingerprint = compat.fingerprint()
    print(f"\n{report.header(fingerprint, session.path, session.baseline_file)}\n")
    print(report.text_table(table))
    if session.overridden:
        print("\nnote: settings overridden: results are shown, not judged against expectations or baselines")
    for line in report.notes(contracts + verdicts, findings):
        print(line)
    if args.report:
        written = report.write(args.report, fingerprint, summaries, findings, contracts + verdicts, table, loaded)
        print(f"\nreport: {', '.join(str(p) for p in written[:2])} (+{len(written) - 2} plots)")
    run = RunVerdict(tuple(verdicts), tuple(contracts))
    print(f"\n{run.line()}")
    return run.exit_status


def update_baseline(args) -> int:
    baseline.check_directory(args.baselines)  # a file named as the directory: refused before any training
    _session(args, jobs=args.jobs).update_baseline(args.framings, progress.train_all)
    return 0


def bench_paths(args) -> int:
    framings = [get_framing(name) for name in _selected(args)]
    if args.fused:
        tables = {}
        for backend, rows in bench.time_fused(framings, _log):
            tables[backend] = rows
            print(bench.fused_table(rows) + "\n", flush=True)
        document = lambda: {backend: [row.to_dict() for row in rows] for backend, rows in tables.items()}  # noqa: E731
    else:
        rows = bench.compare_framings(framings, args.seeds, dict(args.reference_epochs), args.reference_backend, _log)
        print(bench.table(rows))
        document = lambda: [row.to_dict() for row in rows]  # noqa: E731
    if args.json:
        with open(args.json, "w") as out:
            json.dump(document(), out, indent=1)
    return 0


def run_selftest(args) -> int:
    outcome = selftest.run(selftest.Selftest(args.baselines, args.seeds, args.ab_rounds, args.path), args.reruns, _log)
    for line in outcome.lines():
        print(line)
    return outcome.exit_status


def compare_baselines(args) -> int:
    return _print(environments.markdown(environments.load(args.files, args.baselines)))


def upgrade_baseline(args) -> int:
    baseline.upgrade(args.file)
    print(f"{args.file}: at schema version {baseline.SCHEMA_VERSION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
