"""Where the conductor's socket is.

The conductor listens on ``/tmp/marianne.sock`` unless its config says
otherwise; a clone conductor (``mzt --conductor-clone[=NAME]``) listens on a
path derived from the clone's name. The conductor's own CLI does not read the
config file to find a custom path, and neither does the SDK: a custom path is
passed explicitly or through ``MARIANNE_SOCKET``. Either may also be an
``ssh://`` URL: a conductor on another host (:mod:`._ssh`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from ._ssh import SSHTarget, is_ssh_target

SOCKET_ENV_VAR = "MARIANNE_SOCKET"
DEFAULT_SOCKET_PATH = Path("/tmp/marianne.sock")

_UNSAFE_NAME_CHARS = re.compile(r"[^A-Za-z0-9_-]")
_DASH_RUNS = re.compile(r"-+")
_MAX_CLONE_NAME = 64


def clone_socket_path(name: str = "") -> Path:
    """The socket of the clone conductor ``name``; ``""`` is the default clone.

    The name is sanitised exactly as the conductor does it, so both sides agree
    on the path: characters other than ``[A-Za-z0-9_-]`` become ``-``, runs of
    ``-`` collapse to one, and the result is cut to 64 characters.
    """
    suffix = _DASH_RUNS.sub("-", _UNSAFE_NAME_CHARS.sub("-", name))[:_MAX_CLONE_NAME]
    return Path(f"/tmp/marianne-clone-{suffix}.sock" if suffix else "/tmp/marianne-clone.sock")


def resolve_socket_path(
    explicit: str | os.PathLike[str] | None = None, *, clone: str | bool | None = None
) -> Path:
    """The socket to connect to.

    In order: ``explicit``; else the clone socket when ``clone`` is given
    (``True`` or ``""`` for the default clone, a name for a named clone;
    ``None`` or ``False`` for no clone); else ``$MARIANNE_SOCKET`` when set and
    not empty; else ``/tmp/marianne.sock``. Naming both a path and a clone is
    an error, as it is ambiguous.
    """
    wants_clone = clone is not None and clone is not False
    if explicit is not None:
        if wants_clone:
            raise ValueError("pass either a socket path or a clone, not both")
        return Path(explicit)
    if wants_clone:
        return clone_socket_path("" if clone is True else str(clone))
    from_env = os.environ.get(SOCKET_ENV_VAR)
    return Path(from_env) if from_env else DEFAULT_SOCKET_PATH


def resolve_target(
    explicit: str | os.PathLike[str] | None = None, *, clone: str | bool | None = None
) -> Path | SSHTarget:
    """The conductor to connect to: a local socket, or an ``ssh://`` URL's remote one.

    Chosen as :func:`resolve_socket_path` chooses; an ``ssh://`` URL, given or
    in ``$MARIANNE_SOCKET``, is parsed (ValueError if malformed). A clone is
    local: an ``ssh://`` URL names its socket path itself.
    """
    wants_clone = clone is not None and clone is not False
    if explicit is None and not wants_clone:
        explicit = os.environ.get(SOCKET_ENV_VAR) or None
    if explicit is not None and is_ssh_target(explicit):
        if wants_clone:
            raise ValueError("pass either a socket path or a clone, not both")
        return SSHTarget.parse(os.fspath(explicit))
    return resolve_socket_path(explicit, clone=clone)
