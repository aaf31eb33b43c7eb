"""Users' own losses: a Python file or module named with ``--plugin``, or an installed package
that declares the entry-point group ``losscli.losses``. Either registers its losses with
:func:`losscli.register_loss` when imported; nothing else is ever executed or evaluated."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import sys
from pathlib import Path

from .errors import LossCliError

ENTRY_POINT_GROUP = "losscli.losses"
#: entry points that failed to load: name -> why (reported once on stderr)
FAILED: dict[str, str] = {}
_loaded_paths: set[str] = set()
_loaded_specs: list[str] = []


def loaded_plugins() -> list[str]:
    """The --plugin specs loaded in this process (absolute paths or module names), in order: an
    engine that evaluates elsewhere (dask workers) loads the same ones."""
    return list(_loaded_specs)


def user_code_files() -> list[tuple[str, str]]:
    """The files of users' own loss code in this process, as (what names it, its path): ``--plugin``
    files and modules (a module's own file), and the files of registered losses that are not built
    in (installed plugins): their functions' and the modules that registered them. An output may
    not overwrite them; an error is located in them."""
    from .registry import registered

    files = [(f"--plugin {spec}", spec) for spec in _loaded_specs if spec in _loaded_paths]
    for spec in _loaded_specs:
        path = getattr(sys.modules.get(spec), "__file__", None)
        if spec not in _loaded_paths and path:
            files.append((f"--plugin {spec}", path))
    for loss in registered():
        for fn in (loss.fn, loss.grad_fn, loss.value_and_grad_fn):
            # (the user's own function, not losscli's wrapper that sends its prints to stderr: the
            # wrapper's file named as the user's made losscli's own bugs 'your loss code', exit 2)
            fn = getattr(fn, "user_code", fn)
            code = getattr(fn, "__code__", None)
            if code is not None and not str(getattr(fn, "__module__", "") or "").startswith("losscli."):
                files.append((f"the code of loss {loss.name!r}", code.co_filename))
        # (a function wrapped by a decorator of another module has that module's code: the
        # module that registered the loss, its ``source``, is the user's too)
        path = getattr(sys.modules.get(loss.source), "__file__", None) if loss.source != "built-in" else None
        if path:
            files.append((f"the code of loss {loss.name!r}", path))
    return files


def user_code_line(exc: BaseException) -> tuple[str, int] | None:
    """Where in a user's own loss code (:func:`user_code_files`) ``exc`` was raised: the innermost
    such frame of its traceback, or None."""
    import traceback

    files = {os.path.realpath(path) for _, path in user_code_files()}
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if os.path.realpath(frame.filename) in files:
            return frame.filename, frame.lineno or 0
    return None


def load_plugin(spec: str) -> None:
    """Import a plugin given as a path to a ``.py`` file or as an importable module name. The
    built-in losses are registered first, so that a plugin's loss of the same name replaces
    them (with ``--allow-override``) instead of colliding with them later."""
    from .catalogue import load_catalogue

    load_catalogue()
    path = Path(spec)
    if spec.endswith(".py") or path.exists():
        if not path.is_file():
            raise LossCliError(f"--plugin {spec}: no such file")
        key = str(path.resolve())
        if key in _loaded_paths:
            return
        module_name = f"losscli_plugin_{len(_loaded_paths)}_{path.stem}"
        module_spec = importlib.util.spec_from_file_location(module_name, path)
        if module_spec is None or module_spec.loader is None:  # not a Python source file (e.g. .txt)
            raise LossCliError(f"--plugin {spec}: not a Python file (name a .py file or a module)")
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module
        try:
            with contextlib.redirect_stdout(sys.stderr):  # (what it prints is not a result)
                module_spec.loader.exec_module(module)
        except LossCliError as exc:
            sys.modules.pop(module_name, None)
            raise LossCliError(f"--plugin {spec}: {exc}") from exc
        except (Exception, SystemExit) as exc:  # a broken plugin is the user's input: one line
            sys.modules.pop(module_name, None)
            raise LossCliError(f"--plugin {spec}: failed to load: {_describe(exc)}") from exc
        _loaded_paths.add(key)
        _loaded_specs.append(key)
        return
    try:
        with contextlib.redirect_stdout(sys.stderr):
            importlib.import_module(spec)
        if spec not in _loaded_specs:
            _loaded_specs.append(spec)
    except ModuleNotFoundError as exc:
        from .backends import missing_module_hint

        if hint := missing_module_hint(exc):  # the plugin imports torch or jax, not installed
            raise LossCliError(f"--plugin {spec}: {hint}") from exc
        raise LossCliError(f"--plugin {spec}: no such file or importable module ({exc})") from exc
    except LossCliError as exc:
        raise LossCliError(f"--plugin {spec}: {exc}") from exc
    except (Exception, SystemExit) as exc:
        raise LossCliError(f"--plugin {spec}: failed to import: {_describe(exc)}") from exc


def _describe(exc: BaseException) -> str:
    from .backends import missing_module_hint

    if isinstance(exc, SystemExit):
        return f"it called sys.exit({exc.code!r}) (a plugin cannot end losscli or choose its exit code)"
    # (a plugin that imports torch or jax itself, not installed: the extra that installs it)
    return missing_module_hint(exc) or f"{type(exc).__name__}: {exc}"


def disabled() -> bool:
    """Installed plugins are off with ``LOSSCLI_NO_PLUGINS=1`` (or ``losscli --no-plugins``)."""
    return os.environ.get("LOSSCLI_NO_PLUGINS", "").strip().lower() not in ("", "0", "false", "no")


def _group_declared() -> bool:
    """Whether an installed distribution on sys.path declares the group: a plain scan of the
    entry_points.txt files, so the usual case (no plugin installed) does not pay for importing
    importlib.metadata (~15 ms of every start-up)."""
    needle = f"[{ENTRY_POINT_GROUP}]"
    for base in sys.path:
        try:
            entries = list(os.scandir(base or "."))
        except OSError:
            continue
        for entry in entries:
            if entry.name.endswith((".dist-info", ".egg-info")):
                try:
                    with open(os.path.join(entry.path, "entry_points.txt"), encoding="utf-8",
                              errors="replace") as fh:
                        if needle in fh.read():
                            return True
                except OSError:
                    continue
    return False


def load_entry_points() -> None:
    """Import every installed package registered under the ``losscli.losses`` group; one that
    fails is reported once on stderr and left out."""
    if disabled() or not _group_declared():
        return
    from importlib.metadata import entry_points

    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            with contextlib.redirect_stdout(sys.stderr):
                ep.load()
        except (Exception, SystemExit) as exc:  # one broken package must not stop every command
            FAILED[ep.name] = _describe(exc)
            print(f"losscli: warning: plugin entry point {ep.name} ({ep.value}) failed to load: "
                  f"{_describe(exc)}; its losses are unavailable (LOSSCLI_NO_PLUGINS=1 turns installed "
                  "plugins off)", file=sys.stderr, flush=True)
