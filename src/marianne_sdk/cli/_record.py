"""``marianne-sdk record``: a proxy that records every message between its clients and the conductor."""

from __future__ import annotations

import argparse
import signal
import sys

import anyio

from ._exits import EXIT_ERROR, EXIT_OK


def add_record_options(parser: argparse.ArgumentParser) -> None:
    parser.epilog = (
        "Point any client at --listen (MARIANNE_SOCKET=PROXY, or --socket PROXY): each "
        "connection is forwarded, unchanged, to its own connection to --socket, and every "
        "line is appended to --out as it passes. Stops on SIGINT or SIGTERM with --out complete."
    )
    parser.add_argument(
        "--listen", required=True, metavar="PROXY", help="the socket to serve clients on"
    )
    parser.add_argument(
        "--out", required=True, metavar="FILE", help="the recording to write (overwritten)"
    )
    parser.add_argument(
        "--redact",
        action="append",
        default=[],
        metavar="KEY",
        help="record the values of KEY, wherever it occurs in a message, as <redacted> "
        "(repeatable; the conductor still gets them)",
    )


def record(args: argparse.Namespace, upstream: str) -> int:
    from .._recorder import Recorder

    recorder = Recorder(upstream, args.listen, args.out, redact=args.redact)

    async def serve() -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async with anyio.create_task_group() as task_group:
                await task_group.start(recorder.serve)
                print(f"recording {upstream} on {args.listen} into {args.out}", flush=True)
                async for _ in signals:
                    task_group.cancel_scope.cancel()
                    return

    try:
        anyio.run(serve)
    except OSError as failure:  # a socket it cannot listen on, a file it cannot write
        print(f"error: {type(failure).__name__}: {failure}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK
