"""Where a framing does not show, in some environment and range of releases, what the tutorial
reported, or Keras breaks one of the contracts the tutorial relies on (alphabench.contracts): what
it breaks and why, as far as the cause was traced. Also where a release of Keras or of a backend
trains a framing slower than the one before it (KnownSlowdown, judged by alphabench.matrix's A/B
pairs).

A deviation records the Keras releases it was measured on, as data: `measured_bad`, where it
showed, and `measured_good`, where it did not (a fix). It holds from its first measured bad release
up to, not including, the first measured good one after it; a release measured good between two
bad ones splits that into two ranges. known_deviation says how far the measurements reach for one
release (an Expectation); alphabench.verdict alone decides what a run that shows, or does not show,
the deviation there means:

- MEASURED: the release was measured bad (or the deviation holds on every release): it must fail;
- INSIDE: inside a range, not measured itself: it should fail; a pass is an unexpected pass too;
- AFTER: newer than the last release measured, which was bad: "known, still present" if it fails,
  a pass that may be a fix if not;
- BEFORE: older than a range's first measured bad release, not measured: explained if it fails,
  a pass if not.
"""

from __future__ import annotations

from dataclasses import dataclass

from packaging.version import InvalidVersion, Version

# The checks a deviation can break (the training tests' names for them). "training": the framing
# cannot be trained at all, so every check fails.
CHECKS = ("training", "accuracy", "probes", "baseline", "lessons", "reference", "equivalence", "benchmark",
          "contract")

# How far the measurements reach for one release (see the module's docstring).
MEASURED, INSIDE, AFTER, BEFORE = "measured", "inside", "after", "before"
PREDICTED = (MEASURED, INSIDE)  # where the deviation is predicted: a pass there is an unexpected pass


def _version(text: str) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise ValueError(f"not a Keras release: {text!r}") from None


@dataclass(frozen=True)
class KnownDeviation:
    environment: str  # "<keras flavour>-<backend>", as compat.ENVIRONMENT names it
    subject: str  # a framing, or a contract of alphabench.contracts
    breaks: tuple[str, ...]  # of CHECKS
    why: str
    # The Keras releases it was measured showing on, and not showing on. Both (): it holds on every
    # release (not a Keras defect).
    measured_bad: tuple[str, ...] = ()
    measured_good: tuple[str, ...] = ()
    # The training paths whose runs show it; () for all. A deviation of a few seeds' median belongs to
    # the path that trains those seeds: the fused path's 16 may straddle the line differently.
    paths: tuple[str, ...] = ()

    def __post_init__(self):
        unknown = set(self.breaks) - set(CHECKS)
        if unknown:
            raise ValueError(f"unknown checks {sorted(unknown)}; known: {CHECKS}")
        bad, good = ({_version(v) for v in releases} for releases in (self.measured_bad, self.measured_good))
        if good and not bad:
            raise ValueError(f"{self.environment} {self.subject}: measured good on {self.measured_good} "
                             "but bad on none: a deviation starts at a measured bad release")
        if bad & good:
            raise ValueError(f"{self.environment} {self.subject}: measured both bad and good on "
                             f"{sorted(str(v) for v in bad & good)}")

    @property
    def measurements(self) -> tuple[tuple[Version, bool], ...]:
        """(release, showed it) for every release measured, oldest first."""
        return tuple(sorted([(_version(v), True) for v in self.measured_bad]
                            + [(_version(v), False) for v in self.measured_good]))

    def ranges(self) -> tuple[tuple[str, str | None], ...]:
        """(first measured bad, first measured good after it, or None: still open), oldest first."""
        found, start = [], None
        for version, bad in self.measurements:
            if bad and start is None:
                start = version
            elif not bad and start is not None:
                found.append((str(start), str(version)))
                start = None
        return tuple(found + ([(str(start), None)] if start is not None else []))

    def measured_text(self) -> str:
        """'measured bad on Keras 3.0.5, 3.8.0; good on 3.13.2', or '' (every release)."""
        if not self.measured_bad:
            return ""
        good = f"; good on {', '.join(self.measured_good)}" if self.measured_good else ""
        return f"measured bad on Keras {', '.join(self.measured_bad)}{good}"

    def matches(self, environment: str, subject: str, path: str | None = None) -> bool:
        if (environment, subject) != (self.environment, self.subject):
            return False
        return not (self.paths and path is not None and path not in self.paths)

    def expectation(self, keras_version: str | None) -> Expectation | None:
        """How far the measurements reach for this release; None where they say it does not hold."""
        if not self.measured_bad or keras_version is None:
            return Expectation(self, keras_version, MEASURED)
        try:
            release = Version(keras_version)
        except InvalidVersion:
            return None
        measured = dict(self.measurements)
        if release in measured:
            return Expectation(self, keras_version, MEASURED) if measured[release] else None
        older = [(v, bad) for v, bad in measured.items() if v < release]
        newer = [(v, bad) for v, bad in measured.items() if v > release]
        lower, upper = (older[-1] if older else None), (newer[0] if newer else None)
        if lower and lower[1]:
            kind = INSIDE if upper else AFTER
        elif upper and upper[1]:
            kind = BEFORE
        else:
            return None
        return Expectation(self, keras_version, kind, lower and str(lower[0]), upper and str(upper[0]))


@dataclass(frozen=True)
class Expectation:
    """A known deviation as it stands for one release: `kind` says how far its measurements reach
    there; `lower` and `upper` are the nearest releases measured on either side (None: none)."""

    deviation: KnownDeviation
    release: str | None
    kind: str  # MEASURED, INSIDE, AFTER or BEFORE
    lower: str | None = None
    upper: str | None = None

    @property
    def predicted(self) -> bool:
        """The deviation is predicted here: a pass is an unexpected pass."""
        return self.kind in PREDICTED

    @property
    def why(self) -> str:
        """The deviation's cause, with the releases it was measured on."""
        measured = self.deviation.measured_text()
        return f"{self.deviation.why} ({measured})" if measured else self.deviation.why

    @property
    def reason(self) -> str:
        """Why a failure that shows it here is explained: its cause, and what the measurements say
        of this release where they do not reach it."""
        note = self.note(True)
        return f"{self.why}; {note}" if note else self.why

    def _between(self) -> str:
        """INSIDE: 'between 3.0.5 (bad) and 3.13.2 (good), as measured'."""
        upper_bad = dict(self.deviation.measurements)[Version(self.upper)]
        return f"between {self.lower} (bad) and {self.upper} ({'bad' if upper_bad else 'good'}), as measured"

    @property
    def position(self) -> str | None:
        """Where this release stands against the measurements, whatever it shows; None: measured."""
        release = f"Keras {self.release}"
        if self.kind == INSIDE:
            return f"{release} not measured: {self._between()}"
        if self.kind == AFTER:
            return (f"{release} is newer than the last release measured ({self.lower}, bad): a failure is the "
                    "deviation, still present; a pass may be its fix")
        if self.kind == BEFORE:
            return f"{release} not measured: older than the first measured bad release {self.upper}"
        return None

    def note(self, shown: bool) -> str | None:
        """What to add where the measurements do not reach this release, given whether it showed."""
        release = f"Keras {self.release}"
        fix = "alphabench bisect --direction fix finds the first good release"
        if self.kind == INSIDE:
            if shown:
                return f"{release} not measured: {self._between()}"
            return f"{release} not measured, {self._between()}, and it passes: the range is wrong here ({fix})"
        if self.kind == AFTER:
            if shown:
                return f"known, still present in {release} (last measured {self.lower})"
            return f"not shown in {release}: it may be fixed (last measured bad {self.lower}; {fix})"
        if self.kind == BEFORE and shown:
            return f"known, present in {release} (not measured; first measured bad {self.upper})"
        return None


# The torch stateful deviation's releases, shared by the framing's training and its golden trajectory:
# one raise breaks both, so every cell and bisect probe measured both alike.
_TORCH_STATEFUL_BAD = ("3.0.5", "3.1.1", "3.2.1", "3.3.3", "3.4.1", "3.5.0", "3.6.0", "3.7.0", "3.8.0", "3.14.0",
                       "3.14.1", "3.15.1")
_TORCH_STATEFUL_GOOD = ("3.9.0", "3.9.1", "3.9.2", "3.10.0", "3.11.3", "3.12.4", "3.13.2", "3.16.0.dev2026102704")

KNOWN_DEVIATIONS = (
    KnownDeviation(
        "keras3-tensorflow", "timestep_window_2", ("accuracy",),
        "the tutorial's 100% is one run; over 9 seeds here only 4 reach 100% after 500 epochs and the "
        "rest miss one of the 24 pairs (median 95.83%, seeds 1-3: 95.83/100/95.83%): two letters of "
        "context train slower than three (timestep_window: 7 of 9 seeds at 100%), not a Keras defect "
        "(tf-keras: 6 of 9, JAX: 6 of 9, torch: 4 of 9 seeds at 100%, where seeds 1-3 happen to pass). "
        "The fused path's 64 seeds here: 38 reach 100% (JAX: 34 of 64), so its median of 16 passes",
        paths=("fast",),
    ),
    KnownDeviation(
        "keras3-jax", "timestep_window_2", ("accuracy",),
        "not a Keras defect, the same spread as on TensorFlow: about half of timestep_window_2's seeds reach "
        "the tutorial's 100% on every environment and the rest miss one of the 24 pairs, which ones by the "
        "floats. With Keras 3.0.5 to 3.7.0 and their era's jax (0.4.23 to 0.4.35) the fused path's seeds "
        "1-16 end alike in every cell, 5 of 16 at 100% (median 95.83%); from Keras 3.8.0 with jax 0.5.0, "
        "10 of 16, as with jax 0.10.2 (34 of 64): 5 of 16 against 34 of 64 is within chance (Fisher's "
        "exact test, p = 0.16), so the median of 16 straddles the line",
        # The full matrix's JAX cells: 3.8.0 (jax 0.5.0) gives 10 of 16 again, its neighbour 3.7.0 (jax
        # 0.4.35) 5 of 16; 3.15.1 by the committed keras3-jax baseline's seeds 1-16.
        measured_bad=("3.0.5", "3.1.1", "3.2.1", "3.3.3", "3.4.1", "3.5.0", "3.6.0", "3.7.0"),
        measured_good=("3.8.0", "3.9.2", "3.10.0", "3.11.3", "3.12.4", "3.13.2", "3.14.1", "3.15.1"),
        paths=("fused",),
    ),
    KnownDeviation(
        "keras3-torch", "stateful", ("training",),
        "Keras 3's PyTorch backend cannot train a stateful LSTM: RNN.call stores the new state with "
        "Variable.assign (keras/src/layers/rnn/rnn.py, `self_state.assign(state)`), which on torch is an "
        "in-place copy_ (keras/src/backend/torch/core.py, Variable._direct_assign) into the tensor the "
        "step's graph used as its initial state, so backward raises 'one of the variables needed for "
        "gradient computation has been modified by an inplace operation' (with torch 2.13.0+cpu). "
        "Keras 3.9.0 copies the states in the generic loop's step on torch (rnn.py, "
        "`states = tree.map_structure(ops.copy, states)`) and trains it; Keras 3.14.0 runs the LSTM "
        "through torch._VF.lstm on CPU too (keras/src/backend/torch/rnn.py, lstm, which until 3.13 "
        "raised NotImplementedError without cuDNN, so the generic loop ran), which takes the state "
        "variable's tensor as its initial state without that copy, and it fails again (causes read from "
        "the source at each end; the ends measured)",
        # 3.9.0 first good (bisect --direction fix 3.8.0 3.13.2) and 3.14.0 first bad again (bisect
        # 3.13.2 3.14.1); the nightly trains it, and no release after 3.15.1 was measured. 3.1.1 to
        # 3.10.0: the full matrix's cells (docs/matrix) as well.
        measured_bad=_TORCH_STATEFUL_BAD,
        measured_good=_TORCH_STATEFUL_GOOD,
    ),
    KnownDeviation(
        "keras3-torch", "timestep_window", ("reference",),
        "the default run checks one tutorial-style seed against the tutorial's single-run 100%; on "
        "torch seed 1's reference run reaches 100% at epoch 480 and ends the 500 epochs at 95.65% "
        "(one pair lost again), while 8 of 9 fast-path seeds end at 100%: the spread timestep_window "
        "shows on every environment (TensorFlow: 7 of 9 seeds), not a Keras defect",
    ),
    KnownDeviation(
        "keras3-jax", "stateful", ("accuracy", "probes", "lessons", "reference"),
        "Keras 3's JAX backend never carries a stateful LSTM's state from one batch to the next inside "
        "fit, train_on_batch or predict_on_batch: the state variables are created untracked "
        "(keras/src/layers/rnn/rnn.py, _create_state_variables under "
        "@tracking.no_automatic_dependency_tracking), so they are not among the model's "
        "non_trainable_variables that JAX's stateless train and predict steps thread through "
        "(keras/src/backend/jax/trainer.py), and RNN.call's `self_state.assign(state)` is dropped; "
        "every batch starts from zeros, so it learns only what one_char can (9 seeds: 68-80%, "
        "recites BBBB...; on 3.0.5 with jax 0.4.23 every seed recites BBBB... too)",
        # 3.3.0 and 3.3.3 by `alphabench bisect` (README), 3.11.x by this round's; 3.4.0 to 3.10.0 raise in
        # the state reset instead (the next deviation), where this one cannot show.
        measured_bad=("3.0.5", "3.1.1", "3.2.1", "3.3.0", "3.3.3", "3.11.0", "3.11.1", "3.11.3", "3.12.4",
                      "3.13.2", "3.14.1", "3.15.1", "3.16.0.dev2026102704"),
    ),
    KnownDeviation(
        "keras3-jax", "stateful", ("training",),
        "Keras 3.4.0 to 3.10.0 on JAX cannot reset a stateful LSTM: RNN.reset_state hands the state "
        "variable itself to ops.zeros_like (keras/src/layers/rnn/rnn.py, `v.assign(ops.zeros_like(v))`), "
        "which jnp.zeros_like refuses (ValueError: Could not convert the KerasVariable rnn_state \"to a "
        "NumPy dtype (via .dtype value 'float32')\") at the first epoch's reset; "
        "Keras 3.11.0 passes `v.value` and resets. Keras's, not jax's: 3.4.0 fails with 3.3.3's jax 0.4.28, "
        "and 3.11.0 resets with 3.10.0's jax 0.6.2; 3.3.3 has the same line and resets (what 3.4.0 changed "
        "around it was not traced)",
        # 3.4.0 first bad (bisect 3.3.3 3.4.1) and 3.11.0 first good (bisect --direction fix 3.10.0
        # 3.11.3); the rest by the full matrix's JAX cells and an earlier session's (README).
        measured_bad=("3.4.0", "3.4.1", "3.5.0", "3.6.0", "3.7.0", "3.8.0", "3.9.2", "3.10.0"),
        measured_good=("3.0.5", "3.1.1", "3.2.1", "3.3.3", "3.11.0", "3.11.1", "3.11.3", "3.12.4", "3.13.2",
                       "3.14.1"),
    ),
    KnownDeviation(
        "keras3-jax", "reset_zeroes_state", ("contract",),
        "the stateful framing's JAX reset deviation (Keras 3.4.0 to 3.10.0), seen directly: reset_states "
        "raises in ops.zeros_like of the state variable",
        # The framing's bisect probes measured it too: first bad 3.4.0, first good 3.11.0.
        measured_bad=("3.4.0", "3.4.1", "3.5.0", "3.6.0", "3.7.0", "3.8.0", "3.9.2", "3.10.0"),
        measured_good=("3.0.5", "3.1.1", "3.2.1", "3.3.3", "3.11.0", "3.11.1", "3.11.3", "3.12.4", "3.13.2",
                       "3.14.1", "3.15.1"),
    ),
    KnownDeviation(
        "keras3-jax", "state_carries_between_batches", ("contract",),
        "the stateful framing's JAX deviation, seen directly: predict_on_batch twice on the same input "
        "gives the same output, the state variables being outside the model's non_trainable_variables "
        "that JAX's stateless predict step threads through",
        measured_bad=("3.0.5", "3.1.1", "3.2.1", "3.3.3", "3.4.0", "3.4.1", "3.5.0", "3.6.0", "3.7.0", "3.8.0",
                      "3.9.2", "3.10.0", "3.11.0", "3.11.1", "3.11.3", "3.12.4", "3.13.2", "3.14.1", "3.15.1"),
    ),
    KnownDeviation(
        "keras3-jax", "trajectory_stateful", ("contract",),
        "the stateful framing's JAX deviation, seen in its golden trajectory: train_on_batch starts every "
        "batch from a zero state, so the loss leaves the golden one (recorded on TensorFlow, which JAX "
        "follows within 2.2e-7 on every other framing) at step 2, by 1.9e-3; on Keras 3.4.0 to 3.10.0 "
        "the reset after training raises instead (the reset deviation above)",
        measured_bad=("3.0.5", "3.1.1", "3.2.1", "3.3.3", "3.4.0", "3.4.1", "3.5.0", "3.6.0", "3.7.0", "3.8.0",
                      "3.9.2", "3.10.0", "3.11.0", "3.11.1", "3.11.3", "3.12.0", "3.12.4", "3.13.2", "3.14.0",
                      "3.14.1", "3.15.1", "3.16.0.dev2026102704"),
    ),
    KnownDeviation(
        "keras3-torch", "trajectory_stateful", ("contract",),
        "the stateful framing's PyTorch deviation: its first train_on_batch raises (the in-place state "
        "assign under autograd, as in its training; with torch 2.13.0+cpu), on the releases where the "
        "framing cannot train (the bisects' probes and the full matrix's cells measured both alike)",
        measured_bad=_TORCH_STATEFUL_BAD,
        measured_good=_TORCH_STATEFUL_GOOD,
    ),
    KnownDeviation(
        "keras3-tensorflow", "fit_reshuffles", ("contract",),
        "after keras.utils.set_random_seed, Keras 3's fit(shuffle=True) on TensorFlow feeds every epoch in "
        "one order: its array adapter draws the permutation with tf.random.shuffle inside a "
        "tf.data map (keras/src/trainers/data_adapters/array_data_adapter.py, get_tf_dataset), and each "
        "epoch's new iterator reruns that op with the same seed (tf-keras and Keras 3 on JAX reshuffle; "
        "with TensorFlow 2.16 to 2.21, each release's era's). The reference path, which seeds that way, "
        "trains on one random order per seed there, not a new one each epoch",
        # Every Keras 3 line's last patch the full matrix ran on TensorFlow (docs/matrix/cells).
        measured_bad=("3.0.5", "3.1.1", "3.2.1", "3.3.3", "3.4.1", "3.5.0", "3.6.0", "3.7.0", "3.8.0", "3.9.2",
                      "3.10.0", "3.11.3", "3.12.0", "3.12.4", "3.13.2", "3.14.1", "3.15.1", "3.16.0.dev2026102704"),
    ),
)


def known_deviation(environment: str, subject: str, check: str, keras_version: str | None = None,
                    path: str | None = None) -> Expectation | None:
    """The known deviation that breaks `check` of this framing (or contract) in this environment
    and release (and on this training path; None: any), as far as its measurements reach there; or
    None. The one place every caller asks; alphabench.verdict decides what it means."""
    for deviation in KNOWN_DEVIATIONS:
        if deviation.matches(environment, subject, path) and {"training", check} & set(deviation.breaks):
            found = deviation.expectation(keras_version)
            if found is not None:
                return found
    return None


@dataclass(frozen=True)
class KnownSlowdown:
    """A release of Keras or of a backend that trains a framing slower than the release before it,
    timed A/B with everything else held. A pair (neighbouring matrix cells, or `alphabench ab`'s two
    environments) whose upgrade of that package crosses it (before on `last_fast` or older, after on
    `first_slow` or newer) is expected to be slower: abtest.Comparison says so, with this cause, and
    does not fail. A pair that does not cross it is judged as any other; one that does is excused
    whatever else slowed it (another slowdown in the same pair hides behind it; its ratio is still
    shown), so a slowdown is recorded only as measured with the rest held, between adjacent releases."""

    backend: str  # tensorflow, jax or torch: what it trains on
    framing: str
    package: str  # whose release slowed it: "keras", or the backend itself
    last_fast: str  # that package's release before it (the index lists none between the two)
    first_slow: str
    why: str

    def crossed_by(self, backend: str, framing: str, upgrades: dict[str, tuple[str, str]]) -> bool:
        """upgrades: package -> (release before, release after) of a pair's upgrade."""
        if (backend, framing) != (self.backend, self.framing) or self.package not in upgrades:
            return False
        before, after = upgrades[self.package]
        return Version(before) <= Version(self.last_fast) and Version(self.first_slow) <= Version(after)

    @property
    def release(self) -> str:
        """'Keras 3.12.0', 'jax 0.4.33'."""
        return f"{'Keras' if self.package == 'keras' else self.package} {self.first_slow}"

    @property
    def cause(self) -> str:
        """What a slower pair that crosses it is told."""
        return f"{self.release} trains it slower than {self.last_fast}, a known slowdown: {self.why}"


KNOWN_SLOWDOWNS = (
    # No end: with Keras 3.5.0 held it is still there at jax 0.5.3, the newest jax 3.5.0 runs, and jax
    # 0.10.2 no longer has the old runtime to hold against (README, 'Breaks the matrix found').
    KnownSlowdown(
        "jax", "one_char", "jax", "0.4.31", "0.4.33",
        "XLA:CPU's thunk runtime, as jaxlib 0.4.33 runs it (0.4.32 was withdrawn), runs one_char's "
        "batch-1 train steps slower: with XLA_FLAGS=--xla_cpu_use_thunk_runtime=false on both sides the "
        "slowdown is gone, with jax's CPU async dispatch (new by default in the same releases) off it stays. "
        "Not Keras's: with jax held, Keras 3.6.0 trains as fast as 3.5.0 (README, 'Breaks the matrix "
        "found', has the A/B figures)",
    ),
    KnownSlowdown(
        "torch", "one_char", "keras", "3.11.3", "3.12.0",
        "Keras 3.12.0 flattens and maps its nested structures on the torch backend with "
        "torch.utils._pytree, in Python (keras/src/tree/torchtree_impl.py, added for torch.compile by "
        "keras-team/keras#21661), where 3.11 used optree's C implementation, and one_char's batch-1 "
        "steps make many such calls each. Not torch's: torch held at 2.13.0; with optree_impl loaded "
        "in torchtree_impl's place, 3.12.0 is not slower than 3.11.3 (README, 'Breaks the matrix found', "
        "has the A/B figures and the profile)",
    ),
)


def known_slowdown(backend: str, framing: str, keras_line: str, before: tuple[str, str],
                   after: tuple[str, str]) -> KnownSlowdown | None:
    """The known slowdown of `framing` that an upgrade on `backend` crosses, or None. keras_line: "keras"
    (Keras 3's releases and nightlies) or "tf-keras"; before, after: (Keras release, backend release)."""
    upgrades = {keras_line: (before[0], after[0]), backend: (before[1], after[1])}
    for slowdown in KNOWN_SLOWDOWNS:
        if slowdown.crossed_by(backend, framing, upgrades):
            return slowdown
    return None
