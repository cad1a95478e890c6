"""Every user-settable option, defined once for both the CLI and the pytest plugin.

Each group is a function taking an `addoption` callable (argparse's add_argument or pytest's
parser.addoption) and a `prefix` for the flag names, as pytest-benchmark does; the `type=` parsers
refuse bad values with one clear line.
"""

from __future__ import annotations

import argparse
import os

from alphabench.framings import AUTO_PATH, FRAMINGS, TRAINING_PATHS
from alphabench.results import DEFAULT_BASELINES
from alphabench.verdict import UNEXPECTED_PASS_POLICIES


# Every seed is one more model to train, and the baselines hold 1 to 64 seeds a framing: far beyond
# that a typo (1-100000) would keep a machine busy for days instead of failing now.
MAX_SEEDS = 256
SEED_FORMS = "3 (seeds 1-3), 1-5 or 2,7,9; seeds are integers from 0 up"


def seed_list(text: str) -> tuple[int, ...]:
    """'3' -> seeds 1..3; '1-5' -> 1..5; '2,7,9' -> those seeds; seed 0 is allowed ('0-2', '0,5')."""
    try:
        if "," in text:
            seeds = [int(part) for part in text.split(",")]
        elif "-" in text.strip("-"):
            first, last = (int(part) for part in text.split("-", 1))
            if last < first:
                raise argparse.ArgumentTypeError(f"{text!r} is a reversed range; did you mean {last}-{first}?")
            seeds = range(first, last + 1)
        else:
            count = int(text)
            if count == 0:
                raise argparse.ArgumentTypeError("'0' asks for no seeds: a count is at least 1 (3 means seeds 1-3; "
                                                 "seed 0 alone is 0-0)")
            seeds = range(1, count + 1) if count > 0 else [count]
    except ValueError:
        raise argparse.ArgumentTypeError(f"seeds must look like {SEED_FORMS}; got {text!r}") from None
    if min(seeds) < 0:
        raise argparse.ArgumentTypeError(f"seeds are integers from 0 up; got {text!r}")
    if len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"each seed once; got {text!r}")
    if len(seeds) > MAX_SEEDS:
        raise argparse.ArgumentTypeError(
            f"{len(seeds)} seeds is more than the {MAX_SEEDS} a run trains (each seed is one more model to "
            f"train; the baselines hold 1 to 64 a framing); got {text!r}")
    return tuple(seeds)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def framing_name(text: str) -> str:
    if text not in FRAMINGS:
        raise argparse.ArgumentTypeError(f"unknown framing {text!r}; choose from: {', '.join(FRAMINGS)}")
    return text


def add_training_options(addoption, prefix: str = "") -> None:
    addoption(f"--{prefix}seeds", type=seed_list, default=None, metavar="SEEDS",
              help="seeds to train: 3 (=1-3), 1-5 or 2,7,9 (default: each framing's own, "
                   "the seeds its baseline was made with)")
    addoption(f"--{prefix}path", choices=(AUTO_PATH, *TRAINING_PATHS), default=AUTO_PATH,
              help="fused: every seed's steps in one compiled computation, 16 seeds a framing (Keras 3 on "
                   "TensorFlow or JAX); fast: all seeds as replicas of one model, one fit call; reference: the "
                   "tutorial's own fit calls; auto (default): fused where it runs, else fast")
    addoption(f"--{prefix}epochs", type=positive_int, default=None, metavar="N",
              help="override every selected framing's epochs (no baseline comparison then)")
    addoption(f"--{prefix}units", type=positive_int, default=None, metavar="N",
              help="override every selected framing's LSTM units (no baseline comparison then)")




def add_baseline_option(addoption, prefix: str = "", default: str | None = DEFAULT_BASELINES) -> None:
    addoption(f"--{prefix}baselines", default=default, metavar="DIR",
              help=f"directory of baseline JSON files, one per environment (default: {DEFAULT_BASELINES})")


def add_create_option(addoption, prefix: str = "") -> None:
    addoption(f"--{prefix}update", action="store_true", default=False,
              help="write the baseline entries this run finds missing, and say so (without it a missing "
                   "baseline fails the gate, with the command that creates it)")


def add_unexpected_pass_option(addoption, prefix: str = "") -> None:
    addoption(f"--{prefix}unexpected-pass", choices=UNEXPECTED_PASS_POLICIES, default="fail",
              help="a known deviation that no longer shows where it was measured (or inside its measured "
                   "range) is reported as UNEXPECTED PASS either way; fail (default): it fails the run; warn: it does not")


def read_options(get) -> dict:
    """The values of every option above, from `get(dest_without_prefix)`."""
    names = ("seeds", "path", "epochs", "units", "baselines")
    return {name: get(name) for name in names}


def add_jobs_option(addoption, prefix: str = "") -> None:
    """The CLI's: pytest has xdist's -n for the same."""
    cores = len(os.sched_getaffinity(0))
    addoption(f"--{prefix}jobs", type=positive_int, default=cores, metavar="N",
              help=f"framings trained side by side, one process each (default: {cores}, the cores this "
                   "process may use; 1: in this process, with a live progress line)")
