"""`alphabench matrix` and `alphabench bisect`: the suite across Keras releases and backends.

A cell is one installation: a Keras (a release, a keras-nightly build, or Keras 2 through tf-keras)
with one backend at one version. Each cell gets its own virtual environment, made with uv from its
cached wheels and reused while its requirements stay the same; alphabench is installed there from
this source tree (editable, without dependencies, so nothing replaces the cell's Keras), and
`alphabench matrix cell` runs inside it: the contracts, then a few framings on the fast path. Its
JSON (a schema 2 baseline of what it trained, plus the contracts' outcomes, the expectations' failures
and any training errors) is written atomically as soon as the cell finishes, so an interrupted
matrix resumes with the first cell that has no file.

The outside process judges the cells, here or after merging the files of separate CI jobs:
each framing of a cell by its own expectations, against the neighbouring cell (the next older
release of the same Keras line on the same backend: what a user upgrading one step sees) and
against the committed baseline of its environment, by the gate's cross-environment rules, with
alphabench.verdict deciding and the known deviations (bounded by the releases measured) making expected
failures. Throughput is left out of those comparisons: a figure from another process, cell or
machine cannot tell a slower release from a busier machine. Between neighbouring cells of one
matrix run it is measured A/B instead, in alternating rounds (alphabench.abtest).

One module a job, each importing only those above it in this list:
- cells: cells, their version eras, order and neighbours
- index: what the package index lists
- files: the cell and A/B files and their typed records (CellResult, ThroughputAB)
- environments: building (or reusing) a cell's virtual environment
- running: running a cell from outside, and what `matrix cell` measures inside it
- ab: throughput A/B between neighbouring cells
- judging: each cell's Verdicts, and the matrix's own outcome (MatrixVerdict, its exit status)
- rendering: matrix.md and matrix.png
- bisect: the first failing release between a good and a bad one
- commands: the `matrix` and `bisect` subcommands on the CLI
"""
