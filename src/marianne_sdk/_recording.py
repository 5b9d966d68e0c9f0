"""The recording file: a conductor session as NDJSON, written by ``marianne-sdk record``.

The first line is a :class:`RecordingHeader`; every other line is one
:class:`Exchange`: one message that crossed one proxied connection, in the
order the proxy saw them. A line that was not JSON is kept as ``raw`` text,
so bad input is recorded as it was sent. Writers append whole lines only, so
a file cut short by a crash still reads up to its last complete record.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec

FORMAT = "marianne-sdk-recording"
VERSION = 1


class Direction(enum.Enum):
    """Which way a message went."""

    TO_CONDUCTOR = "to_conductor"
    FROM_CONDUCTOR = "from_conductor"


class RecordingHeader(msgspec.Struct, kw_only=True):
    """The first line of a recording."""

    format: str = FORMAT
    version: int = VERSION
    upstream: str
    """The conductor socket the session was recorded against."""
    started_at: str
    """When recording started (ISO 8601, UTC)."""
    redacted: list[str] = []
    """Keys whose values were replaced by :data:`REDACTED`."""


class Exchange(msgspec.Struct, kw_only=True, omit_defaults=True):
    """One message on one proxied connection."""

    connection: int
    """The proxied connection, numbered from 1 in the order they were accepted."""
    direction: Direction
    time: float
    """Seconds since recording started."""
    message: Any = None
    """The JSON message, decoded (absent when ``raw`` is given)."""
    raw: str | None = None
    """The line as text when it was not JSON (undecodable bytes replaced)."""


REDACTED = "<redacted>"

_header_decoder = msgspec.json.Decoder(RecordingHeader)
_exchange_decoder = msgspec.json.Decoder(Exchange)
_encoder = msgspec.json.Encoder()


class RecordingError(ValueError):
    """A file that is not a recording, or of a version this SDK does not read."""


def encode_line(record: RecordingHeader | Exchange) -> bytes:
    """``record`` as one NDJSON line, newline included."""
    return _encoder.encode(record) + b"\n"


def read_recording(path: str | Path) -> tuple[RecordingHeader, list[Exchange]]:
    """The header and exchanges of the recording at ``path``.

    Raises :class:`RecordingError` for a file that is not a recording of this
    format's version; a last line cut short is ignored.
    """
    lines = Path(path).read_bytes().split(b"\n")
    try:
        header = _header_decoder.decode(lines[0])
    except msgspec.DecodeError as exc:
        raise RecordingError(f"{path} is not a marianne-sdk recording: {exc}") from None
    if header.format != FORMAT:
        raise RecordingError(f"{path} is not a marianne-sdk recording: format {header.format!r}")
    if header.version != VERSION:
        raise RecordingError(
            f"{path} is a recording of version {header.version}; this SDK reads version {VERSION}"
        )
    return header, list(_exchanges(path, lines[1:]))


def _exchanges(path: str | Path, lines: list[bytes]) -> Iterator[Exchange]:
    for number, line in enumerate(lines, start=2):
        if not line.strip():
            continue
        try:
            yield _exchange_decoder.decode(line)
        except msgspec.DecodeError as exc:
            if number == len(lines) + 1:
                return  # a crash cut the last line short
            raise RecordingError(f"{path}, line {number}: {exc}") from None
