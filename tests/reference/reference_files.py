"""One format for the reference vectors every generator writes (``generate_*_reference.py``).

A generator builds cases, computes each with the outside library, and calls :func:`write`:

    case = {"id": "msle-0", "loss": "msle", "params": {}, "inputs": {"predictions": p, "labels": t},
            "grads": ["predictions"], "source": "sklearn.metrics.mean_squared_log_error"}
    result = {"per_sample": per_sample, "grads": {"predictions": g}, "mean": value_or_None}
    write("regression", cases_and_results, library_versions={"scikit-learn": sklearn.__version__})

``per_sample`` is the library's per-sample loss (N,) (or the library's elementwise values
reduced to a row mean where that is how losscli defines a sample); ``grads`` the gradient of
their SUM w.r.t. each differentiable role (omit it where the library has no gradient); ``mean``
the library's own mean-reduced value (or None). Everything is float64.

Files: ``tests/data/NAME_reference.npz`` (arrays: ``ID/input/ROLE``, ``ID/per_sample``,
``ID/grad/ROLE``, ``ID/mean``) and ``tests/data/NAME_reference.json`` (the cases, without
arrays). ``tests/test_library_references.py`` checks losscli against every such pair without
needing the libraries.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent.parent / "data"
SCHEMA = "losscli-reference/1"


def write(name: str, computed: list[tuple[dict, dict]], *, generator: str, library_versions: dict) -> None:
    """Write ``tests/data/{name}_reference.{npz,json}`` from (case, result) pairs."""
    arrays: dict[str, np.ndarray] = {}
    index = []
    ids = set()
    for case, result in computed:
        cid = case["id"]
        if cid in ids:
            raise ValueError(f"duplicate case id {cid!r}")
        ids.add(cid)
        for role, value in case["inputs"].items():
            arrays[f"{cid}/input/{role}"] = np.asarray(value)
        arrays[f"{cid}/per_sample"] = np.asarray(result["per_sample"], dtype=np.float64)
        grads = result.get("grads") or {}
        for role, g in grads.items():
            arrays[f"{cid}/grad/{role}"] = np.asarray(g, dtype=np.float64)
        if result.get("mean") is not None:
            arrays[f"{cid}/mean"] = np.asarray(float(result["mean"]))
        index.append({"id": cid, "loss": case["loss"], "params": case.get("params", {}),
                      "inputs": list(case["inputs"]), "grads": sorted(grads),
                      "mean": result.get("mean") is not None, "source": case.get("source", "")})
    DATA.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(DATA / f"{name}_reference.npz", **arrays)
    meta = {"schema": SCHEMA, "generator": generator, "libraries": library_versions, "cases": index}
    (DATA / f"{name}_reference.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {len(index)} cases ({len(arrays)} arrays) to tests/data/{name}_reference.*")
