"""`tinygrad-edu playground`: train a 2-input classifier live in the browser, on this engine.

Starts the local server of tinygrad_edu.viz.playground_server on 127.0.0.1 and
prints the page's address with its token; Ctrl-C stops it (exit 130).
"""

from __future__ import annotations

import argparse
import webbrowser

from tinygrad_edu.cli.arguments import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=0,
                        help="the port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--open", action="store_true", help="open the page in a browser")


def run(args: argparse.Namespace) -> int:
    from tinygrad_edu.viz.playground_server import PlaygroundServer

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be from 0 to 65535 (0: a free one), got {args.port}")
    try:
        server = PlaygroundServer(port=args.port)
    except OSError as problem:
        raise UsageError(f"cannot listen on 127.0.0.1:{args.port}: {problem.strerror}; "
                         f"choose another --port, or leave it out for a free one") from None
    print(f"The playground is at {server.url}", flush=True)
    print("Open it in a browser on this machine (the token is its key); Ctrl-C stops it.",
          flush=True)
    if args.open:
        webbrowser.open(server.url)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


__all__ = ["add_arguments", "run"]
