"""``--engine dask``: evaluate inputs on a Dask cluster (``pip install 'losscli[dask]'``).

The inputs become partitions (``partitions.py``: shard i of every input, and large files cut
into row ranges). A partition runs on a worker the same per-block step as the local engine
(:func:`~losscli.engine.block.evaluate_block`, then
:class:`~losscli.stats.accumulator.Accumulator`) and gives back its partial result: sums,
counts, Chan moments, min/max, top-K candidates keyed by (shard, row), the warnings its reader
gave, and per slice the same. Partial results are merged pairwise in a fixed tree (groups of
``SPLIT_EVERY`` partitions, in partition order), never averaging means, so values agree with
the local engine to ~1e-15 and the top-K exactly, with global row numbers.

Quantiles are exact and the same on every run: each partition keeps its per-sample values on
its worker; the client gathers them when they fit the exact-quantile budget, and otherwise
brackets each quantile from a strided sample of them and gathers only the values inside the
brackets (the selection the local engine makes, done where the values are).

The cluster (connection, timeouts, failures) is ``cluster.py``'s.
"""

from __future__ import annotations

import os
import time
from dataclasses import replace

import numpy as np

from ..catalogue import get_loss
from ..errors import InputError, LossCliError
from ..io.kinds import KindGuard
from ..io.spec import split_spec
from ..stats.accumulator import Accumulator, Evaluation
from ..stats.quantiles import QUANTILES, Quantiles, Selection, quantile_ranks
from ..stats.topk import rows_at
from ..vocabulary import QUANTILE_BUDGET, ROW_SUM_TOL
from .block import Warnings, block_rows, evaluate_block, finish
from .cluster import Cluster, progress, session
from .code import code_version, other_code, where_and_what
from .partitions import Part, plan

ROW_BITS = 40  # top-K rows are keyed shard << 40 | row: global order without knowing offsets
SPLIT_EVERY = 8  # partial results merged per task of the merge tree
SAMPLE = 1 << 18  # values in the sample that brackets the quantiles of a large input
MIN_PREFLIGHT_ROWS = 1024  # rows the client reads itself first (errors and notes before the cluster works)


def _partition(task: dict) -> dict:
    """Evaluate every loss on one partition; runs on a worker."""
    if task["code"] != code_version():  # (another losscli can give other numbers: none is merged; a worker
        from distributed import get_worker  # that joined after the session asked them all)

        return {"summary": {"error": other_code(get_worker().address, code_version(), *where_and_what()[:1],
                                                task["code"]), "first": task["index"]}, "values": {}}
    from ..io.cache import InputCache
    from ..plugins import load_plugin
    from ..validation import validate_weights

    from .. import registry

    from ..io import textparse

    # the cores of this host are shared by the worker threads on it: text is parsed on this
    # worker's share of them (a pool per core of each worker would oversubscribe the host)
    textparse.use_threads(_share_of_cores(task["threads_by_host"]))
    registry.ALLOW_OVERRIDE = task["allow_override"]
    for spec in task["plugins"]:  # a user's losses must exist on the worker too
        load_plugin(spec)
    part: Part = task["part"]
    files = part.files
    losses = [get_loss(n) for n in task["losses"]]
    n_inputs = task["n_inputs"]
    slices = task["slices"]
    if slices is not None and slices.file is not None:  # this partition's shard of the --by-file
        files, slices = files[:-1], replace(slices, file=files[-1])
    accs = {l.name: Accumulator(l, task["params"][l.name], task["reduction"], task["top"], task["keep"],
                                quantile_budget=task["slice_budget"], summary=task["summary"],
                                sliced=slices is not None, quantiles=False) for l in losses}
    held: dict[str, list] = {l.name: [] for l in losses}  # per-sample values, for the quantiles
    omitted = {l.name: 0 for l in losses}
    warnings = Warnings()
    cache = InputCache(as_shards=part.sharded, rules=task["rules"], slices=slices, dtype=task["dtype"],
                       windows=part.windows, quiet=True)
    cache.read_for(losses, n_inputs)
    for f, columns, labels in zip(files, task["locked"], task["labels"]):  # as the client's first rows fixed them
        if columns is not None:
            cache.reader(split_spec(f)[0]).locked_columns = list(columns)
            cache.reader(split_spec(f)[0]).label_columns = list(labels)
    for path, header in part.headers.items():  # a later shard: its first line read as the first shard's was
        reader = cache.reader(path)
        reader.rules = replace(reader.rules, header=header)
    rows_seen = 0
    told = time.monotonic()
    try:
        chunk = task["chunk_rows"] or block_rows(losses, cache, files)
        for start, arrays in cache.lockstep(files, chunk, part.first_row):
            for a, shape in zip(arrays, task["shapes"]):  # one row shape in all of an input, whatever the cut
                if a.data.shape[1:] != shape:
                    raise InputError(f"{a.label}: rows of shape {a.data.shape[1:]} from row {start} on, where row 0 "
                                     f"has rows of shape {shape} (one input has one row shape)")
            weight_block = arrays[n_inputs] if len(files) > n_inputs else None
            codes = arrays[-1].data if slices is not None else None
            finite: set = set()
            for loss in losses:
                params = task["params"][loss.name]
                bound, checked, rows, values, normaliser, _ = evaluate_block(
                    loss, arrays[:n_inputs], start, params, task["nan_policy"], finite, task["prob_tol"])
                warnings.add(loss, checked, start)
                kept = checked.kept
                keys = (np.int64(part.shard) << ROW_BITS) + rows_at(rows, slice(None))
                w = None if weight_block is None else validate_weights(weight_block, checked.n_rows, kept)
                shown = {role: (a.data if kept is None else a.data[kept]) for role, a in bound.items()}
                counting = accs[loss.name].add(values, keys, w, normaliser, inputs=shown,
                                               codes=None if codes is None else codes if kept is None else codes[kept])
                if codes is not None and kept is not None:
                    accs[loss.name].add_omitted(codes, kept)
                omitted[loss.name] += checked.omitted
                if task["summary"]:  # (a block's values are its own array: held as they are)
                    held[loss.name].append(np.asarray(counting, dtype=np.float64))
            rows_seen = start + arrays[0].data.shape[0] - part.first_row
            if time.monotonic() - told > 1.0:  # (a long partition is working, not stuck)
                progress(task["topic"], task["index"], rows_seen)
                told = time.monotonic()
    except InputError as exc:  # shipped back as data: the client raises it with its message
        return {"summary": {"error": str(exc), "first": task["index"]}, "values": {}}
    progress(task["topic"], task["index"], rows_seen)  # (its last rows, for the client's count)
    summary = {"shards": {part.shard: rows_seen}, "omitted": omitted, "top": task["top"], "keep": task["keep"],
               "states": {name: acc.state() for name, acc in accs.items()}, "first": task["index"],
               "keys": None if cache.slice_keys is None else cache.slice_keys.keys, "slices": task["slices"],
               "warnings": warnings, "shard_logs": [cache.row_guards.ids.shard_log if cache.row_guards else []],
               # per input, each column's kind where this partition first held it (numbers, booleans)
               "kinds": [cache.reader(split_spec(f)[0]).kinds.first for f in files]}
    values = {name: np.concatenate(parts) if parts else np.empty(0) for name, parts in held.items()}
    return {"summary": summary, "values": values}


def _share_of_cores(threads_by_host: dict[str, int]) -> int | None:
    """Parse threads for a partition on this worker: the host's cores over the worker threads
    the scheduler has on this host (None, one per core, when that is not known)."""
    from urllib.parse import urlsplit

    try:
        from distributed import get_worker

        host = urlsplit(get_worker().address).hostname
    except (ImportError, ValueError):  # (not on a worker)
        return None
    threads = threads_by_host.get(host or "")
    return None if not threads else max(1, (os.cpu_count() or 1) // threads)


def _as_given(specs: list[str]):
    """A function that writes the paths in a message as the user gave them (the workers were
    sent absolute ones)."""
    from .partitions import absolute

    pairs = sorted({(split_spec(absolute(s))[0], split_spec(s)[0]) for s in specs}, key=lambda p: -len(p[0]))

    def given(text: str) -> str:
        for full, as_given in pairs:
            if full != as_given:  # (a shard of dir/ is dir/part-0, not dir//part-0)
                text = text.replace(full.rstrip("/") + "/", as_given.rstrip("/") + "/").replace(full, as_given)
        return text

    return given


def _summary(result: dict) -> dict:
    return result["summary"]


def _merge(parts: list) -> dict:
    """Combine partial results (any grouping, merged in partition order); a task of the tree."""
    from ..io.slices import SliceKeys

    parts = sorted(parts, key=lambda p: p["first"])
    errors = [p for p in parts if "error" in p]
    if errors:
        return errors[0]
    out = {"shards": {}, "omitted": {}, "states": {}, "first": parts[0]["first"], "warnings": Warnings(),
           "top": parts[0]["top"], "keep": parts[0]["keep"], "slices": parts[0]["slices"], "keys": None,
           "shard_logs": [log for p in parts for log in p["shard_logs"]],  # (in partition order)
           "kinds": [KindGuard() for _ in parts[0]["kinds"]]}
    merged = None if out["slices"] is None else SliceKeys(out["slices"])
    for p in parts:
        # (its codes as the merged ones)
        remap = None if merged is None else merged.remap(p["keys"], [out["slices"].file or "the inputs"])
        for shard, rows in p["shards"].items():  # (a shard cut into ranges: their rows add up)
            out["shards"][shard] = out["shards"].get(shard, 0) + rows
        for name, o in p["omitted"].items():
            out["omitted"][name] = out["omitted"].get(name, 0) + o
        out["warnings"].merge(p["warnings"], p["first"])
        try:  # (a column of numbers in one partition and booleans in a later one: refused, as in one block)
            for guard, kinds in zip(out["kinds"], p["kinds"]):
                for name, seen in kinds.items():
                    guard.see(name, seen)
        except InputError as exc:
            return {"error": str(exc), "first": p["first"]}
        for name, st in p["states"].items():
            if name not in out["states"]:
                out["states"][name] = st if remap is None else _merge_states({}, st, out["top"], out["keep"], remap)
            else:
                out["states"][name] = _merge_states(out["states"][name], st, out["top"], out["keep"], remap)
    if merged is not None:
        out["keys"] = merged.keys
    out["kinds"] = [guard.first for guard in out["kinds"]]
    return out


def _merge_states(a: dict, b: dict, top: int, keep: bool, remap: np.ndarray | None = None) -> dict:
    """Two partial states as one (``a`` empty: ``b`` with its slice codes remapped)."""
    sliced = remap is not None
    acc_a = Accumulator(None, {}, top=top, keep_per_sample=keep, sliced=sliced, quantiles=False)
    if a:
        acc_a.load_state(a)
    acc_b = Accumulator(None, {}, top=top, keep_per_sample=keep, sliced=sliced, quantiles=False).load_state(b)
    return acc_a.merge(acc_b, remap).state()


# -- quantiles, from the values the partitions hold on their workers -------------------------------
def _values(result: dict, names: list[str]) -> dict[str, np.ndarray]:
    return {name: result["values"][name] for name in names}


def _sample(result: dict, strides: dict[str, int]) -> dict[str, np.ndarray]:
    return {name: result["values"][name][::stride].copy() for name, stride in strides.items()}


def _inside(result: dict, brackets: dict[str, list]) -> dict[str, Selection]:
    """Per loss, its values fed to a selection of these brackets (counts below, values inside)."""
    return {name: Selection.of(bounds).feed(result["values"][name]) for name, bounds in brackets.items()}


def _sketch(result: dict, names: list[str]) -> dict[str, bytes]:
    from datasketches import kll_doubles_sketch

    from ..stats.quantiles import KLL_K

    out = {}
    for name in names:
        sketch = kll_doubles_sketch(KLL_K)
        values = result["values"][name]
        sketch.update(np.ascontiguousarray(values[np.isfinite(values)]))
        out[name] = bytes(sketch.serialize())
    return out


def _quantiles(run, futures: list, counts: dict[str, tuple[int, bool]], budget: int) -> dict[str, Quantiles]:
    """Every loss's quantiles from the values the partitions (``futures``) hold, all losses in
    each round of tasks (``counts``: per loss, its count and whether a value is NaN): exact
    (the values gathered when they fit ``budget``, else selected), or with ``budget`` 0 the KLL
    sketch, as ``--exact-quantiles 0`` asks."""
    client = run.client
    out: dict[str, Quantiles] = {}
    for name, (count, nan) in counts.items():
        if count == 0 or nan:  # (nothing to select: the result says NaN)
            out[name] = Quantiles(budget)
            out[name].count = count
    rest = [name for name in counts if name not in out]
    if rest and budget == 0:
        from datasketches import kll_doubles_sketch

        found = run.run(client.map(_sketch, futures, names=rest, pure=False), "quantile")
        for name in rest:
            merged = kll_doubles_sketch.deserialize(found[0][name])
            for f in found[1:]:
                merged.merge(kll_doubles_sketch.deserialize(f[name]))
            out[name] = Quantiles.from_state({"count": counts[name][0], "exact": False, "values": None,
                                              "sketch": bytes(merged.serialize())}, 0)
        return out
    held = [name for name in rest if counts[name][0] <= budget]
    if held:  # every value to the client, as the local engine holds them
        found = run.run(client.map(_values, futures, names=held, pure=False), "quantile")
        for name in held:
            out[name] = Quantiles(budget)
            for f in found:
                out[name].add(f[name])
    large = [name for name in rest if counts[name][0] > budget]
    if not large:
        return out
    ks = {}
    for name in large:
        below, above, _ = quantile_ranks(counts[name][0], QUANTILES)
        ks[name] = sorted(set(below.tolist()) | set(above.tolist()))
    strides = {name: max(1, counts[name][0] // SAMPLE) for name in large}
    found = run.run(client.map(_sample, futures, strides=strides, pure=False), "quantile")
    samples = {name: np.sort(np.concatenate([f[name] for f in found])) for name in large}
    for widen in (1.0, 4.0, 16.0, 64.0):
        sels = {name: Selection([k / (counts[name][0] - 1) for k in ks[name]], samples[name], widen) for name in large}
        found = run.run(client.map(_inside, futures, brackets={n: sel.brackets for n, sel in sels.items()},
                                   pure=False), "quantile")
        for name, sel in sels.items():
            for f in found:
                sel.absorb(f[name])
            got = sel.resolve(ks[name])
            if all(k in got for k in ks[name]):
                out[name] = Quantiles.selected(counts[name][0], got)
        large = [name for name in large if name not in out]
        if not large:
            return out
    raise InputError(f"{', '.join(large)}: the quantiles could not be bracketed (the values changed between reads?)")


def dask_evaluations(selected, inputs, by_loss, *, cluster: Cluster | None = None, cache=None, reduction="mean",
                     weights=None, top=5, per_sample=False, gradients=None, nan_policy="raise",
                     chunk_rows="auto", warnings: Warnings | None = None, quantile_budget: int | None = None,
                     summary: bool = True, prob_tol=ROW_SUM_TOL) -> list[Evaluation]:
    """The local engine's ``stream_evaluations``, on a Dask cluster."""
    from ..io.cache import InputCache

    if gradients is not None:
        raise LossCliError("--save-grad is not available with --engine dask (gradients would be "
                           "gathered whole on the client); use the local engine")
    cache = cache if cache is not None else InputCache()
    rules = cache.rules
    if rules.on:
        raise LossCliError("--on is not available with --engine dask (the inputs are matched whole, in one "
                           "process); use the local engine")
    if any(l.coupling == "batch" for l in selected):
        raise LossCliError("--engine dask: " + ", ".join(l.name for l in selected if l.coupling == "batch")
                           + " couple samples across the whole batch; use the local engine")
    slices = None if cache.slice_keys is None else cache.slice_keys.spec
    read = list(inputs) + ([weights] if weights else [])
    # the client reads the first rows itself: a wrong selector or a malformed file is said here,
    # notes are printed once, and the JSON's inputs are recorded, as the local engine does
    cache.read_for(selected, len(inputs))
    first: list = next(iter(cache.lockstep(read, MIN_PREFLIGHT_ROWS)), (0, []))[1]
    shapes = [a.data.shape[1:] for a in first[:len(read)]]
    locked = [cache.reader(split_spec(s)[0]).locked_columns if split_spec(s)[1] is None else None for s in read]
    labels = [cache.reader(split_spec(s)[0]).label_columns for s in read]  # (row labels to compare, pairing.py)
    later = [cache.reader(split_spec(s)[0]).later_header for s in read]
    # a column chosen by position: what the first shard's position names, in every shard
    named = [None if split_spec(s)[1] is None else cache.reader(split_spec(s)[0]).later_selector(split_spec(s)[1])
             for s in read]
    specs = read + ([slices.file] if slices and slices.file else [])  # (a --by-file is cut as the inputs are)
    cluster = cluster or Cluster()
    run = session(cluster)
    given = _as_given(specs)
    try:
        parts = plan(specs, rules, cache.dtype, run, cluster.partition_size, later, named)
    except InputError as exc:
        raise InputError(given(str(exc))) from None
    budget = QUANTILE_BUDGET if quantile_budget is None else quantile_budget
    expected, exact = cache.reader(split_spec(inputs[0])[0]).rows()
    params = {l.name: l.resolve_params(by_loss.get(l.name, {})) for l in selected}
    from ..plugins import loaded_plugins

    from .. import registry

    common = {"code": code_version(), "plugins": loaded_plugins(), "allow_override": registry.ALLOW_OVERRIDE,
              "losses": [l.name for l in selected], "params": params, "n_inputs": len(inputs),
              "reduction": reduction, "top": top, "keep": per_sample, "nan_policy": nan_policy,
              "prob_tol": prob_tol, "rules": rules, "slices": slices, "dtype": cache.dtype, "summary": summary,
              # per-slice quantiles are exact (held through the merges) when the input fits the budget
              "slice_budget": budget if expected is not None and expected <= budget else 0,
              "chunk_rows": None if chunk_rows in ("auto", None) else chunk_rows,
              "threads_by_host": run.threads_by_host(), "shapes": shapes, "topic": run.topic,
              "locked": locked + [None] * (len(specs) - len(read)), "labels": labels + [[]] * (len(specs) - len(read))}
    client = run.client
    futures = client.map(_partition, [{**common, "part": p, "index": i} for i, p in enumerate(parts)], pure=False)
    level = client.map(_summary, futures, pure=False)
    tree = list(level)
    while True:
        level = [client.submit(_merge, level[i:i + SPLIT_EVERY], pure=False)
                 for i in range(0, len(level), SPLIT_EVERY)]
        tree += level
        if len(level) == 1:
            break
    run.wait(futures, "partition", then=tree, rows=expected, exact=exact)  # (values stay on the workers)
    result = run.result(level[0])
    if "error" in result:
        raise InputError(given(result["error"]))
    from ..io.pairing import check_shards_in_order

    try:  # (each partition checked the shards it read; their order is checked here, across partitions)
        check_shards_in_order(result["shard_logs"], {split_spec(f)[0]: split_spec(spec)[0] for p in parts
                                                     for f, spec in zip(p.files, specs)})
    except InputError as exc:
        raise InputError(given(str(exc))) from None
    if warnings is not None:
        warnings.merge(result["warnings"], "dask")
    shards = sorted(result["shards"])
    offsets = np.zeros(shards[-1] + 1, dtype=np.int64)
    offsets[shards] = np.cumsum([0] + [result["shards"][k] for k in shards[:-1]])

    def to_global(keys) -> np.ndarray:  # (shard << ROW_BITS | row) -> row of the whole input
        keys = np.asarray(keys, dtype=np.int64)
        return offsets[keys >> ROW_BITS] + (keys & ((1 << ROW_BITS) - 1))

    # the run's codes (compare evaluates twice: both models' slices share them)
    remap = None if cache.slice_keys is None else cache.slice_keys.remap(result["keys"],
                                                                         [cache.slice_keys.spec.file or specs[0]])
    total_rows = int(sum(result["shards"].values()))
    for spec in specs:  # (the client read the first rows only)
        if spec in cache.inputs:
            cache.inputs[spec]["rows"], cache.inputs[spec]["partitions"] = total_rows, len(parts)
    accs = []
    for loss in selected:
        acc = Accumulator(loss, params[loss.name], reduction, top, per_sample, budget, summary,
                          sliced=remap is not None)
        state = Accumulator(None, {}, top=top, keep_per_sample=per_sample, sliced=remap is not None,
                            quantiles=False).load_state(result["states"][loss.name])
        accs.append(acc.merge(state, remap))
    if summary:  # (the budget is shared by the losses, as locally)
        found = _quantiles(run, futures, {l.name: (a.count, a.moments.nan) for l, a in zip(selected, accs)},
                           budget // len(selected))
        for loss, acc in zip(selected, accs):
            acc.quantiles = found[loss.name]
    out = []
    for loss, acc in zip(selected, accs):
        acc.map_rows(to_global)
        out.append(finish(acc, result["omitted"].get(loss.name, 0), weights))
    del futures, tree, level  # (the workers drop the values they held)
    return out
