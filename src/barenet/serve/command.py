"""``barenet serve MODEL_OR_RUN_FOLDER [--host 127.0.0.1] [--port 8000]``.

This module imports no web framework, so ``barenet --help`` works without the ``serve``
extra; the framework is imported when the command runs, with a clear error when missing.
"""

from __future__ import annotations

import argparse
import ipaddress
import socket

from ..errors import BarenetError

BLAS_THREADS = 1  # per request: requests run side by side, and small products gain nothing from more
HELP = "a web page to draw digits on and watch the network decide (for a text model: write with it)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``barenet serve`` (the command line registers them under ``serve``)."""
    parser.add_argument("model", metavar="MODEL_OR_RUN_FOLDER", help="a model file, or a run folder")
    parser.add_argument("--host", default="127.0.0.1", help="the interface to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="the port (default 8000; 0: any free port)")
    parser.add_argument("--data-dir", help="where to look for a run folder's test data first")


def run(arguments: argparse.Namespace) -> int:
    """Load the model, bind the address (``--port 0`` picks a free port) and serve until Ctrl-C."""
    try:
        import uvicorn
        from threadpoolctl import threadpool_limits

        from .app import create_app
    except ImportError as error:
        raise BarenetError(
            f"barenet serve needs the serve extra ({error.name} is not installed): "
            "pip install 'barenet[serve]'"
        ) from None
    from .served import load_served

    print(f"loading {arguments.model} (a run folder's test set is predicted once, for its confusion matrix)")
    served = load_served(arguments.model, arguments.data_dir)
    listening = bind(arguments.host, arguments.port)
    host, port = listening.getsockname()[:2]
    shown_host = f"[{host}]" if ":" in host else host
    for note in served.run.notes if served.run else []:
        print(f"note: {note}")
    if not is_loopback(host):
        print(f"note: listening on {host}: other machines may reach this server (not so with 127.0.0.1)")
    print(f"serving {arguments.model} at http://{shown_host}:{port}/  (Ctrl-C stops)", flush=True)
    server = uvicorn.Server(uvicorn.Config(create_app(served), log_level="warning", access_log=False))
    try:
        with threadpool_limits(limits=BLAS_THREADS):
            server.run(sockets=[listening])
    except KeyboardInterrupt:  # uvicorn shuts down cleanly, then passes the Ctrl-C on
        pass
    finally:
        listening.close()
    print("stopped")
    return 0


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; a busy port or an unknown host is a clear error."""
    if not 0 <= port <= 65535:
        raise BarenetError(f"--port must be from 0 to 65535 (0: any free port); got {port}")
    try:
        family, kind, protocol, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
    except socket.gaierror as error:
        raise BarenetError(f"cannot listen on --host {host}: {error.strerror}") from None
    listening = socket.socket(family, kind, protocol)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind(address)
    except OSError as error:
        listening.close()
        raise BarenetError(
            f"cannot listen on {host}:{port}: {error.strerror}; choose another --port (0 picks a free one)"
        ) from None
    listening.listen(128)
    return listening


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address.split("%")[0]).is_loopback
    except ValueError:
        return False
