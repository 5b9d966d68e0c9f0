"""The transport: framing, the hard line limit, EOF handling and the reuse check, on raw sockets."""

from __future__ import annotations

import gc
import socket
import warnings
from pathlib import Path

import anyio
import anyio.lowlevel
import pytest
from tests.support import raw_server, send_all

from marianne_sdk import RequestTooLargeError
from marianne_sdk._failures import Unreachable
from marianne_sdk._messages import frame
from marianne_sdk._transport import (
    HANDSHAKE,
    MAX_LINE_BYTES,
    BadLine,
    Connection,
    Disconnected,
    receive_some,
)
from marianne_sdk.testing import FakeDaemon

pytestmark = pytest.mark.anyio


async def until_not_reusable(connection: Connection) -> None:
    """Wait until ``connection`` knows what arrived on it; fails if it never does.

    On asyncio the connection's reader callback sees new bytes only once the
    event loop has polled the socket, so this yields until then.
    """
    with anyio.fail_after(5):
        while connection.is_reusable():
            await anyio.lowlevel.checkpoint()


async def connect(path: Path) -> Connection:
    return await Connection.open(str(path), None)


def test_frame_accepts_the_longest_line_the_conductor_processes() -> None:
    payload = b"x" * (MAX_LINE_BYTES - 1)
    line = frame(payload)
    assert len(line) == MAX_LINE_BYTES
    assert line.endswith(b"\n")


def test_frame_refuses_a_line_the_conductor_would_drop() -> None:
    with pytest.raises(RequestTooLargeError, match="not sent"):
        frame(b"x" * MAX_LINE_BYTES)


async def test_lines_split_and_joined_across_reads(socket_path: Path) -> None:
    rest = anyio.Event()

    async def script(sock: socket.socket) -> None:
        await send_all(sock, b'{"a":1}\n{"b"')
        await rest.wait()
        await send_all(sock, b":2}\n\n")
        await receive_some(sock)

    async with raw_server(socket_path, script):
        connection = await connect(socket_path)
        assert await connection.receive_line() == b'{"a":1}'
        rest.set()
        assert await connection.receive_line() == b'{"b":2}'
        assert await connection.receive_line() == b""
        connection.close()


async def test_clean_eof_between_lines_is_a_disconnection(socket_path: Path) -> None:
    async def script(sock: socket.socket) -> None:
        await send_all(sock, b"done\n")

    async with raw_server(socket_path, script):
        connection = await connect(socket_path)
        assert await connection.receive_line() == b"done"
        with pytest.raises(Disconnected):
            await connection.receive_line()
        connection.close()


async def test_eof_inside_a_line_is_a_truncated_line(socket_path: Path) -> None:
    async def script(sock: socket.socket) -> None:
        await send_all(sock, b'{"jsonrpc":"2.0","res')

    async with raw_server(socket_path, script):
        connection = await connect(socket_path)
        with pytest.raises(BadLine, match="middle of a line"):
            await connection.receive_line()
        connection.close()


async def test_a_line_of_the_limit_is_read(socket_path: Path) -> None:
    longest = b"y" * (MAX_LINE_BYTES - 1)

    async def script(sock: socket.socket) -> None:
        await send_all(sock, longest + b"\nnext\n")
        await receive_some(sock)

    async with raw_server(socket_path, script):
        connection = await connect(socket_path)
        assert await connection.receive_line() == longest
        assert await connection.receive_line() == b"next"
        connection.close()


@pytest.mark.parametrize("newline", [True, False])
async def test_a_line_over_the_limit_is_refused_without_waiting_for_its_end(
    socket_path: Path, newline: bool
) -> None:
    async def script(sock: socket.socket) -> None:
        await send_all(sock, b"z" * MAX_LINE_BYTES + (b"\n" if newline else b"z" * 100_000))
        await receive_some(sock)

    async with raw_server(socket_path, script):
        connection = await connect(socket_path)
        with anyio.fail_after(10), pytest.raises(BadLine, match="longer than the limit"):
            await connection.receive_line()
        connection.close()


async def test_cancelled_read_keeps_the_partial_line(socket_path: Path) -> None:
    second_half = anyio.Event()

    async def script(sock: socket.socket) -> None:
        await send_all(sock, b'{"par')
        await second_half.wait()
        await send_all(sock, b'tial":1}\n')
        await receive_some(sock)

    async with raw_server(socket_path, script):
        connection = await connect(socket_path)
        with anyio.move_on_after(0.05) as scope:
            await connection.receive_line()
        assert scope.cancelled_caught
        second_half.set()
        assert await connection.receive_line() == b'{"partial":1}'
        connection.close()


async def test_a_connection_with_a_buffered_line_is_not_reusable(socket_path: Path) -> None:
    async def script(sock: socket.socket) -> None:
        await send_all(sock, b"answer\nleftover\n")
        await receive_some(sock)

    async with raw_server(socket_path, script):
        connection = await connect(socket_path)
        assert await connection.receive_line() == b"answer"
        assert not connection.is_reusable()
        assert await connection.receive_line() == b"leftover"
        assert connection.is_reusable()
        connection.close()
        assert not connection.is_reusable(), "a closed connection is never reused"


async def test_a_connection_with_unread_bytes_is_not_reusable(socket_path: Path) -> None:
    async def script(sock: socket.socket) -> None:
        await send_all(sock, b"unsolicited\n")
        await receive_some(sock)

    async with raw_server(socket_path, script):
        connection = await connect(socket_path)
        await until_not_reusable(connection)
        connection.close()


async def test_a_connection_closed_by_the_peer_is_not_reusable(socket_path: Path) -> None:
    hang_up = anyio.Event()

    async def script(sock: socket.socket) -> None:
        await hang_up.wait()

    async with raw_server(socket_path, script) as finished:
        connection = await connect(socket_path)
        assert connection.is_reusable()
        hang_up.set()
        with anyio.fail_after(5):
            await finished.wait()
        await until_not_reusable(connection)
        connection.close()


async def test_close_is_idempotent_and_send_after_close_is_a_disconnection(
    socket_path: Path,
) -> None:
    async def script(sock: socket.socket) -> None:
        await receive_some(sock)

    async with raw_server(socket_path, script):
        connection = await connect(socket_path)
        connection.close()
        connection.close()
        with pytest.raises(Disconnected):
            await connection.send_line(b"{}\n")


async def test_handshake_reply_must_be_an_error_with_null_id(socket_path: Path) -> None:
    async def script(sock: socket.socket) -> None:
        await send_all(
            sock, b'{"jsonrpc":"2.0","error":{"code":-32700,"message":"x","data":null},"id":null}\n'
        )
        await send_all(sock, b'{"jsonrpc":"2.0","result":1,"id":1}\n')
        await receive_some(sock)

    async with raw_server(socket_path, script):
        connection = await connect(socket_path)
        await connection.handshake_reply()
        with pytest.raises(BadLine, match="handshake"):
            await connection.handshake_reply()
        connection.close()


async def test_missing_socket(socket_path: Path) -> None:
    with pytest.raises(Unreachable, match=str(socket_path)):
        await connect(socket_path)


async def test_a_reader_that_falls_behind_holds_the_sender_back(socket_path: Path) -> None:
    line = b"x" * 999 + b"\n"
    count = 8_000  # 8 MB, far more than the socket buffers hold

    async def script(sock: socket.socket) -> None:
        await send_all(sock, line * count)
        await receive_some(sock)

    async with raw_server(socket_path, script):
        connection = await connect(socket_path)
        largest_buffer = 0
        for _ in range(count):
            assert await connection.receive_line() == line[:-1]
            largest_buffer = max(largest_buffer, len(connection._buffer))
            await anyio.lowlevel.checkpoint()  # a slow consumer: the loop runs meanwhile
        connection.close()
    assert largest_buffer < 3 * 1024 * 1024, "unread lines are left in the socket, not buffered"


async def test_a_connection_nobody_closed_is_closed_when_collected(fake: FakeDaemon) -> None:
    connection = await connect(fake.socket_path)
    await fake.wait_for(lambda: fake.open_connections == 1)
    del connection
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)  # a bare socket's finalizer says so
        gc.collect()
    with anyio.fail_after(5):
        await fake.wait_for(lambda: fake.open_connections == 0)
    # Its descriptor number is free again, with nothing left registered for it.
    replacement = await connect(fake.socket_path)
    await replacement.send_line(HANDSHAKE)
    with anyio.fail_after(5):
        await replacement.handshake_reply()
    replacement.close()
