from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from losscli.cli import main


@pytest.fixture(autouse=True)
def _registry_restored():
    """Each test starts from the built-in catalogue: losses a test's plugin registered are
    removed afterwards, so no test depends on the order the tests run in."""
    from losscli import catalogue, plugins, registry

    catalogue.list_losses()
    losses, aliases = dict(registry._LOSSES), dict(registry._ALIASES)
    specs, paths = list(plugins._loaded_specs), set(plugins._loaded_paths)
    yield
    registry._LOSSES.clear()
    registry._LOSSES.update(losses)
    registry._ALIASES.clear()
    registry._ALIASES.update(aliases)
    registry.ALLOW_OVERRIDE = False
    registry.OVERRIDES.clear()
    plugins._loaded_specs[:] = specs
    plugins._loaded_paths.clear()
    plugins._loaded_paths.update(paths)


@pytest.fixture
def run():
    """Invoke the real CLI; returns the click Result (stdout and stderr kept apart)."""

    def invoke(*args, input=None):
        return CliRunner().invoke(main, [str(a) for a in args], input=input, catch_exceptions=False)

    return invoke


@pytest.fixture
def run_json(run):
    def invoke(*args, input=None):
        result = run(*args, "--format", "json", input=input)
        assert result.exit_code == 0, result.stderr
        return json.loads(result.stdout)

    return invoke


def write_csv(path, header, rows):
    lines = [",".join(header)] if header else []
    lines += [",".join(str(v) for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


def central_difference(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Independent numeric gradient of a scalar function, one element at a time (slow, simple)."""
    g = np.zeros_like(x, dtype=np.float64)
    flat = x.reshape(-1)
    gflat = g.reshape(-1)
    for i in range(flat.size):
        step = h * max(1.0, abs(flat[i]))
        old = flat[i]
        flat[i] = old + step
        up = f(x)
        flat[i] = old - step
        down = f(x)
        flat[i] = old
        gflat[i] = (up - down) / (2 * step)
    return g


def evaluate_dict(loss, arrays: dict, params: dict, reduction: str = "mean", weights=None, gradient: bool = False):
    """losscli.evaluate with the inputs as a role -> array dict (in the loss's role order)."""
    import losscli

    return losscli.evaluate(loss, *[arrays[r.name] for r in loss.inputs if r.name in arrays],
                            reduction=reduction, weights=weights, gradients=gradient, **params)


@pytest.fixture
def custom():
    """Register throw-away losses for a test and remove them afterwards."""
    from losscli import register_loss, unregister_loss

    names = []

    def make(name, fn, grad, **kw):
        kw.setdefault("formula", "test")
        kw.setdefault("references", ("test",))
        loss = register_loss(name, **kw)(fn)
        loss.gradient(grad)
        names.append(name)
        return loss

    yield make
    for n in names:
        unregister_loss(n)


def squared_error(p, t):
    """Squared error per sample (a test loss)."""
    return ((p - t) ** 2).reshape(len(p), -1).sum(axis=1)


def compute_json(run, *args):
    """``losscli compute ARGS --format json``, which must succeed: (the JSON, stderr)."""
    out = run("compute", *args, "--format", "json")
    assert out.exit_code == 0, out.stderr
    return json.loads(out.stdout), out.stderr


def compute_value(run, *args):
    """The first result's value of ``compute_json``."""
    return compute_json(run, *args)[0]["results"][0]["value"]
