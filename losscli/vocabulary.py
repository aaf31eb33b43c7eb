"""The words and defaults the command line and the library share, declared once. Light on purpose:
the CLI reads these to build its options without importing numpy."""

from __future__ import annotations

#: loss families (``losscli list --category``)
CATEGORIES = ("regression", "classification", "ranking", "embedding", "sequence", "custom")

#: How a loss couples the elements of its inputs.
#: ``elementwise``: each per-sample loss is a sum/mean of terms that each depend on one element
#: of each input, at the same position; ``row``: sample i's loss depends on row i of every input
#: only; ``batch``: a sample's loss may depend on other rows (InfoNCE, GE2E).
COUPLINGS = ("elementwise", "row", "batch")

#: mean (Σ w·l / Σ w·n), sum (Σ w·l), none (per-sample)
REDUCTIONS = ("mean", "sum", "none")
#: the reductions that give one number (what compare and a check gate compare)
SCALAR_REDUCTIONS = tuple(r for r in REDUCTIONS if r != "none")

#: what NaN/inf in the inputs do: an error, the rows dropped, or passed through
NAN_POLICIES = ("raise", "omit", "propagate")

#: How far a probability row's sum may be from 1 (absolute; ``--prob-tol``): values written with
#: 6 decimals over 100 classes stay inside it, a row that is not a distribution does not
#: (probabilities rounded to 3-4 decimals need about 1e-3)
ROW_SUM_TOL = 1e-4

#: the version of the JSON records' layout (``schema_version``): raised when a key is added
JSON_SCHEMA_VERSION = 2

#: precisions the inputs can be read in (reductions are accumulated in float64 either way)
DTYPES = ("float64", "float32")

#: worst samples shown by default
DEFAULT_TOP = 5

#: ``--per-sample`` in a table: the samples listed (in row order); the machine formats list every one
PER_SAMPLE_ROWS = 20

#: per-sample values held, per run, for exact quantiles of inputs that cannot be read twice (8
#: bytes each: 80 MB); beyond it an Apache DataSketches KLL sketch takes over
QUANTILE_BUDGET = 10_000_000

#: bootstrap resamples at the most (``compare --bootstrap``, a gate's ``bootstrap``): the interval's
#: percentiles are stable to ~1e-3 long before, and each resample costs a pass over the rows
MAX_BOOTSTRAP = 1_000_000
#: the paired bootstrap's defaults (``compare --bootstrap/--confidence/--seed``, a gate's keys)
BOOTSTRAP = 1000
CONFIDENCE = 0.95
BOOTSTRAP_SEED = 0

#: --min-slice-size: slices of fewer rows are reported, not ranked or gated (a mean of fewer
#: than ~30 values has a standard error too large to compare slices by)
MIN_SLICE_SIZE = 30

#: slices the table lists without --top-slices (machine formats list every slice)
TABLE_TOP_SLICES = 10
