"""``cisim app``: serve the interactive browser view (Solara) on this machine."""

from __future__ import annotations

import argparse
import ipaddress
import math
import os
import socket
import sys

from experiments.errors import UsageError
from experiments.web_assets import NPM_TIMEOUT_S

APP_MODULE = "experiments.app"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``app`` subcommand."""
    p = sub.add_parser(
        "app", help="serve the interactive browser view (open the printed address)",
        description="Serve the browser view of the model with Solara. It listens on "
                    f"{DEFAULT_HOST} unless --host says otherwise; stop it with Ctrl-C.")
    p.add_argument("--host", default=DEFAULT_HOST,
                   help=f"address to listen on (default {DEFAULT_HOST}: this machine only; "
                        "0.0.0.0 lets anyone on the network open and drive the view, with "
                        "no password, and says so in a warning)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port to listen on, 1-65535 (default {DEFAULT_PORT})")
    p.add_argument("--no-fetch-assets", dest="fetch_assets", action="store_false",
                   help="do not fetch Solara's browser packages with npm before starting "
                        "(Solara then loads them from its CDN when first asked)")
    p.add_argument("--npm-timeout", type=float, default=NPM_TIMEOUT_S, metavar="SECONDS",
                   help="most seconds npm may take to fetch one browser package "
                        f"(default {NPM_TIMEOUT_S:g}); if npm is missing, slow or fails, "
                        "the view starts anyway and loads those files from Solara's CDN")
    p.set_defaults(func=cmd_app)


def check_address(host: str, port: int) -> None:
    """Refuse a port out of range or an address that cannot be bound right now.

    Raises:
        UsageError: naming the host and port and why they cannot be used.
    """
    if not 1 <= port <= 65535:
        raise UsageError(f"--port: got {port}; allowed: an integer from 1 to 65535")
    if not host.strip():
        raise UsageError("--host: got an empty address; allowed: an IP address or host name")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise UsageError(f"--host {host!r}: cannot resolve it ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def check_npm_timeout(seconds: float) -> None:
    """Refuse an npm time limit that is not a positive number of seconds.

    Raises:
        UsageError: naming the value and what is allowed.
    """
    if not (math.isfinite(seconds) and seconds > 0):
        raise UsageError(f"--npm-timeout: got {seconds:g}; allowed: a number of seconds "
                         "above 0")


def reaches_network(host: str, port: int) -> bool:
    """Tell whether listening on ``host`` lets other machines connect.

    Only loopback addresses (127.x, ::1, and names such as localhost that
    resolve to nothing else) keep the view to this machine; 0.0.0.0, :: and any
    other address are reachable from the network.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return True
    for *_, address in infos:
        try:
            if not ipaddress.ip_address(str(address[0]).split("%")[0]).is_loopback:
                return True
        except ValueError:
            return True
    return not infos


def url(host: str, port: int) -> str:
    """The address of the view, with an IPv6 host in brackets."""
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def fetch_assets(timeout: float) -> None:
    """Fetch the missing browser packages; on failure warn in one line and go on."""
    from experiments.web_assets import ensure_assets, missing_packages

    try:
        missing = missing_packages()
        if missing:
            print(f"cisim app: fetching {len(missing)} browser package(s) with npm "
                  f"(at most {timeout:g} s each; --no-fetch-assets skips this)",
                  file=sys.stderr, flush=True)
        fetched = ensure_assets(timeout=timeout)
    except (UsageError, OSError) as exc:
        if isinstance(exc, UsageError):
            cause = " ".join(str(exc).split())
        else:
            cause = f"{exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")
        print(f"cisim app: warning: {cause}; the view will load missing browser files from "
              "Solara's CDN (needs internet)", file=sys.stderr, flush=True)
    else:
        if fetched:
            print(f"cisim app: fetched {', '.join(fetched)}", file=sys.stderr)


def solara_command(host: str, port: int) -> list[str]:
    """The command line that serves the view with Solara in production mode."""
    return [sys.executable, "-m", "solara", "run", APP_MODULE, "--host", host,
            "--port", str(port), "--production", "--no-open"]


def cmd_app(args: argparse.Namespace) -> int:
    """Check the address, make the browser packages available, then become the server."""
    check_npm_timeout(args.npm_timeout)
    check_address(args.host, args.port)
    if reaches_network(args.host, args.port):
        print(f"cisim app: warning: --host {args.host} is reachable from the network: anyone "
              "who can reach this machine can open the view and drive the model, and it has "
              f"no password (--host {DEFAULT_HOST} keeps it to this machine)",
              file=sys.stderr, flush=True)
    if args.fetch_assets:
        fetch_assets(args.npm_timeout)
    print(f"cisim app: serving on {url(args.host, args.port)} (Ctrl-C stops)",
          file=sys.stderr, flush=True)
    env = dict(os.environ)
    env.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")
    sys.stdout.flush()
    # Replace this process with the server, so stopping it stops the server too.
    os.execve(sys.executable, solara_command(args.host, args.port), env)
    return 0  # not reached
