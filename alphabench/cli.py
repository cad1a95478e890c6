"""`alphabench` (also `python -m alphabench`): list the framings, run them and gate, keep baselines."""

from __future__ import annotations

import argparse
import sys

from alphabench import options
from alphabench.errors import AlphabenchError
from alphabench.framings import FRAMINGS
from alphabench.results import describe_seeds


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.command(args)
    except KeyboardInterrupt:
        print("alphabench: interrupted", file=sys.stderr)
        return 130
    except AlphabenchError as error:  # anything else is a bug: its traceback shows
        print(f"alphabench: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # `alphabench ... | head` closed the pipe: not an error of ours
        sys.stderr.close()
        return 0


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
    bench = commands.add_parser("bench", help="time the fast path against the tutorial-style reference path")
    _add_framing_selection(bench)
    bench.add_argument("--seeds", type=options.seed_list, default=(1,), metavar="SEEDS",
                       help="seeds for both paths (default: 1)")
    bench.add_argument("--reference-epochs", type=_framing_epochs, action="append", default=[],
                       metavar="FRAMING=N", help="time FRAMING's reference path on N epochs and extrapolate "
                       f"(default: {', '.join(f'{k}={v}' for k, v in DEFAULT_REFERENCE_EPOCHS.items())})")
    bench.add_argument("--reference-backend", choices=("tensorflow", "jax", "torch"),
                       help="run the reference path on this Keras 3 backend (default: this environment's), "
                       "e.g. the JAX fast path against the TensorFlow reference")
    bench.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    bench.set_defaults(command=bench_paths)

    selftest = commands.add_parser("selftest", help="inject regressions into Keras; check the gate catches "
                                   "each, and that unchanged reruns raise no alarm")
    selftest.add_argument("--reruns", type=options.positive_int, default=10, metavar="N",
                          help="unchanged reruns of one_char (default: 10)")
    options.add_baseline_option(selftest.add_argument)
    selftest.set_defaults(command=run_selftest)
    return parser


# The reference path of variable_length alone is ~15 minutes a seed; 5% of it times it well enough.
DEFAULT_REFERENCE_EPOCHS = {"variable_length": 25}


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


def _seeds_text(seeds) -> str:
    """'seed 1', 'seeds 1-3'."""
    return f"seed{'s' * (len(seeds) > 1)} {describe_seeds(seeds)}"


def _train_all(session, names) -> None:
    """Train each framing with a progress display on stderr.

    A framing whose training raises is not retrained: the session keeps the error, and its verdict
    (session.verdict) judges it as a "training" failure, expected or not.
    """
    from alphabench.progress import ProgressLine

    for position, name in enumerate(names, start=1):
        seeds = session.seeds_for(name)
        progress = ProgressLine(f"[{position}/{len(names)}] {name} ({_seeds_text(seeds)}, {session.path} path)",
                                sys.stderr, live=sys.stderr.isatty())
        progress.start()
        try:
            session.train(name, progress)
        except Exception:
            progress.finish("training failed")
        else:
            progress.finish("done")


def _selected(args) -> list[str]:
    """The framings named on the command line, each once, in order; none: all."""
    return list(dict.fromkeys(args.framings)) or list(FRAMINGS)


def run_framings(args) -> int:
    from alphabench import compat, report
    from alphabench.verdict import RunVerdict

    session = _session(args, update=args.update)
    baseline = session.load_baseline()  # a broken baseline file is reported now, not after the training
    session.check_can_create()  # and an unwritable directory
    names = _selected(args)
    _train_all(session, names)
    verdicts = [session.verdict(name) for name in names]
    trained = [name for name in names if name in session.results]
    summaries = [session.summary(name) for name in trained]
    findings = [] if session.overridden else session.findings(trained)
    table = report.rows(summaries, {v.framing: v for v in verdicts})

    print(f"\nalphabench on {compat.ENVIRONMENT} (Keras {compat.keras.__version__}, "
          f"{compat.BACKEND} {compat.backend_version()}), {session.path} path\n")
    print(report.text_table(table))
    if session.overridden:
        print("\nnote: settings overridden: results are shown, not judged against expectations or baselines")
    for v in verdicts:
        for line in v.lines():
            print(line)
    for finding in findings:
        if finding.kind != "regression":  # regressions are failures, printed above
            print(finding.line())
    for v in verdicts:
        for why in dict.fromkeys(v.expected.values()):
            print(f"expected failure {v.framing}: {why}")
    if args.report:
        written = report.write(args.report, compat.fingerprint(), summaries, findings, verdicts, table, baseline)
        print(f"\nreport: {', '.join(str(p) for p in written[:2])} (+{len(written) - 2} plots)")
    run = RunVerdict(tuple(verdicts))
    print(f"\n{run.line()}")
    return run.exit_status


def update_baseline(args) -> int:
    from alphabench import baseline, compat
    from alphabench.errors import UsageError

    session = _session(args)
    if session.overridden:
        raise UsageError("baselines record each framing's tutorial settings: drop --epochs/--units")
    current = session.load_baseline()  # a broken baseline file is reported now, not after the training
    plan = baseline.update_plan(current, session.path, session.seeds, list(dict.fromkeys(args.framings)))
    runs = [(_session(args, path=path, seeds=seeds), names) for (path, seeds), names in plan.items()]
    # Refuse an update the environment or the file system forbids now, not after the training.
    keys = [run.baseline_key(name) for run, names in runs for name in names]
    baseline.check_update(session.baseline_file, keys, compat.fingerprint())
    baseline.check_writable(session.baseline_file)
    results = {}
    for run, names in runs:
        _train_all(run, names)
        for name in names:
            error = run.training_errors.get(name)
            if error is None:
                results[run.baseline_key(name)] = run.train(name)
            elif run.expected_failure(name, "training"):
                print(f"{name}: not in the baseline: training failed as recorded ({type(error).__name__})")
            else:
                raise error  # a new failure: nothing is written, and its traceback shows
    for line in baseline.update(session.baseline_file, results, session.calibration, compat.fingerprint()):
        print(line)
    print(f"wrote {session.baseline_file}")
    return 0


def bench_paths(args) -> int:
    import json

    from alphabench import bench
    from alphabench.framings import get_framing

    reference_epochs = {**DEFAULT_REFERENCE_EPOCHS, **dict(args.reference_epochs)}
    rows = []
    for name in _selected(args):
        print(f"timing {name} ({_seeds_text(args.seeds)}): fast, then reference ...", file=sys.stderr, flush=True)
        rows.append(bench.compare_paths(get_framing(name), args.seeds, reference_epochs.get(name),
                                        args.reference_backend))
    print(bench.table(rows))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(rows, out, indent=1)
    return 0


def show_baseline(args) -> int:
    from alphabench import baseline
    from alphabench.results import format_epochs

    document = baseline.load(args.file)
    environment = document.environment
    print(f"# {environment.environment}: Keras {environment.keras_version}, {environment.backend} "
          f"{environment.backend_version}, Python {environment.python}, {environment.cpu}\n")
    print("| framing | path | seed | accuracy | epochs to 100% | probes |\n|---|---|---|---|---|---|")
    for name, entry in document.framings.items():
        for seed, accuracy, epochs, probes in zip(entry.seeds, entry.accuracy, entry.epochs_to_100, entry.probes):
            shown = ", ".join(f"{probe}={value}" for probe, value in probes.items())
            print(f"| {name} | {entry.path} | {seed} | {accuracy:.2%} | {format_epochs(epochs)} | {shown} |")
    return 0


def run_selftest(args) -> int:
    from alphabench import selftest

    missed = 0
    for injection in selftest.INJECTIONS:
        print(f"injecting: {injection.name} ({injection.framing}, {injection.path} path) ...", file=sys.stderr, flush=True)
        alarms = injection.run(args.baselines)
        missed += not alarms
        print(f"{'caught' if alarms else 'MISSED'}: {injection.name} -> {alarms[0] if alarms else 'no alarm'}")
    print(f"rerunning {selftest.RERUN_FRAMING} unchanged {args.reruns} times ...", file=sys.stderr, flush=True)
    false_alarms = [alarms for alarms in selftest.rerun_unchanged(args.reruns, args.baselines) if alarms]
    for alarms in false_alarms:
        print(f"FALSE ALARM: {alarms[0]}")
    print(f"\nselftest: {len(selftest.INJECTIONS) - missed}/{len(selftest.INJECTIONS)} injected regressions caught, "
          f"{len(false_alarms)}/{args.reruns} unchanged reruns raised an alarm")
    return 1 if missed or false_alarms else 0


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
