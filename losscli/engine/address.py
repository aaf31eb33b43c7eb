"""A scheduler's address, as the options give it, checked before anything is sent:
:func:`normal_address` (its form), :func:`from_file` (``--scheduler-file``), :func:`probe` (what
listens there), and :func:`named` (how messages name it)."""

from __future__ import annotations

import json
import re
from urllib.parse import urlsplit

from ..errors import InputError, LossCliError

#: the Dask default scheduler port (said in messages)
SCHEDULER_PORT = 8786


def normal_address(address: str, option: str) -> str:
    """``tcp://HOST:PORT`` (or tls://) from what the user wrote (``HOST:PORT`` means tcp), or an
    error naming the option: every address reaches the network only once it is well formed."""
    text = address.strip()
    if "://" not in text:
        text = "tcp://" + text
    m = _ADDRESS.fullmatch(text)
    expected = (f"expected tcp://HOST:PORT (the scheduler's port is {SCHEDULER_PORT} unless it was started "
                "with another)")
    netloc = text.split("://", 1)[1]
    if netloc.count(":") > 1 and not netloc.startswith("["):
        raise LossCliError(f"{option} {address}: not a scheduler address (an IPv6 host needs brackets, as in "
                           f"tcp://[::1]:{SCHEDULER_PORT})")
    if m is None:
        raise LossCliError(f"{option} {address}: not a scheduler address; {expected}")
    scheme, host, port = m.group("scheme").lower(), m.group("host"), m.group("port")
    if scheme in ("http", "https"):
        raise LossCliError(f"{option} {address}: a web address (the dashboard's?); the scheduler itself "
                           f"listens on tcp://{host or 'HOST'}:{SCHEDULER_PORT} unless started with another --port")
    if scheme not in ("tcp", "tls"):
        raise LossCliError(f"{option} {address}: the scheme {scheme!r} is not one losscli connects with; "
                           "expected tcp://HOST:PORT (or tls://)")
    if not host or not port:
        raise LossCliError(f"{option} {address}: {expected.replace('expected', 'expected both the host and the port:')}")
    if not port.isdigit():
        raise LossCliError(f"{option} {address}: the port {port!r} is not a number; {expected}")
    if not 0 < int(port) < 65536:
        raise LossCliError(f"{option} {address}: port {int(port)} is outside 1-65535")
    return f"{scheme}://{host}:{int(port)}"


_ADDRESS = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*)://(?P<host>\[[^\]]*\]|[^:/\[\]]*)(?::(?P<port>[^/]*))?/?")


def from_file(path: str) -> str:
    """The address a ``dask scheduler --scheduler-file`` wrote."""
    option = f"--scheduler-file {path}"
    try:
        with open(path, encoding="utf-8") as fh:
            info = json.load(fh)
    except FileNotFoundError:
        raise InputError(f"{option}: no such file (the scheduler writes it when started with "
                         "--scheduler-file; is it running, on this file system?)") from None
    except OSError as exc:
        raise InputError(f"{option}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise InputError(f"{option}: not the JSON a Dask scheduler writes ({exc})") from None
    address = info.get("address") if isinstance(info, dict) else None
    if not isinstance(address, str):
        raise InputError(f"{option}: no \"address\" in it; expected the file `dask scheduler "
                         "--scheduler-file FILE` writes")
    return normal_address(address, option)


def named(option: str, address: str | None) -> str:
    """How messages name the scheduler: the option with the address it gave."""
    if not option:
        return f"the local cluster ({address})"
    return f"--scheduler {address}" if option == "--scheduler" else f"{option} ({address})"


def probe(address: str, option: str, timeout: float) -> None:
    """Fail at once, and say why, when nothing or something other than a Dask scheduler listens
    at ``address`` (distributed itself would retry until its timeout, or wait forever on a
    service that never completes its handshake)."""
    import asyncio  # (here: asyncio and socket cost 50 ms of every command's start-up otherwise)
    import socket

    parts = urlsplit(address)
    said = named(option, address)
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout):
            pass
    except socket.gaierror as exc:
        raise LossCliError(f"{said}: the host {parts.hostname!r} is not known ({exc.strerror})") from None
    except ConnectionRefusedError:
        raise LossCliError(f"{said}: nothing listens there (connection refused); is the scheduler running, "
                           "on this port?") from None
    except (TimeoutError, socket.timeout):
        raise LossCliError(f"{said}: no answer within {timeout:g} s (a firewall, or a host that is down); "
                           "--connect-timeout waits longer") from None
    except OSError as exc:
        raise LossCliError(f"{said}: cannot connect ({exc.strerror or exc})") from None
    if parts.scheme != "tcp":
        return  # (a TLS handshake needs the security settings: the client does it)

    async def handshake() -> None:
        from distributed.comm import connect

        comm = await connect(address, timeout=timeout)
        await comm.close()

    try:
        asyncio.run(asyncio.wait_for(handshake(), timeout))
    except (asyncio.TimeoutError, TimeoutError):
        raise LossCliError(f"{said}: something listens there but did not answer as a Dask scheduler within "
                           f"{timeout:g} s (the dashboard, or another service?); the scheduler's port is "
                           f"{SCHEDULER_PORT} unless it was started with another. --connect-timeout waits longer") \
            from None
    except Exception as exc:  # a banner read as a message: "Unable to allocate 2.82 EiB", a closed stream
        raise LossCliError(f"{said}: not a Dask scheduler (it answered something else: "
                           f"{type(exc).__name__})") from None
