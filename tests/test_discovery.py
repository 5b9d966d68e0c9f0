"""Socket discovery: explicit path, then clone, then $MARIANNE_SOCKET, then the default."""

from __future__ import annotations

from pathlib import Path

import pytest

from marianne_sdk import DaemonClient as AsyncDaemonClient
from marianne_sdk._discovery import (
    DEFAULT_SOCKET_PATH,
    SOCKET_ENV_VAR,
    clone_socket_path,
    resolve_socket_path,
)
from marianne_sdk.sync import DaemonClient as SyncDaemonClient


@pytest.fixture(autouse=True)
def no_socket_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SOCKET_ENV_VAR, raising=False)


def test_default_is_the_conductors_socket() -> None:
    assert resolve_socket_path() == Path("/tmp/marianne.sock") == DEFAULT_SOCKET_PATH


def test_env_var_overrides_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SOCKET_ENV_VAR, "/run/user/1000/conductor.sock")
    assert resolve_socket_path() == Path("/run/user/1000/conductor.sock")


def test_empty_env_var_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SOCKET_ENV_VAR, "")
    assert resolve_socket_path() == DEFAULT_SOCKET_PATH


def test_explicit_path_wins_over_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SOCKET_ENV_VAR, "/from/env.sock")
    assert resolve_socket_path("/explicit.sock") == Path("/explicit.sock")
    assert resolve_socket_path(Path("relative.sock")) == Path("relative.sock")


def test_clone_wins_over_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SOCKET_ENV_VAR, "/from/env.sock")
    assert resolve_socket_path(clone="staging") == Path("/tmp/marianne-clone-staging.sock")


@pytest.mark.parametrize("clone", [True, ""])
def test_default_clone(clone: str | bool) -> None:
    assert resolve_socket_path(clone=clone) == Path("/tmp/marianne-clone.sock")


@pytest.mark.parametrize("clone", [None, False])
def test_no_clone(clone: bool | None) -> None:
    assert resolve_socket_path(clone=clone) == DEFAULT_SOCKET_PATH


def test_path_and_clone_together_are_ambiguous() -> None:
    with pytest.raises(ValueError, match="not both"):
        resolve_socket_path("/explicit.sock", clone="staging")


@pytest.mark.parametrize(
    ("name", "suffix"),
    [
        ("staging", "staging"),
        ("Under_score-and-dash", "Under_score-and-dash"),
        ("my clone/1", "my-clone-1"),
        ("a  b", "a-b"),  # two unsafe characters make one dash
        ("a--b", "a-b"),  # existing runs collapse too
        ("-lead", "-lead"),  # not stripped: '-lead' and 'lead' stay distinct
        ("été", "-t-"),  # only ASCII letters are safe
        ("!!!", "-"),
    ],
)
def test_clone_name_sanitising(name: str, suffix: str) -> None:
    assert clone_socket_path(name) == Path(f"/tmp/marianne-clone-{suffix}.sock")


def test_clone_name_cut_to_64_chars_after_collapsing() -> None:
    name = "x" * 60 + "/////" + "y" * 10
    assert clone_socket_path(name).name == "marianne-clone-" + "x" * 60 + "-yyy" + ".sock"
    assert len(clone_socket_path("z" * 200).name) == len("marianne-clone-.sock") + 64


def test_clients_resolve_their_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SOCKET_ENV_VAR, "/from/env.sock")
    # The async client opens nothing before it is used.
    assert AsyncDaemonClient().socket_path == Path("/from/env.sock")
    assert AsyncDaemonClient(clone="a/b").socket_path == Path("/tmp/marianne-clone-a-b.sock")
    with SyncDaemonClient(clone=True) as client:
        assert client.socket_path == Path("/tmp/marianne-clone.sock")
    for client_class in (AsyncDaemonClient, SyncDaemonClient):
        with pytest.raises(ValueError, match="not both"):
            client_class("/explicit.sock", clone=True)
