"""Time the fast path against the tutorial-style reference path, per framing, in one run.

Each (framing, path) trains in a fresh process, so neither inherits the other's compiled functions
or memory, and the peak resident memory of each can be read separately. Wall time is the whole
trainer.train call (model building, compilation, training, evaluation, probes; imports excluded).
The reference path of a long framing may be timed on a fraction of its epochs: its training part is
then extrapolated per step, the rest counted once; the output says so.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import resource
import statistics
import time

from alphabench.framings import Framing


def _train_in_this_process(framing: Framing, seeds, path: str) -> dict:
    from alphabench import trainer

    start = time.perf_counter()
    results = trainer.train(framing, seeds, path)
    wall = time.perf_counter() - start
    return {
        "results": results,
        "wall_seconds": wall,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def timed_run(framing: Framing, seeds, path: str) -> dict:
    """Train in a fresh process; wall time (training, evaluation, probes), results and peak memory."""
    context = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_train_in_this_process, framing, tuple(seeds), path).result()


def compare_paths(framing: Framing, seeds, reference_epochs: int | None = None) -> dict:
    """Fast path on all seeds at once; reference path one seed after another, as the tutorial runs."""
    fast = timed_run(framing, seeds, "fast")
    reference_framing = framing.with_settings(epochs=reference_epochs) if reference_epochs else framing
    reference = timed_run(reference_framing, seeds, "reference")
    # Scale the reference's training (not its set-up and evaluation) to the full number of epochs.
    reference_training = sum(r["train_seconds"] for r in reference["results"])
    reference_wall = reference["wall_seconds"] + reference_training * (framing.epochs / reference_framing.epochs - 1)
    steps = sum(r["settings"]["epochs"] for r in fast["results"]) * _steps_per_epoch(fast["results"][0])
    return {
        "framing": framing.name,
        "seeds": list(seeds),
        "reference_epochs": reference_framing.epochs,
        "extrapolated": reference_framing.epochs != framing.epochs,
        "fast_seconds": fast["wall_seconds"],
        "reference_seconds": reference_wall,
        "speedup": reference_wall / fast["wall_seconds"],
        "fast_steps_per_second": steps / fast["wall_seconds"],
        "reference_steps_per_second": steps / reference_wall,
        "fast_accuracy": [r["accuracy"] for r in fast["results"]],
        "reference_accuracy": [r["accuracy"] for r in reference["results"]],
        "fast_peak_rss_mb": fast["peak_rss_mb"],
        "reference_peak_rss_mb": reference["peak_rss_mb"],
    }


def _steps_per_epoch(result: dict) -> int:
    from alphabench.data import build_dataset
    from alphabench.framings import get_framing

    samples = len(build_dataset(get_framing(result["framing"])))
    return -(-samples // result["settings"]["batch_size"])


def table(rows: list[dict]) -> str:
    header = ("framing", "seeds", "reference s", "fast s", "speedup", "ref steps/s", "fast steps/s",
              "ref acc (median)", "fast acc (median)", "ref MB", "fast MB")
    lines = [header]
    for row in rows:
        lines.append(
            (
                row["framing"],
                str(len(row["seeds"])),
                f"{row['reference_seconds']:.1f}" + ("*" if row["extrapolated"] else ""),
                f"{row['fast_seconds']:.1f}",
                f"{row['speedup']:.1f}x",
                f"{row['reference_steps_per_second']:.0f}",
                f"{row['fast_steps_per_second']:.0f}",
                f"{statistics.median(row['reference_accuracy']):.2%}",
                f"{statistics.median(row['fast_accuracy']):.2%}",
                f"{row['reference_peak_rss_mb']:.0f}",
                f"{row['fast_peak_rss_mb']:.0f}",
            )
        )
    total_reference = sum(r["reference_seconds"] for r in rows)
    total_fast = sum(r["fast_seconds"] for r in rows)
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    text = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines]
    text.append(f"total: reference {total_reference:.1f}s, fast {total_fast:.1f}s, "
                f"speedup {total_reference / total_fast:.1f}x")
    if any(r["extrapolated"] for r in rows):
        text.append("* reference timed on fewer epochs (ref acc is at those epochs) and extrapolated per step")
    return "\n".join(text)
