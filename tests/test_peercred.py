"""The peer check: a socket served by an untrusted uid is refused before anything is sent."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator

import pytest

from marianne_sdk import DaemonClient, UntrustedDaemonError
from marianne_sdk._failures import Untrusted
from marianne_sdk._peercred import DEFAULT_TRUSTED_UIDS, check_peer
from marianne_sdk.testing import FakeDaemon

linux_only = pytest.mark.skipif(sys.platform != "linux", reason="SO_PEERCRED is Linux-only")
NOT_US = os.getuid() + 12345


@pytest.fixture
def connected() -> Iterator[socket.socket]:
    ours, theirs = socket.socketpair(socket.AF_UNIX)
    with ours, theirs:
        yield ours


def test_default_trusts_us_and_root() -> None:
    assert set(DEFAULT_TRUSTED_UIDS) == {os.getuid(), 0}
    assert len(DEFAULT_TRUSTED_UIDS) == len({os.getuid(), 0})


def test_default_follows_the_uid_this_process_has_now(monkeypatch: pytest.MonkeyPatch) -> None:
    real_uid = os.getuid()
    monkeypatch.setattr(os, "getuid", lambda: real_uid + 4242)  # as after dropping privileges
    assert real_uid + 4242 in DEFAULT_TRUSTED_UIDS
    assert 0 in DEFAULT_TRUSTED_UIDS
    assert real_uid == 0 or real_uid not in DEFAULT_TRUSTED_UIDS


@linux_only
def test_accepts_a_peer_of_our_own(connected: socket.socket) -> None:
    check_peer(connected, "/tmp/x.sock", DEFAULT_TRUSTED_UIDS)


@linux_only
def test_refuses_a_peer_whose_uid_is_not_trusted(connected: socket.socket) -> None:
    with pytest.raises(Untrusted) as caught:
        check_peer(connected, "/tmp/someone.sock", {NOT_US})
    error = caught.value
    assert (error.uid, error.pid, error.path) == (os.getuid(), os.getpid(), "/tmp/someone.sock")
    assert f"uid {os.getuid()}" in str(error)
    assert "/tmp/someone.sock" in str(error)
    assert f"pid {os.getpid()}" in str(error)
    assert str(NOT_US) in str(error)


@linux_only
def test_message_names_the_user_when_known(connected: socket.socket) -> None:
    import pwd

    name = pwd.getpwuid(os.getuid()).pw_name
    with pytest.raises(Untrusted, match=rf"uid {os.getuid()} \({name}\)"):
        check_peer(connected, "/tmp/someone.sock", set())


def test_none_turns_the_check_off() -> None:
    # A closed socket would fail any read: with the check off nothing is read.
    closed = socket.socket(socket.AF_UNIX)
    closed.close()
    check_peer(closed, "/tmp/x.sock", None)


def test_skipped_off_linux(
    connected: socket.socket, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(sys, "platform", "darwin")
    with caplog.at_level("DEBUG", logger="marianne_sdk"):
        check_peer(connected, "/tmp/x.sock", {NOT_US})
    assert "not checked on darwin" in caplog.text


@linux_only
@pytest.mark.anyio
async def test_client_refuses_an_untrusted_daemon(fake: FakeDaemon) -> None:
    async with DaemonClient(fake.socket_path, trusted_uids={NOT_US}) as client:
        with pytest.raises(UntrustedDaemonError) as caught:
            await client.status()
        with pytest.raises(UntrustedDaemonError):
            async with client.monitor():
                pass
        assert not await client.is_daemon_running()
    assert f"uid {os.getuid()}" in str(caught.value)
    assert fake.socket_path in str(caught.value)
    assert fake.requests == []


@pytest.mark.anyio
@pytest.mark.parametrize("trusted_uids", [{os.getuid()}, None], ids=["ours", "check-off"])
async def test_client_accepts_a_trusted_daemon(
    fake: FakeDaemon, trusted_uids: set[int] | None
) -> None:
    async with DaemonClient(fake.socket_path, trusted_uids=trusted_uids) as client:
        assert (await client.health()).status == "ok"
