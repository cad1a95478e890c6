"""`alphabench` (also `python -m alphabench`): list the framings, run them and gate, keep baselines."""

from __future__ import annotations

import argparse
import json
import os
import sys

from alphabench import bench, golden, options, progress
from alphabench.errors import AlphabenchError
from alphabench.framings import FRAMINGS
from alphabench.matrix import commands as matrix
from alphabench.results import describe_seeds


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
    options.add_create_option(run.add_argument)
    run.add_argument("--report", metavar="DIR",
                     help="also write report.json, report.md and learning-curve PNGs to DIR")
    run.set_defaults(command=run_framings)

    baseline = commands.add_parser("baseline", help="create, update or upgrade this environment's baseline")
    baseline_commands = baseline.add_subparsers(required=True, metavar="ACTION")
    update = baseline_commands.add_parser("update", help="train and write the baseline (atomically)")
    _add_framing_selection(update)
    options.add_training_options(update.add_argument)
    options.add_baseline_option(update.add_argument)
    update.set_defaults(command=update_baseline)
    show = baseline_commands.add_parser("show", help="print a baseline's per-seed table (Markdown)")
    show.add_argument("file")
    show.set_defaults(command=show_baseline)
    compare = baseline_commands.add_parser("compare", help="every environment's baseline side by side, "
                                           "differences flagged (Markdown)")
    compare.add_argument("files", nargs="*", metavar="FILE",
                         help="baseline files (default: every *.json in the baselines directory)")
    options.add_baseline_option(compare.add_argument)
    compare.set_defaults(command=compare_baselines)
    upgrade = baseline_commands.add_parser("upgrade", help="rewrite a baseline file in the current schema")
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

    ab = commands.add_parser("ab", help="compare this environment's training throughput with another's, "
                             "measured in alternating rounds on this machine (e.g. before and after an upgrade)")
    ab.add_argument("other_python", metavar="PYTHON",
                    help="the other environment's interpreter (alphabench installed there), e.g. old-venv/bin/python")
    ab.add_argument("framing", nargs="?", type=options.framing_name, default="one_char",
                    help="framing to time (default: one_char)")
    ab.add_argument("--rounds", type=options.positive_int, default=8, metavar="N",
                    help="alternating rounds (default: 8; fewer cannot reach the false-alarm budget)")
    ab.add_argument("--epochs", type=options.positive_int, default=60, metavar="N",
                    help="epochs a round trains (default: 60)")
    ab.set_defaults(command=ab_throughput)
    throughput = commands.add_parser("throughput", help="train one framing briefly and print its steps per "
                                     "second as JSON (what `alphabench ab` runs in each environment)")
    throughput.add_argument("framing", type=options.framing_name)
    throughput.add_argument("--epochs", type=options.positive_int, default=60, metavar="N")
    throughput.set_defaults(command=print_throughput)

    selftest = commands.add_parser("selftest", help="inject regressions into Keras; check the gate catches "
                                   "each, and that unchanged reruns raise no alarm")
    selftest.add_argument("--reruns", type=options.positive_int, default=10, metavar="N",
                          help="unchanged reruns of one_char (default: 10)")
    selftest.add_argument("--seeds", type=options.seed_list, default=None, metavar="SEEDS",
                          help="seeds of each injected and unchanged run (default: each framing's own)")
    selftest.add_argument("--path", choices=("fast", "fused"), default="fast",
                          help="path of the injected runs (fused: 16 seeds a framing, Keras 3 on JAX or TensorFlow; "
                          "injections into fit are then left out)")
    selftest.add_argument("--ab-rounds", type=options.positive_int, default=8, metavar="N",
                          help="alternating rounds of each A/B throughput comparison (default: 8)")
    options.add_baseline_option(selftest.add_argument)
    selftest.set_defaults(command=run_selftest)
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


def list_framings(args) -> int:
    if args.markdown:
        from alphabench.framing_docs import markdown

        print(markdown(), end="")
        return 0
    header = ("framing", "units", "epochs", "batch", "shuffle", "stateful", "input", "seeds", "tutorial")
    rows = [header] + [
        (
            f.name, str(f.units), str(f.epochs), str(f.batch_size or "all"), str(f.shuffle),
            str(f.stateful), f"{f.context} {f.layout}", describe_seeds(f.seeds), f.reported_range,
        )
        for f in FRAMINGS.values()
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    print()
    for f in FRAMINGS.values():
        print(f"{f.name}: {f.summary}")
    return 0


def _session(args, **overrides):
    from alphabench.session import Session

    return Session(**{**options.read_options(lambda name: getattr(args, name)), **overrides})


def _check_contracts(session) -> list:
    """The contracts' verdicts, first: seconds, where the framings take minutes."""
    from alphabench.contracts import CONTRACTS

    print(f"checking {len(CONTRACTS)} contracts Keras must keep ...", file=sys.stderr, flush=True)
    return [session.contract_verdict(contract.name) for contract in CONTRACTS]


def _selected(args) -> list[str]:
    """The framings named on the command line, each once, in order; none: all."""
    return list(dict.fromkeys(args.framings)) or list(FRAMINGS)


def run_framings(args) -> int:
    from alphabench import compat, report
    from alphabench.verdict import RunVerdict

    if args.report:
        report.check_destination(args.report)  # before the training, not after it
    session = _session(args, update=args.update)
    session.check_path()
    baseline = session.load_baseline()  # a broken baseline file is reported now, not after the training
    session.check_can_create()  # and an unwritable directory
    names = _selected(args)
    contracts = _check_contracts(session)
    progress.train_all(session, names)
    verdicts = [session.verdict(name) for name in names]
    trained = [name for name in names if name in session.results]
    summaries = [session.summary(name) for name in trained]
    findings = [] if session.overridden else session.findings(trained)
    table = report.rows(summaries, {v.subject: v for v in verdicts})

    print(f"\nalphabench on {compat.ENVIRONMENT} (Keras {compat.keras.__version__}, "
          f"{compat.BACKEND} {compat.backend_version()}), {session.path} path\n")
    print(report.text_table(table))
    if session.overridden:
        print("\nnote: settings overridden: results are shown, not judged against expectations or baselines")
    for v in contracts + verdicts:
        for line in v.lines():
            print(line)
    # The environment's note is the same for every framing judged against one baseline: once.
    environment_notes = {}
    for finding in findings:
        if finding.metric == "environment":
            environment_notes.setdefault(finding.rule, []).append(finding.framing)
        elif finding.kind != "regression":  # regressions are failures, printed above
            print(finding.line())
    for rule, framings in environment_notes.items():
        print(f"NOTE environment ({', '.join(framings)}): cross-environment rules; {rule}")
    for v in contracts + verdicts:
        for why in dict.fromkeys(v.expected.values()):
            print(f"expected failure {v.subject}: {why}")
    if args.report:
        written = report.write(args.report, compat.fingerprint(), summaries, findings, contracts + verdicts, table,
                               baseline)
        print(f"\nreport: {', '.join(str(p) for p in written[:2])} (+{len(written) - 2} plots)")
    run = RunVerdict(tuple(verdicts), tuple(contracts))
    print(f"\n{run.line()}")
    return run.exit_status


def update_baseline(args) -> int:
    _session(args).update_baseline(args.framings, progress.train_all)
    return 0


def bench_paths(args) -> int:
    from alphabench.framings import get_framing

    framings = [get_framing(name) for name in _selected(args)]
    if args.fused:
        tables = {}
        for backend, rows in bench.time_fused(framings, _log):
            tables[backend] = rows
            print(bench.fused_table(rows) + "\n", flush=True)
        document = lambda: {backend: [row.to_dict() for row in rows] for backend, rows in tables.items()}
    else:
        rows = bench.compare_framings(framings, args.seeds, dict(args.reference_epochs), args.reference_backend, _log)
        print(bench.table(rows))
        document = lambda: [row.to_dict() for row in rows]
    if args.json:
        with open(args.json, "w") as out:
            json.dump(document(), out, indent=1)
    return 0


def _log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def show_baseline(args) -> int:
    from alphabench import baseline
    from alphabench.results import format_epochs

    document = baseline.load(args.file)
    environment = document.environment
    print(f"# {environment.environment}: Keras {environment.keras_version}, {environment.backend} "
          f"{environment.backend_version}, Python {environment.python}, {environment.cpu}"
          f"{', ' + environment.cpu_signature if environment.cpu_signature else ''}\n")
    print("| framing | path | seed | accuracy | epochs to 100% | probes |\n|---|---|---|---|---|---|")
    for name, entry in document.framings.items():
        for seed, accuracy, epochs, probes in zip(entry.seeds, entry.accuracy, entry.epochs_to_100, entry.probes):
            shown = ", ".join(f"{probe}={value}" for probe, value in probes.items())
            print(f"| {name} | {entry.path} | {seed} | {accuracy:.2%} | {format_epochs(epochs)} | {shown} |")
    return 0


def run_selftest(args) -> int:
    from alphabench import selftest

    outcome = selftest.run(selftest.Selftest(args.baselines, args.seeds, args.ab_rounds, args.path), args.reruns, _log)
    for line in outcome.lines():
        print(line)
    return outcome.exit_status


def print_throughput(args) -> int:
    import json

    from alphabench import abtest, trainer
    from alphabench.framings import get_framing

    framing = get_framing(args.framing).with_settings(epochs=args.epochs)
    result = trainer.train(framing, framing.seeds)[0]
    print(json.dumps(abtest.Throughput(result.steps_per_second, result.environment).to_dict()))
    return 0


def ab_throughput(args) -> int:
    from alphabench import abtest

    abtest.check_interpreter(args.other_python, args.framing)  # one line, before the progress line
    measured = {}

    def measure(python: str) -> float:
        measured[python] = abtest.measure_in(python, args.framing, args.epochs)
        print(".", end="", file=sys.stderr, flush=True)
        return measured[python].steps_per_second

    print(f"timing {args.framing} in turns, {args.rounds} rounds ", end="", file=sys.stderr, flush=True)
    try:
        pairs = abtest.interleaved(lambda: measure(args.other_python), lambda: measure(sys.executable), args.rounds)
    finally:
        print(file=sys.stderr)  # the progress line ends before an error or the results
    comparison = abtest.Comparison(tuple(pairs))
    for a, b in pairs:
        print(f"round: {a:.1f} -> {b:.1f} steps/s ({b / a:.2f}x)")
    print(comparison.line(measured[args.other_python].description, measured[sys.executable].description))
    return comparison.exit_status


def compare_baselines(args) -> int:
    from pathlib import Path

    from alphabench import baseline, environments
    from alphabench.errors import UsageError

    files = args.files or sorted(str(path) for path in Path(args.baselines).glob("*.json"))
    if len(files) < 2:
        raise UsageError(f"need two or more baseline files to compare, found {len(files)} in {args.baselines}; "
                         "name them, or make one per environment with `alphabench baseline update`")
    documents = {}
    for file in files:
        document = baseline.load(file)
        documents[document.environment.environment] = document
    print(environments.markdown(documents), end="")
    return 0


def upgrade_baseline(args) -> int:
    from alphabench import baseline

    baseline.upgrade(args.file)
    print(f"{args.file}: at schema version {baseline.SCHEMA_VERSION}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
