"""``--engine dask``: evaluate sharded inputs on a Dask cluster (``pip install 'losscli[dask]'``).

Each input is a list of shards (a directory, a glob, or one file); shard i of every input forms
partition i. A partition is evaluated by the same per-block step as the local engine
(:func:`~losscli.engine.block.evaluate_block`, then :class:`~losscli.stats.accumulator.Accumulator`) and returns its partial result: block sums,
counts, Chan moments, min/max, top-K candidates keyed by (shard, row) and a KLL quantile sketch.
Dask's reduction tree merges partials pairwise (``Bag.reduction`` with ``split_every``), never
averaging means, so reductions agree with the local engine to ~1e-15 and the top-K exactly, with
global row numbers. Without ``--scheduler`` (or ``DASK_SCHEDULER_ADDRESS``) a local cluster sized
to the machine is started; with it, the existing cluster is used.
"""

from __future__ import annotations

import os
import sys
from dataclasses import replace

import numpy as np

from ..catalogue import get_loss
from ..vocabulary import ROW_SUM_TOL
from ..errors import InputError, LossCliError
from ..io.rules import ReadRules
from ..io.slices import SliceKeys
from ..stats.accumulator import Accumulator, Evaluation
from ..stats.topk import rows_at
from .block import block_rows, evaluate_block, finish

ROW_BITS = 40  # top-K rows are keyed shard << 40 | row: global order without knowing offsets


def shard_lists(specs: list[str]) -> list[list[str]]:
    """Per spec, its shard files (with the selector re-attached); all specs must have as many."""
    from ..io.cache import FileReader
    from ..io.spec import split_spec

    out = []
    for spec in specs:
        path, selector = split_spec(spec)
        if path == "-":
            raise LossCliError("--engine dask reads files or shards, not standard input")
        files = FileReader(path).shards or [path]
        out.append([f if selector is None else f"{f}:{selector}" for f in files])
    counts = {len(x) for x in out}
    if len(counts) > 1:
        desc = ", ".join(f"{s} has {len(x)}" for s, x in zip(specs, out))
        raise InputError(f"shards do not line up: {desc} shards (every input needs the same number)")
    return out


def _partition(task: dict) -> dict:
    """Evaluate every loss on one shard group; runs on a worker."""
    from ..io.cache import InputCache
    from ..plugins import load_plugin
    from ..validation import validate_weights

    from .. import registry

    registry.ALLOW_OVERRIDE = task["allow_override"]
    for spec in task["plugins"]:  # a user's losses must exist on the worker too
        load_plugin(spec)
    shard, files = task["shard"], task["files"]
    losses = [get_loss(n) for n in task["losses"]]
    n_inputs = task["n_inputs"]
    slices = task["slices"]
    if slices is not None and slices.file is not None:  # this partition's shard of the --by-file
        files, slices = files[:-1], replace(slices, file=files[-1])
    accs = {l.name: Accumulator(l, task["params"][l.name], task["reduction"], task["top"], task["keep"],
                                quantile_budget=0, sliced=slices is not None) for l in losses}
    omitted = {l.name: 0 for l in losses}
    cache = InputCache(as_shards=True, rules=task["rules"], slices=slices)
    rows_seen = 0
    try:
        chunk = task["chunk_rows"] or block_rows(losses, cache, files)
        for start, arrays in cache.lockstep(files, chunk):
            weight_block = arrays[n_inputs] if len(files) > n_inputs else None
            codes = arrays[-1].data if slices is not None else None
            finite: set = set()
            for loss in losses:
                params = task["params"][loss.name]
                bound, checked, rows, values, normaliser = evaluate_block(
                    loss, arrays[:n_inputs], start, params, task["nan_policy"], finite, task["prob_tol"])
                kept = checked.kept
                keys = (np.int64(shard) << ROW_BITS) + rows_at(rows, slice(None))
                w = None if weight_block is None else validate_weights(weight_block, checked.n_rows, kept)
                shown = {role: (a.data if kept is None else a.data[kept]) for role, a in bound.items()}
                accs[loss.name].add(values, keys, w, normaliser, inputs=shown,
                                    codes=None if codes is None else codes if kept is None else codes[kept])
                if codes is not None and kept is not None:
                    accs[loss.name].add_omitted(codes, kept)
                omitted[loss.name] += checked.omitted
            rows_seen = start + arrays[0].data.shape[0]
    except InputError as exc:  # shipped back as data: the client raises it with its message
        return {"error": str(exc)}
    return {"shards": {shard: rows_seen}, "omitted": omitted, "top": task["top"], "keep": task["keep"],
            "states": {name: acc.state() for name, acc in accs.items()}, "first": shard,
            "keys": None if cache.slice_keys is None else cache.slice_keys.keys, "slices": task["slices"]}


def _merge(parts) -> dict:
    """Combine partial results (any grouping); applied by Dask's reduction tree."""
    parts = [p for p in parts]
    errors = [p for p in parts if "error" in p]
    if errors:
        return errors[0]
    parts.sort(key=lambda p: p["first"])
    out = {"shards": {}, "omitted": {}, "states": {}, "first": parts[0]["first"],
           "top": parts[0]["top"], "keep": parts[0]["keep"], "slices": parts[0]["slices"], "keys": None}
    merged = None if out["slices"] is None else SliceKeys(out["slices"])
    for p in parts:
        remap = None if merged is None else merged.remap(p["keys"], ["--by"])  # its codes as the merged ones
        out["shards"].update(p["shards"])
        for name, o in p["omitted"].items():
            out["omitted"][name] = out["omitted"].get(name, 0) + o
        for name, st in p["states"].items():
            if name not in out["states"]:
                out["states"][name] = st if remap is None else _merge_states({}, st, out["top"], out["keep"], remap)
            else:
                out["states"][name] = _merge_states(out["states"][name], st, out["top"], out["keep"], remap)
    if merged is not None:
        out["keys"] = merged.keys
    return out


def _merge_states(a: dict, b: dict, top: int, keep: bool, remap: np.ndarray | None = None) -> dict:
    """Two partial states as one (``a`` empty: ``b`` with its slice codes remapped)."""
    sliced = remap is not None
    acc_a = Accumulator(None, {}, top=top, keep_per_sample=keep, quantile_budget=0, sliced=sliced)
    if a:
        acc_a.load_state(a)
    acc_b = Accumulator(None, {}, top=top, keep_per_sample=keep, quantile_budget=0, sliced=sliced).load_state(b)
    return acc_a.merge(acc_b, remap).state()


def _client(scheduler: str | None):
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise LossCliError("--engine dask needs dask and distributed: pip install 'losscli[dask]'") from None
    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if address:
        try:
            return Client(address, timeout="20s"), None
        except OSError as exc:
            raise LossCliError(f"--scheduler {address}: cannot connect ({exc})") from None
        except (ValueError, TypeError) as exc:  # distributed's word for an address it cannot parse
            raise LossCliError(f"--scheduler {address}: not a Dask scheduler address ({exc}); expected "
                               "tcp://HOST:PORT") from None
    cluster = LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1, processes=True,
                           dashboard_address=None, host="127.0.0.1")
    return Client(cluster), cluster


def dask_evaluations(selected, inputs, by_loss, *, reduction="mean", weights=None, top=5, per_sample=False,
                     gradients=False, nan_policy="raise", chunk_rows="auto", scheduler=None, client=None,
                     cache=None, prob_tol=ROW_SUM_TOL, **_ignored) -> list[Evaluation]:
    """The local engine's ``stream_evaluations``, one partition per shard group on Dask."""
    import dask.bag as db

    if gradients:
        raise LossCliError("--save-grad is not available with --engine dask (gradients would be "
                           "gathered whole on the client); use the local engine")
    rules = cache.rules if cache is not None else ReadRules()
    if rules.on:
        raise LossCliError("--on is not available with --engine dask (the inputs are matched whole, in one "
                           "process); use the local engine")
    if any(l.coupling == "batch" for l in selected):
        raise LossCliError("--engine dask: " + ", ".join(l.name for l in selected if l.coupling == "batch")
                           + " couple samples across the whole batch; use the local engine")
    slices = None if cache is None or cache.slice_keys is None else cache.slice_keys.spec
    specs = list(inputs) + ([weights] if weights else []) + ([slices.file] if slices and slices.file else [])
    groups = list(zip(*shard_lists(specs)))
    params = {l.name: l.resolve_params(by_loss.get(l.name, {})) for l in selected}
    from ..plugins import loaded_plugins

    from .. import registry

    tasks = [{"shard": i, "files": list(g), "plugins": loaded_plugins(), "allow_override": registry.ALLOW_OVERRIDE, "losses": [l.name for l in selected], "params": params,
              "n_inputs": len(inputs), "reduction": reduction, "top": top, "keep": per_sample,
              "nan_policy": nan_policy, "prob_tol": prob_tol, "rules": rules, "slices": slices,
              "chunk_rows": None if chunk_rows in ("auto", None) else chunk_rows}
             for i, g in enumerate(groups)]
    own, cluster = (client, None) if client is not None else _client(scheduler)
    try:
        bag = db.from_sequence(tasks, npartitions=len(tasks)).map(_partition)
        total = bag.reduction(_merge, _merge, split_every=8)
        if sys.stderr.isatty() and hasattr(own, "compute"):
            from distributed import progress

            future = own.compute(total)
            progress(future)
            result = future.result()
        else:
            result = total.compute() if client is None else own.compute(total).result()
    finally:
        if client is None:
            own.close()
            if cluster is not None:
                cluster.close()
    if "error" in result:
        raise InputError(result["error"])
    shards = sorted(result["shards"])
    offsets = np.zeros(shards[-1] + 1, dtype=np.int64)
    offsets[shards] = np.cumsum([0] + [result["shards"][k] for k in shards[:-1]])

    def to_global(keys) -> np.ndarray:  # (shard << ROW_BITS | row) -> row of the whole input
        keys = np.asarray(keys, dtype=np.int64)
        return offsets[keys >> ROW_BITS] + (keys & ((1 << ROW_BITS) - 1))

    # the run's codes (compare evaluates twice: both models' slices share them)
    remap = None if slices is None or cache is None or cache.slice_keys is None else \
        cache.slice_keys.remap(result["keys"], ["--by"])
    out = []
    for loss in selected:
        acc = Accumulator(loss, params[loss.name], reduction, top, per_sample, quantile_budget=0,
                          sliced=remap is not None)
        if remap is None:
            acc.load_state(result["states"][loss.name])
        else:
            acc.merge(Accumulator(None, {}, top=top, keep_per_sample=per_sample, quantile_budget=0,
                                  sliced=True).load_state(result["states"][loss.name]), remap)
        acc.map_rows(to_global)
        out.append(finish(acc, result["omitted"].get(loss.name, 0), weights))
    return out
