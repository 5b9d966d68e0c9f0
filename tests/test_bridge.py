"""The bridge (``python3 -c SOURCE`` and ``marianne-sdk dial-stdio``), run locally without ssh.

It runs as a child whose pipes the test speaks JSON-RPC lines through, to a
FakeDaemon; the server counts what arrived.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import Process

from marianne_sdk import _bridge
from marianne_sdk.testing import FakeDaemon

pytestmark = pytest.mark.anyio

WAIT = 30.0
"""Seconds any one step may take before the test fails (never reached when it works)."""

BRIDGE = [sys.executable, "-c", _bridge.source()]
DIAL_STDIO = [sys.executable, "-m", "marianne_sdk", "dial-stdio"]

_PYTHON_37 = sorted(Path.home().glob(".pyenv/versions/3.7.*/bin/python3.7"))
OLDEST_BRIDGE = pytest.param(
    [str(_PYTHON_37[-1]) if _PYTHON_37 else "python3.7", "-c", _bridge.source()],
    id="python3.7-c",
    marks=pytest.mark.skipif(not _PYTHON_37, reason="no Python 3.7 under ~/.pyenv/versions"),
)
"""The bridge on the oldest python3 a conductor host may have."""


def health(request_id: int) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": request_id, "method": "daemon.health"}).encode()


@asynccontextmanager
async def bridge(
    args: Sequence[str], *, env: dict[str, str] | None = None
) -> AsyncIterator[Process]:
    """The bridge as a child with piped stdin, stdout and stderr; killed if still running."""
    environment = {**os.environ, **(env or {})}
    async with await anyio.open_process(list(args), env=environment) as process:
        try:
            yield process
        finally:
            if process.returncode is None:
                process.kill()


async def read_line(process: Process) -> bytes:
    assert process.stdout is not None
    line = b""
    while not line.endswith(b"\n"):
        chunk = await process.stdout.receive(1)
        line += chunk
    return line


async def read_all(stream: Any) -> bytes:
    data = b""
    try:
        while True:
            data += await stream.receive()
    except anyio.EndOfStream:
        return data


async def finish(process: Process) -> tuple[int, bytes, bytes]:
    """Close the bridge's input; its exit status, the rest of its stdout, its stderr."""
    assert process.stdin is not None
    assert process.stdout is not None
    assert process.stderr is not None
    with anyio.fail_after(WAIT):
        await process.stdin.aclose()
        out = await read_all(process.stdout)
        err = await read_all(process.stderr)
        return await process.wait(), out, err


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(BRIDGE, id="python3-c"),
        OLDEST_BRIDGE,
        pytest.param(DIAL_STDIO, id="dial-stdio"),
    ],
)
async def test_requests_pass_both_ways(fake: FakeDaemon, command: list[str]) -> None:
    args = (
        [*command, "--socket", str(fake.socket_path)]
        if command is DIAL_STDIO
        else [*command, str(fake.socket_path)]
    )
    async with bridge(args) as process:
        assert process.stdin is not None
        with anyio.fail_after(WAIT):
            await process.stdin.send(health(1) + b"\n")
            first = json.loads(await read_line(process))
            # Several lines in one write come back in order.
            await process.stdin.send(health(2) + b"\n" + health(3) + b"\n")
            more = [json.loads(await read_line(process)) for _ in range(2)]
        assert first["id"] == 1
        assert "result" in first
        assert [answer["id"] for answer in more] == [2, 3]
        status, rest, err = await finish(process)
    assert (status, rest, err) == (0, b"", b"")
    assert [request.method for request in fake.requests] == ["daemon.health"] * 3


async def test_large_lines_both_ways_at_once(fake: FakeDaemon) -> None:
    """Megabytes each way, written while the answers pour back: neither direction blocks."""

    async def echo(params: dict[str, Any]) -> Any:
        return params["blob"]

    fake.register("test.echo", echo)
    blob = "x" * 3_000_000
    lines = [
        json.dumps(
            {"jsonrpc": "2.0", "id": n, "method": "test.echo", "params": {"blob": blob}}
        ).encode()
        + b"\n"
        for n in range(4)
    ]
    async with bridge([*BRIDGE, str(fake.socket_path)]) as process:
        assert process.stdin is not None
        assert process.stdout is not None
        received = bytearray()

        async def collect() -> None:
            assert process.stdout is not None
            while received.count(b"\n") < len(lines):
                received.extend(await process.stdout.receive())

        with anyio.fail_after(WAIT):
            async with anyio.create_task_group() as task_group:
                task_group.start_soon(collect)
                await process.stdin.send(b"".join(lines))
        answers = [json.loads(line) for line in bytes(received).splitlines()]
        assert [answer["id"] for answer in answers] == [0, 1, 2, 3]
        assert all(answer["result"] == blob for answer in answers)
        assert (await finish(process))[0] == 0


async def test_end_of_input_still_delivers_the_answer(fake: FakeDaemon) -> None:
    """``printf REQUEST | dial-stdio``: the answer comes after the input ended."""
    async with bridge([*BRIDGE, str(fake.socket_path)]) as process:
        assert process.stdin is not None
        with anyio.fail_after(WAIT):
            await process.stdin.send(health(7) + b"\n")
        status, out, err = await finish(process)
    assert status == 0
    assert err == b""
    assert json.loads(out)["id"] == 7
    with anyio.fail_after(WAIT):
        await fake.wait_for(lambda: fake.open_connections == 0)


async def test_conductor_closing_ends_the_bridge(fake: FakeDaemon) -> None:
    async with bridge([*BRIDGE, str(fake.socket_path)]) as process:
        assert process.stdin is not None
        with anyio.fail_after(WAIT):
            await process.stdin.send(health(1) + b"\n")
            assert b"result" in await read_line(process)
            await fake.stop()
            assert await process.wait() == 0


async def test_a_reader_gone_ends_the_bridge(fake: FakeDaemon) -> None:
    """stdout's reader hangs up while the conductor is silent: the bridge leaves, slot freed."""
    ours, theirs = socket.socketpair()
    with ours:
        with theirs:
            process = await anyio.open_process(
                [*BRIDGE, str(fake.socket_path)], stdout=theirs.fileno()
            )
        async with process:
            assert process.stdin is not None
            with anyio.fail_after(WAIT):
                await process.stdin.send(health(1) + b"\n")
                await anyio.wait_readable(ours)
                assert b"result" in ours.recv(65536)
                ours.close()
                assert await process.wait() == 0
                await fake.wait_for(lambda: fake.open_connections == 0)


def stale_socket(path: Path) -> None:
    """A socket file nobody listens on, as a crashed conductor leaves behind."""
    with socket.socket(socket.AF_UNIX) as listener:
        listener.bind(str(path))


@pytest.mark.parametrize(
    ("prepare", "status", "says"),
    [
        (lambda path: None, _bridge.EXIT_NO_SOCKET, "no conductor socket at {path}"),
        (Path.mkdir, _bridge.EXIT_NO_SOCKET, "{path} is not a socket: no conductor listens there"),
        (
            stale_socket,
            _bridge.EXIT_REFUSED,
            "nothing listens on the conductor socket {path} (a stale socket file)",
        ),
    ],
    ids=["missing", "not-a-socket", "refused"],
)
@pytest.mark.parametrize("command", [BRIDGE, DIAL_STDIO], ids=["python3-c", "dial-stdio"])
async def test_no_conductor_exit_status_and_one_line(
    socket_path: Path, prepare: Any, status: int, says: str, command: list[str]
) -> None:
    prepare(socket_path)
    args = (
        [*command, str(socket_path)]
        if command is BRIDGE
        else [*command, "--socket", str(socket_path)]
    )
    async with bridge(args) as process:
        code, out, err = await finish(process)
    assert code == status
    assert out == b""  # nothing on stdout before a connection
    assert err.decode() == f"{_bridge.PROGRAM}: {says.format(path=socket_path)}\n"


@pytest.mark.parametrize("how", ["environment", "empty-argument"])
async def test_default_socket_from_the_environment(fake: FakeDaemon, how: str) -> None:
    args = [*BRIDGE] if how == "environment" else [*BRIDGE, ""]
    async with bridge(args, env={"MARIANNE_SOCKET": str(fake.socket_path)}) as process:
        assert process.stdin is not None
        with anyio.fail_after(WAIT):
            await process.stdin.send(health(1) + b"\n")
            assert json.loads(await read_line(process))["id"] == 1
        assert (await finish(process))[0] == 0


async def test_default_socket_without_environment(tmp_path: Path) -> None:
    env = {key: value for key, value in os.environ.items() if key != "MARIANNE_SOCKET"}
    done = await anyio.run_process([*BRIDGE], env=env, check=False, stdin=subprocess.DEVNULL)
    if done.returncode == 0:
        pytest.skip("a conductor listens on /tmp/marianne.sock on this machine")
    assert done.stderr.decode().strip().endswith(_bridge.DEFAULT_SOCKET_PATH) or (
        _bridge.DEFAULT_SOCKET_PATH in done.stderr.decode()
    )
    assert done.stdout == b""


async def test_two_arguments_are_a_usage_error() -> None:
    done = await anyio.run_process([*BRIDGE, "a", "b"], check=False)
    assert done.returncode == _bridge.EXIT_USAGE
    assert done.stdout == b""
    assert b"usage:" in done.stderr


LISTENER = """
import os, socket, sys
os.setgid(65534)
os.setuid(65534)
listener = socket.socket(socket.AF_UNIX)
listener.bind(sys.argv[1])
listener.listen()
print("ready", flush=True)
connection, _ = listener.accept()
print("accepted", flush=True)
sys.stdin.read()  # until the test ends
"""


@pytest.mark.skipif(os.getuid() != 0, reason="a listener of another user needs root to start")
async def test_untrusted_listener_is_refused(socket_path: Path) -> None:
    """A socket served by another user (nobody) is refused before any byte is sent."""
    os.chmod(socket_path.parent, 0o777)  # where nobody may create its socket
    async with await anyio.open_process(
        [sys.executable, "-c", LISTENER, str(socket_path)]
    ) as listener:
        try:
            assert listener.stdout is not None
            with anyio.fail_after(WAIT):
                assert (await listener.stdout.receive()).startswith(b"ready")
            async with bridge([*BRIDGE, str(socket_path)]) as process:
                code, out, err = await finish(process)
            assert code == _bridge.EXIT_UNTRUSTED
            assert out == b""
            line = err.decode().removeprefix(f"{_bridge.PROGRAM}: ").strip()
            assert _bridge.parse_untrusted(line) == (str(socket_path), 65534, listener.pid)
        finally:
            listener.kill()


@pytest.mark.parametrize(
    "args",
    [
        pytest.param([*BRIDGE, _bridge.ANNOUNCE_OPTION], id="python3-c"),
        pytest.param([*DIAL_STDIO, _bridge.ANNOUNCE_OPTION], id="dial-stdio"),
    ],
)
async def test_announce_says_on_stderr_when_the_socket_is_reached(
    fake: FakeDaemon, args: list[str]
) -> None:
    """What an ssh connection waits for before it counts the conductor's part."""
    socket_given = (
        [str(fake.socket_path)] if args[1] == "-c" else ["--socket", str(fake.socket_path)]
    )
    async with bridge([*args, *socket_given]) as process:
        assert process.stdin is not None
        assert process.stderr is not None
        announced = b""
        with anyio.fail_after(WAIT):
            while not announced.endswith(b"\n"):
                announced += await process.stderr.receive(1)
            await process.stdin.send(health(1) + b"\n")
            answer = json.loads(await read_line(process))
        status, rest, err = await finish(process)
    expected = f"{_bridge.PROGRAM}: {_bridge.ANNOUNCEMENT}{fake.socket_path}\n".encode()
    assert announced == expected
    assert answer["id"] == 1
    assert (status, rest, err) == (0, b"", b"")


async def test_announce_is_not_said_when_the_socket_is_missing(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.sock")
    async with bridge([*BRIDGE, _bridge.ANNOUNCE_OPTION, missing]) as process:
        status, out, err = await finish(process)
    assert status == _bridge.EXIT_NO_SOCKET
    assert out == b""
    assert _bridge.ANNOUNCEMENT.encode() not in err
    assert missing.encode() in err
