"""A real Dask cluster for the tests: a ``dask scheduler`` and ``dask worker`` processes, each its
own process (no nanny) on 127.0.0.1, the workers in working directories of their own (as on
other hosts: a relative path that works for the client does not work for them), stopped by PID."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

START_TIMEOUT = 60


class RealCluster:
    def __init__(self, root: Path, workers: int = 2, dashboard: bool = False):
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.scheduler_file = root / "scheduler.json"
        self.procs: dict[str, subprocess.Popen] = {}
        env = {k: v for k, v in os.environ.items() if not k.startswith("DASK_")}
        self.env = env
        # (its HTTP server, dashboard or not, on loopback too: by default it listens on 0.0.0.0:8787)
        args = [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
                "--scheduler-file", str(self.scheduler_file), "--dashboard-address", "127.0.0.1:0"]
        args += [] if dashboard else ["--no-dashboard"]
        try:
            self._start("scheduler", args)
            self._started(workers)
        except BaseException:
            self.stop()
            raise

    def _started(self, workers: int) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while not self._info():
            if time.monotonic() > deadline or self.procs["scheduler"].poll() is not None:
                raise RuntimeError(f"the scheduler did not start: {self.log('scheduler')}")
            time.sleep(0.1)
        info = self._info()
        assert info is not None
        self.address: str = info["address"]
        self.dashboard_port: int | None = info.get("services", {}).get("dashboard")
        for i in range(workers):
            self.add_worker()
        if workers:
            self.wait_for_workers(workers)

    def _info(self) -> dict | None:
        try:
            return json.loads(self.scheduler_file.read_text())
        except (OSError, ValueError):
            return None

    def _start(self, name: str, args: list[str], env: dict | None = None) -> None:
        cwd = self.root / name
        cwd.mkdir(exist_ok=True)
        log = open(self.root / f"{name}.log", "wb")
        self.procs[name] = subprocess.Popen(args, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, env=env or self.env,
                                            stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text(errors="replace")[-3000:]

    def add_worker(self, env: dict | None = None) -> str:
        """A worker (``env``: its environment, else the scheduler's)."""
        name = f"worker{sum(n.startswith('worker') for n in self.procs)}"
        self._start(name, env=env, args=[sys.executable, "-m", "distributed.cli.dask_worker", self.address, "--nthreads", "1",
                           "--no-nanny", "--no-dashboard", "--dashboard-address", "127.0.0.1:0", "--host", "127.0.0.1",
                           "--local-directory",
                           str(self.root / name), "--death-timeout", "120"])
        return name

    def workers(self) -> list[str]:
        return [n for n, p in self.procs.items() if n.startswith("worker") and p.poll() is None]

    def wait_for_workers(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=START_TIMEOUT, set_as_default=False) as client:
            client.wait_for_workers(n, timeout=START_TIMEOUT)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[name]
        if proc.poll() is None:
            os.kill(proc.pid, sig)
            try:
                proc.wait(3)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(10)

    def stop(self) -> None:
        for name in [n for n in self.procs if n != "scheduler"] + ["scheduler"]:
            if name in self.procs:
                self.kill(name, signal.SIGTERM)
