"""``marianne-sdk dial-stdio``: standard input and output bridged to the conductor's socket.

What ``ssh host marianne-sdk dial-stdio`` runs on a conductor's host, for the
SDK or any other tool; the program is :mod:`marianne_sdk._bridge`, whose exit
statuses :data:`DIAL_STDIO_EPILOG` lists.
"""

from __future__ import annotations

import argparse

from .. import _bridge
from .._discovery import resolve_socket_path
from ._arguments import UsageError

DIAL_STDIO_HELP = "bridge standard input and output to the conductor's socket (for ssh)"

DIAL_STDIO_EPILOG = f"""\
Connects to --socket (or the --clone conductor's), else to $MARIANNE_SOCKET, else to /tmp/marianne.sock, and
refuses a socket served by a user other than this one and root. Then copies
bytes unchanged both ways until either side closes. Nothing is written to
stdout before the connection is made.

exit codes:
  0   the connection was made, and has ended
  2   usage error (bad arguments)
  {_bridge.EXIT_NO_SOCKET}  no socket: nothing at the path, or not a socket
  {_bridge.EXIT_REFUSED}  refused: nothing listens on the socket, or it may not be opened
  {_bridge.EXIT_UNTRUSTED}  untrusted: the socket is served by another user
"""


def dial_stdio(args: argparse.Namespace) -> int:
    announce = [_bridge.ANNOUNCE_OPTION] if args.announce else []
    if args.socket is None and args.clone is None:
        return _bridge.main(announce)
    try:
        socket_path = resolve_socket_path(args.socket, clone=args.clone)
    except ValueError as error:
        raise UsageError(f"--socket and --clone: {error}") from None
    return _bridge.main([*announce, str(socket_path)])
