"""`alphabench golden record|spread`: make the golden trajectories, and measure how far others sit from them.

`record` writes this environment's trajectories (alphabench.trajectory) into the shipped golden file,
or into --out FILE to measure one environment without touching it; `spread FILE...` prints, per
framing, each file's largest deviation from the golden values in units of the
tolerance, the measurement the tolerance was chosen from (README, "Golden trajectories").
Exit status 1 when a file leaves the tolerance.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from alphabench import options, trajectory
from alphabench.framings import FRAMINGS, get_framing


def add_commands(commands) -> None:
    golden = commands.add_parser("golden", help="record the golden training trajectories, or measure other "
                                 "environments' spread around them")
    actions = golden.add_subparsers(required=True, metavar="ACTION")
    record = actions.add_parser("record", help="record this environment's trajectories (atomically)")
    record.add_argument("framings", nargs="*", type=options.framing_name, metavar="FRAMING",
                        help="framings to record (default: all)")
    record.add_argument("--out", default=str(trajectory.GOLDEN_FILE), metavar="FILE",
                        help="file to record into (default: the golden file alphabench ships)")
    record.set_defaults(command=record_command)
    spread = actions.add_parser("spread", help="each FILE's largest deviation from the golden trajectories")
    spread.add_argument("paths", nargs="+", metavar="FILE", help="files written by `alphabench golden record --out`")
    spread.add_argument("--golden", default=str(trajectory.GOLDEN_FILE), metavar="FILE")
    spread.set_defaults(command=spread_command)


@dataclass(frozen=True)
class Recording:
    """`golden record`'s outcome: exit status 1 when a framing could not be recorded."""

    recorded: tuple[trajectory.Trajectory, ...]
    failed: tuple[str, ...]

    @property
    def exit_status(self) -> int:
        return 1 if self.failed else 0


def record_command(args) -> int:
    from alphabench import compat, trainer  # imports Keras

    names = list(dict.fromkeys(args.framings)) or list(FRAMINGS)
    recorded, failed = [], []
    for name in names:
        print(f"recording {name}'s trajectory ({trajectory.STEPS} steps) ...", file=sys.stderr, flush=True)
        try:
            recorded.append(trainer.trajectory(get_framing(name)))
        except Exception as error:  # a framing this environment cannot train (a known deviation, say)
            failed.append(name)
            print(f"{name}: not recorded: training raised {type(error).__name__}: {error}".splitlines()[0])
    if recorded:
        trajectory.save(recorded, args.out)
        print(f"{args.out}: {compat.ENVIRONMENT}: {len(recorded)} trajector{'y' if len(recorded) == 1 else 'ies'} "
              f"recorded ({recorded[0].made_with})")
    return Recording(tuple(recorded), tuple(failed)).exit_status


@dataclass(frozen=True)
class Spread:
    """`golden spread`'s rows: (file, recorded trajectory, its departure; None: no golden trajectory).
    Exit status 1 when one leaves the tolerance, or has nothing to be compared with: the spread is then
    not benign."""

    rows: tuple[tuple[str, trajectory.Trajectory, trajectory.Departure | None], ...]

    @property
    def exit_status(self) -> int:
        return 1 if any(departure is None or departure.broken for _, _, departure in self.rows) else 0

    def lines(self) -> list[str]:
        shown = ["| file | framing | recorded with | largest relative deviation | where | in tolerances |",
                 "|---|---|---|---|---|---|"]
        for path, now, departure in self.rows:
            if departure is None:
                shown.append(f"| {path} | {now.framing} | {now.made_with} | no golden trajectory | | |")
            else:
                shown.append(f"| {path} | {now.framing} | {now.made_with} | {departure.deviation:.2g} | "
                             f"{departure.what} | {departure.deviation / trajectory.TOLERANCE:.2g} |")
        return shown


def spread_command(args) -> int:
    golden = trajectory.load(args.golden)
    spread = Spread(tuple((path, now, trajectory.compare(golden[name], now) if name in golden else None)
                          for path in args.paths for name, now in trajectory.load(path).items()))
    for line in spread.lines():
        print(line)
    return spread.exit_status
