"""The Dask cluster a run uses, reached and waited on in bounded time (``--engine dask``).

:class:`Cluster` is what the options say: ``--scheduler`` (or ``--scheduler-file``, or
``DASK_SCHEDULER_ADDRESS``; none of them: a local cluster sized to the machine) and three
timeouts. :func:`session` connects once per process, so every evaluation of a command (both
models of ``compare``, every gate of ``check``) shares one cluster; it is closed at exit.

Every way the cluster can fail ends as one line and exit 2 naming the address and the option
that changes the outcome, never a hang or a traceback:

- the address is checked before anything is sent: a scheme other than ``tcp://``/``tls://``
  (``http://`` is the dashboard), a port outside 1-65535, a host that does not resolve, nothing
  listening (refused at once), a service that is not a Dask scheduler (the dashboard answers
  HTTP and never completes Dask's handshake; another service sends a banner): ``--connect-timeout``;
- no worker joins within ``--worker-timeout`` (a scheduler alone), also when every worker is
  lost mid-run and none comes back;
- no partition finishes for ``--stall-timeout`` while workers are there;
- the scheduler goes away mid-run; a partition that keeps killing its workers (Dask's
  ``KilledWorker``, after its allowed failures: out of memory, most often).
"""

from __future__ import annotations

import atexit
import os
import time
from dataclasses import dataclass

from ..errors import LossCliError
from .code import code_version, other_code, where_and_what

#: seconds between looks at the futures, the workers and the connection while waiting (a wait
#: ends at once when the futures are done)
POLL = 0.5


@dataclass(frozen=True)
class Cluster:
    """Where ``--engine dask`` runs and how long it waits (the options of that name)."""

    scheduler: str | None = None
    scheduler_file: str | None = None
    connect_timeout: float = 10.0
    worker_timeout: float = 60.0
    stall_timeout: float = 600.0
    partition_size: int = 64 * 2**20  # bytes of input per partition when a large file is cut

    def given(self) -> str | None:
        """The first option given that only a cluster uses (for "goes with --engine dask")."""
        defaults = Cluster()
        for name in ("scheduler", "scheduler_file", "connect_timeout", "worker_timeout", "stall_timeout",
                     "partition_size"):
            if getattr(self, name) != getattr(defaults, name):
                return "--" + name.replace("_", "-")
        return None

    def address(self) -> tuple[str | None, str]:
        """(the scheduler's address, the option that named it), or (None, "") for a local cluster."""
        from .address import from_file, normal_address  # (a Dask run's; every command builds a Cluster)

        for option, value in (("--scheduler", self.scheduler), ("--scheduler-file", self.scheduler_file)):
            if value is not None and not value.strip():  # ($(cat addr) of a missing file: not a local cluster)
                raise LossCliError(f"{option}: empty; name a scheduler (tcp://HOST:PORT), or leave the option out "
                                   "for a local cluster")
        if self.scheduler and self.scheduler_file:
            raise LossCliError("--scheduler and --scheduler-file name the same thing: give one of them")
        if self.scheduler_file:
            return from_file(self.scheduler_file), f"--scheduler-file {self.scheduler_file}"
        if self.scheduler:
            return normal_address(self.scheduler, "--scheduler"), "--scheduler"
        env = os.environ.get("DASK_SCHEDULER_ADDRESS")
        if env:
            return normal_address(env, "DASK_SCHEDULER_ADDRESS"), "DASK_SCHEDULER_ADDRESS"
        return None, ""


# -- one session per process ---------------------------------------------------------------------
_SESSIONS: dict[tuple, "Session"] = {}


def session(cluster: Cluster) -> "Session":
    """The process's connection to this cluster: made on first use, shared by every evaluation
    of the command, closed at exit."""
    key = (cluster.scheduler, cluster.scheduler_file, os.environ.get("DASK_SCHEDULER_ADDRESS"))
    found = _SESSIONS.get(key)
    if found is not None and found.alive():
        found.settings = cluster  # (the timeouts of this evaluation)
        return found
    if found is not None:
        found.close()
    made = _SESSIONS[key] = Session(cluster)
    return made


def close_sessions() -> None:
    for s in list(_SESSIONS.values()):
        s.close()
    _SESSIONS.clear()


atexit.register(close_sessions)


def _quiet_distributed() -> int:
    """distributed's own log lines (connection retries, closing comms) are not losscli's output:
    the errors that matter end the run with one line of ours. (Called once distributed is
    imported: it sets its loggers' levels then.) Returns the level, logging.CRITICAL, for a local
    cluster's own logs. (logging is imported here: only a Dask run needs it.)"""
    import logging

    for name in ["distributed", "tornado", "bokeh", *logging.root.manager.loggerDict]:
        if name.split(".")[0] in ("distributed", "tornado", "bokeh"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    return logging.CRITICAL


class Session:
    """A client connected to a scheduler with at least one worker (or a local cluster)."""

    def __init__(self, cluster: Cluster):
        try:
            import distributed
        except ImportError:
            raise LossCliError("--engine dask needs dask and distributed: pip install 'losscli[dask]'") from None
        import uuid

        quiet = _quiet_distributed()

        self.settings = cluster
        self.topic = f"losscli-progress-{uuid.uuid4().hex}"  # (the partitions' word that they read on)
        self.address, self.option = cluster.address()
        self.local = None
        if self.address is None:
            self.local = distributed.LocalCluster(
                n_workers=os.cpu_count() or 1, threads_per_worker=1, processes=True, host="127.0.0.1",
                dashboard_address="127.0.0.1:0", silence_logs=quiet)  # (its HTTP server: loopback, any port)
            self.address = self.local.scheduler_address
            self.client = distributed.Client(self.local, set_as_default=False)
        else:
            from .address import probe

            probe(self.address, self.option, cluster.connect_timeout)
            import asyncio  # (here: 50 ms that only a Dask run needs)

            try:
                self.client = distributed.Client(self.address, timeout=cluster.connect_timeout, set_as_default=False)
            except (OSError, TimeoutError, asyncio.TimeoutError) as exc:
                raise LossCliError(f"{self._named()}: cannot connect within {cluster.connect_timeout:g} s ({exc}); "
                                   "--connect-timeout waits longer") from None
            except (TypeError, ValueError) as exc:  # tls:// without the security settings, most often
                raise LossCliError(f"{self._named()}: cannot connect ({exc}); a tls:// scheduler needs Dask's TLS "
                                   "settings (distributed.comm.tls.* in the Dask configuration)") from None
        self._wait_for_workers(cluster.worker_timeout, "joined")
        self._same_code(cluster.connect_timeout)

    def _same_code(self, timeout: float) -> None:
        """Every worker runs the client's losscli (``code_version``), asked of them before any task:
        a worker of an older losscli, which has no check of its own in its tasks, merged its results
        (review 103 #9). A cluster that does not answer in time is left to the tasks' own check."""
        def ask():
            try:
                return True, self.client.run(where_and_what)
            except Exception as exc:  # (a worker whose losscli has no where_and_what: another losscli)
                return False, exc

        answer = _bounded(ask, timeout)
        if answer is None:
            return
        ok, found = answer
        if not ok:
            import losscli

            raise LossCliError(f"{self._named()}: a worker cannot run this losscli's check of its code "
                               f"({type(found).__name__}): install losscli {losscli.__version__} (the client's) on "
                               "every worker and restart them")
        mine = code_version()
        for worker, (path, theirs) in sorted(found.items()):
            if theirs != mine:
                raise LossCliError(other_code(worker, theirs, path, mine))

    def _named(self) -> str:
        from .address import named

        return named(self.option, self.address)

    def result(self, future):
        """One finished future's result, in bounded time."""
        box = _bounded(lambda: [future.result()], max(self.settings.connect_timeout, self.settings.stall_timeout))
        if box is None:
            raise LossCliError(self._lost({"done": 0, "total": 1, "what": "result"}))
        return box[0]

    def alive(self) -> bool:
        return getattr(self, "client", None) is not None and self.client.status == "running"

    def _workers_info(self) -> dict | None:
        """The scheduler's word on its workers now (None when it cannot be asked)."""
        try:
            try:
                return self.client.scheduler_info(n_workers=-1)["workers"]
            except TypeError:  # (a distributed without n_workers: all of them)
                return self.client.scheduler_info()["workers"]
        except Exception:
            return None

    def workers(self) -> int:
        """Workers the scheduler has now (-1 when it cannot be asked)."""
        info = self._workers_info()
        return -1 if info is None else len(info)

    def threads_by_host(self) -> dict[str, int]:
        """Worker threads per host, as the scheduler knows them now."""
        from urllib.parse import urlsplit

        out: dict[str, int] = {}
        for address, info in (self._workers_info() or {}).items():
            host = urlsplit(address).hostname or ""
            out[host] = out.get(host, 0) + int(info.get("nthreads", 1))
        return out

    def _wait_for_workers(self, timeout: float, verb: str) -> None:
        import asyncio

        try:
            self.client.wait_for_workers(1, timeout=timeout)
        except (TimeoutError, asyncio.TimeoutError, OSError):
            self.close()
            raise LossCliError(f"{self._named()}: no worker {verb} within {timeout:g} s; start one with `dask "
                               f"worker {self.address}`, or wait longer with --worker-timeout") from None

    def run(self, futures: list, what: str = "partition") -> list:
        """The results of ``futures``, in order (see :meth:`wait`)."""
        self.wait(futures, what)
        box = _bounded(lambda: [self.client.gather(list(futures))], max(self.settings.connect_timeout,
                                                                       self.settings.stall_timeout))
        if box is None:
            raise LossCliError(self._lost({"done": 0, "total": len(futures), "what": what}))
        return box[0]

    def wait(self, futures: list, what: str = "partition", then: tuple | list = (), rows: int | None = None,
             exact: bool = False) -> None:
        """Until ``futures`` and ``then`` (tasks that follow them, not counted in messages) are
        done, in bounded time (see the module's docstring); their results stay on the workers.
        Ctrl-C cancels them and ends the run. On a terminal, a progress bar: of rows read, when
        the tasks read about ``rows`` rows (``exact``: that many), else of tasks done."""
        from distributed import CancelledError

        from ..render.progress import Bar

        watched = list(futures) + list(then)
        state: dict = {"done": 0, "total": len(futures), "what": what, "rows": 0}
        try:
            with Bar("rows", rows, estimated=not exact) if rows else Bar(f"{what}s", len(futures), f"{what}s") as bar:
                def show() -> None:
                    note = f"{state['done']}/{len(futures)} {what}s"
                    bar.update(state["rows"], note) if rows else bar.update(state["done"])

                self._wait(watched, state, show)
                if rows and bar.visible:  # the rows of the last partitions, read since the last look: their
                    # last words may reach the scheduler after their results; look again until every partition
                    # has spoken and the count holds still (at most 2 s: the value does not wait on the bar)
                    for _ in range(10):
                        _, events = _bounded(self._look, self.settings.connect_timeout) or (None, None)
                        counted = _rows_read(events) if events else state["rows"]
                        still = counted == state["rows"]
                        state["rows"] = max(counted, state["rows"])
                        if exact and counted >= rows or still and _partitions_heard(events or []) >= len(futures):
                            break
                        time.sleep(0.2)
                    show()
                    bar.draw()
        except CancelledError:
            raise LossCliError(self._lost(state)) from None
        except BaseException:
            self.cancel(watched)
            raise

    def _lost(self, state: dict) -> str:
        return (f"{self._named()}: lost the connection to the scheduler while {state['done']} of {state['total']} "
                f"{state['what']}s were done; is it still running?")

    def _wait(self, watched: list, state: dict, show) -> None:
        """Poll until every future is done. A future Dask marks "lost" (its worker died) is being
        computed again: the worker and stall timeouts watch it. Progress is a future finished or
        a partition's word that it read more rows (``progress``, every second); ``show()`` draws
        ``state`` (tasks done, rows read)."""
        settings, total, what = self.settings, state["total"], state["what"]
        last_done = time.monotonic()
        no_workers_since: float | None = None
        lost_since: float | None = None
        next_look, heard, answered = 0.0, 0, True
        while True:
            statuses = [f.status for f in watched]
            now = time.monotonic()
            done = statuses[:total].count("finished")
            if done > state["done"]:
                state["done"], last_done = done, now
                show()
            if statuses.count("finished") == len(watched):
                return
            for f, status in zip(watched, statuses):
                if status == "error":
                    raise self._failure(_bounded(f.exception, settings.connect_timeout), what)
            if now >= next_look and self.alive() and "cancelled" not in statuses:
                next_look = now + 1.0
                workers, events = _bounded(self._look, settings.connect_timeout) or (None, None)
                answered = workers is not None
                if events is not None and len(events) > heard:  # a partition read more rows
                    heard, last_done = len(events), now
                    state["rows"] = _rows_read(events)
                    show()
                if workers == 0:
                    no_workers_since = no_workers_since or now
                    if now - no_workers_since > settings.worker_timeout:
                        raise LossCliError(
                            f"{self._named()}: every worker left and none joined within {settings.worker_timeout:g} "
                            f"s, with {total - state['done']} of {total} {what}s to go; --worker-timeout waits longer")
                elif workers is not None:
                    no_workers_since = None
            if not self.alive() or "cancelled" in statuses or not answered:
                lost_since = lost_since or now
                if now - lost_since > settings.connect_timeout or self.client.status in ("closed", "failed"):
                    raise LossCliError(self._lost(state))
            else:
                lost_since = None
            if now - last_done > settings.stall_timeout:
                raise LossCliError(
                    f"{self._named()}: no {what} finished or read a row in {settings.stall_timeout:g} s "
                    f"({state['done']} of {total} done); the workers may be stuck or overloaded; --stall-timeout "
                    "waits longer")
            _settle(self.client, watched, POLL)

    def _look(self) -> tuple[int, list]:
        """(workers the scheduler has, progress events of this run so far); raises when the
        scheduler cannot be asked."""
        info = self._workers_info()
        if info is None:
            raise OSError("no answer")
        return len(info), list(self.client.get_events(self.topic))

    def _failure(self, exc: BaseException, what: str) -> BaseException:
        """What a task's exception means for the user: the cluster's failures as one line,
        anything else (a bug) as it is."""
        from distributed import KilledWorker

        import losscli

        if isinstance(exc, KilledWorker):
            return LossCliError(f"{self._named()}: a {what} ended the workers that ran it, again and again (out of "
                                "memory, or a crash in a loss; see the workers' logs)")
        text = str(exc)
        if isinstance(exc, ModuleNotFoundError) or "deserializ" in text.lower():
            return LossCliError(f"{self._named()}: the cluster cannot run losscli's tasks ({type(exc).__name__}: "
                                f"{text.splitlines()[0] if text else ''}): install losscli {losscli.__version__} in "
                                "the Python environment of the scheduler and of every worker, and restart them")
        return exc

    def cancel(self, futures: list) -> None:
        try:
            if self.alive():
                self.client.cancel(futures)
        except Exception:  # (the connection is what failed)
            pass

    def close(self) -> None:
        client, self.client = getattr(self, "client", None), None  # type: ignore[assignment]
        try:
            if client is not None:
                client.close(timeout=2)
        except Exception:
            pass
        try:
            if self.local is not None:
                self.local.close(timeout=5)
        except Exception:
            pass
        self.local = None


def _rows_read(events: list) -> int:
    """Rows read so far, from the partitions' progress events (see :func:`_latest`)."""
    return sum(_latest(events).values())


def _partitions_heard(events: list) -> int:
    """How many partitions have told their rows (see :func:`_latest`)."""
    return len(_latest(events))


def _latest(events: list) -> dict[int, int]:
    """Each partition's latest count of rows read, from the progress events ((time, (index, rows));
    one computed again counts once)."""
    latest: dict[int, int] = {}
    for event in events:
        try:
            _, (index, rows) = event
            latest[index] = max(int(rows), latest.get(index, 0))
        except (TypeError, ValueError):  # (a worker of another losscli version: not counted)
            continue
    return latest


def _settle(client, futures: list, timeout: float) -> None:
    """Until every future is done, or ``timeout`` seconds (woken at once when they are)."""
    from distributed import wait

    start = time.monotonic()
    try:
        with client.as_current():  # (distributed.wait asks the default client; ours is not one)
            wait(futures, timeout=timeout)
        return
    except Exception:  # (the timeout, or a failure the next look reports)
        pass
    left = timeout - (time.monotonic() - start)
    if left > 0 and any(f.status != "finished" for f in futures):
        time.sleep(left)  # (never a busy loop, whatever wait did)


def _bounded(fn, timeout: float):
    """fn() in a daemon thread, given up after ``timeout`` seconds (None then, or when it
    raised): a call to a scheduler that stopped answering must not hold the run."""
    import threading

    box: list = []

    def call() -> None:
        try:
            box.append(fn())
        except Exception:
            pass

    thread = threading.Thread(target=call, daemon=True)
    thread.start()
    thread.join(timeout)
    return box[0] if box else None


def progress(topic: str, index: int, rows: int) -> None:
    """On a worker: tell the client waiting on ``topic`` that partition ``index`` has read
    ``rows`` rows (so a long partition is not taken for a stuck one, and the bar counts rows)."""
    try:
        from distributed import get_worker

        get_worker().log_event(topic, (index, rows))
    except Exception:  # (not on a worker, or the scheduler is gone: the client sees that itself)
        pass
