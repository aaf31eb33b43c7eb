"""Weights far below float64's normal range (review 53 #7): 5e-324 everywhere, or an exponential
decay whose tail is subnormal. Each product w·l rounded to a subnormal with a few bits: the
weighted mean of 0.35 came out 0.28 (exit 0), a slice's 0.395 as 0.32. The weights are now
raised by a power of two (exact) before they multiply the losses."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

RNG = np.random.default_rng(53)
N = 64
P, Y = RNG.random(N), RNG.random(N)
L = np.abs(P - Y)
G = np.arange(N) % 2
WEIGHTS = {"5e-324": np.full(N, 5e-324),
           "decay": 1e-305 * np.exp(-np.arange(N) * 0.2),  # (from 1e-305 down to 3e-311)
           "tiny first": np.r_[np.full(N // 2, 3e-320), np.full(N // 2, 7e-317)],
           # (each slice its own scale: one slice's 1e300 must not wipe out the other's 1e-300)
           "huge and tiny by slice": np.where(G == 0, 1e300, 1e-300 * (1 + np.arange(N) / N)),
           "normal and tiny by slice": np.where(G == 0, 1e10, 1e-300 * (1 + np.arange(N) / N))}


def _exact_sum(w, l):
    e = math.frexp(float(w.max()))[1]  # (w·l summed with the weights raised by 2^-e: every product normal)
    return math.ldexp(math.fsum(np.ldexp(w, -e) * l), e)


def _exact_mean(w, l):
    scaled = np.ldexp(w, -math.frexp(float(w.max()))[1])
    return math.fsum(scaled * l) / math.fsum(scaled)


@pytest.mark.parametrize("engine", ["local", "dask"])
@pytest.mark.parametrize("kind", list(WEIGHTS))
def test_the_weighted_mean_keeps_tiny_weights_bits(run, tmp_path, kind, engine):
    w = WEIGHTS[kind]
    pd.DataFrame({"p": P, "y": Y, "g": G, "w": w}).to_csv(tmp_path / "d.csv", index=False, float_format="%.17g")
    d = f"{tmp_path}/d.csv"
    # (blocks of 8 rows: weights whose scale grows from one block to the next; dask: partitions merged)
    out = run("compute", "mae", f"{d}:p", f"{d}:y", "--weights", f"{d}:w", "--by", "g", "--block-rows", "8",
              "--engine", engine, "--format", "json")
    assert out.exit_code == 0, out.stderr
    rec = json.loads(out.stdout)["results"][0]
    assert rec["value"] == pytest.approx(_exact_mean(w, L), rel=1e-14)
    for s in rec["slices"]:
        k = s["key"]["g"]
        assert s["value"] == pytest.approx(_exact_mean(w[G == k], L[G == k]), rel=1e-14)
    out = run("compute", "mae", f"{d}:p", f"{d}:y", "--weights", f"{d}:w", "--by", "g", "--reduction", "sum",
              "--block-rows", "8", "--engine", engine, "--format", "json")
    assert out.exit_code == 0, out.stderr
    rec = json.loads(out.stdout)["results"][0]
    assert rec["value"] == pytest.approx(_exact_sum(w, L), rel=1e-14, abs=5e-324)
    for s in rec["slices"]:
        k = s["key"]["g"]
        assert s["value"] == pytest.approx(_exact_sum(w[G == k], L[G == k]), rel=1e-14, abs=5e-324)
