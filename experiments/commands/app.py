"""``cisim app``: serve the interactive browser view (Solara) on this machine."""

from __future__ import annotations

import argparse
import os
import socket
import sys

from experiments.errors import UsageError

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
                        "0.0.0.0 lets other machines on the network connect)")
    p.add_argument("--port", type=int, default=DEFAULT_PORT,
                   help=f"port to listen on, 1-65535 (default {DEFAULT_PORT})")
    p.add_argument("--no-fetch-assets", dest="fetch_assets", action="store_false",
                   help="do not fetch Solara's browser packages with npm before starting "
                        "(Solara then loads them from its CDN when first asked)")
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


def solara_command(host: str, port: int) -> list[str]:
    """The command line that serves the view with Solara in production mode."""
    return [sys.executable, "-m", "solara", "run", APP_MODULE, "--host", host,
            "--port", str(port), "--production", "--no-open"]


def cmd_app(args: argparse.Namespace) -> int:
    """Check the address, make the browser packages available, then become the server."""
    check_address(args.host, args.port)
    if args.fetch_assets:
        from experiments.web_assets import ensure_assets

        try:
            fetched = ensure_assets()
        except (UsageError, OSError) as exc:
            print(f"cisim app: warning: {exc}; Solara will try its CDN", file=sys.stderr)
        else:
            if fetched:
                print(f"cisim app: fetched {', '.join(fetched)}", file=sys.stderr)
    print(f"cisim app: serving on http://{args.host}:{args.port}/ (Ctrl-C stops)",
          file=sys.stderr, flush=True)
    env = dict(os.environ)
    env.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "false")
    sys.stdout.flush()
    # Replace this process with the server, so stopping it stops the server too.
    os.execve(sys.executable, solara_command(args.host, args.port), env)
    return 0  # not reached
