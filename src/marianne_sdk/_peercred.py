"""Who is listening on the socket.

``/tmp`` is writable by everyone, so anyone can create a socket where the SDK
looks for the conductor and collect what is sent to it (job configs, paths).
The conductor itself checks nothing, so the client checks the listener: on
Linux the kernel reports the peer's credentials (``SO_PEERCRED``), and a peer
whose uid is not trusted is refused before the first byte is sent.
"""

from __future__ import annotations

import logging
import os
import socket
import sys
from collections.abc import Collection, Iterator

from ._bridge import peer_credentials
from ._failures import Untrusted

logger = logging.getLogger("marianne_sdk")


class _ThisUserAndRoot(Collection[int]):
    """Root and this process's uid, read when asked, not when the SDK was imported.

    A process that drops privileges after importing then trusts its new uid.
    """

    def _uids(self) -> frozenset[int]:
        return frozenset({os.getuid(), 0}) if hasattr(os, "getuid") else frozenset()

    def __contains__(self, uid: object) -> bool:
        return uid in self._uids()

    def __iter__(self) -> Iterator[int]:
        return iter(self._uids())

    def __len__(self) -> int:
        return len(self._uids())

    def __repr__(self) -> str:
        return "DEFAULT_TRUSTED_UIDS"


DEFAULT_TRUSTED_UIDS: Collection[int] = _ThisUserAndRoot()
"""This process's uid (at the time of each check) and root."""


def check_peer(
    sock: socket.socket, path: str | os.PathLike[str], trusted_uids: Collection[int] | None
) -> None:
    """Raise :class:`._failures.Untrusted` unless ``sock``'s peer runs as a trusted uid.

    ``trusted_uids=None`` turns the check off. Only Linux reports peer
    credentials this way; elsewhere the check is skipped.
    """
    if trusted_uids is None:
        return
    credentials = peer_credentials(sock)
    if credentials is None:
        logger.debug("peer credentials are not checked on %s", sys.platform)
        return
    pid, uid = credentials
    if uid in trusted_uids:
        return
    trusted = ", ".join(str(trusted_uid) for trusted_uid in sorted(trusted_uids)) or "none"
    raise Untrusted(
        f"refusing the daemon on {os.fspath(path)}: it runs as {_describe_user(uid)} "
        f"(pid {pid}), which is not a trusted uid ({trusted})",
        uid=uid,
        pid=pid,
        path=os.fspath(path),
    )


def _describe_user(uid: int) -> str:
    import pwd  # POSIX only; imported here because only Linux gets this far

    try:
        return f"uid {uid} ({pwd.getpwuid(uid).pw_name})"
    except KeyError:
        return f"uid {uid}"
