"""A private OpenSSH server on 127.0.0.1 for the remote-conductor tests and the benchmark.

:class:`SSHServer` generates a host key and a client key with ``ssh-keygen``
in a temporary directory, writes its own ``sshd_config`` (public keys only,
no PAM, ``StrictModes no`` because the directory is not root-only) and an
``ssh_config`` for the client (the key, a known-hosts file holding the host
key from the start, ``StrictHostKeyChecking yes``), runs ``sshd -D -e`` on a
free port and waits until it answers with its banner. Since the server runs
on this machine, a "remote" conductor is a FakeDaemon on a local socket.

The ``sshd`` fixture (a pytest plugin: ``pytest_plugins`` in conftest) starts
one server for the session and sets ``$MARIANNE_SSH_COMMAND`` to
``ssh -F <its ssh_config>`` for each test that uses it. Where sshd cannot run
(not installed, or not root and no ``/run/sshd``) the tests skip, saying why;
with ``CI=true`` they fail instead: CI installs it (``.ci/run``).
"""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

SSHD = Path("/usr/sbin/sshd")
PRIVILEGE_SEPARATION_DIR = Path("/run/sshd")
READY_WITHIN = 20.0
"""Seconds sshd may take to answer its first connection (a loaded CI box)."""


class SSHUnavailable(Exception):
    """sshd cannot run on this machine; the message says why."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listened on a moment ago."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _keygen(path: Path) -> str:
    """A new ed25519 key at ``path``; its public half."""
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "marianne-sdk-tests", "-f", path],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return path.with_suffix(".pub").read_text().strip()


class SSHServer:
    """``sshd`` on 127.0.0.1:``port`` for this user, and a client config that trusts it.

    Use as a context manager: the server is killed on exit, whatever happened.
    """

    def __init__(self) -> None:
        self.directory = Path(tempfile.mkdtemp(prefix="msdk-sshd-", dir="/tmp"))
        self.port = free_port()
        self.user = os.environ.get("USER") or _user_name()
        self.host_key = ""
        self.ssh_config = self.directory / "ssh_config"
        self.log = self.directory / "sshd.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def ssh_command(self) -> str:
        """The ``$MARIANNE_SSH_COMMAND`` that reaches this server."""
        return f"ssh -F {shlex.quote(str(self.ssh_config))}"

    def url(
        self, socket_path: str | os.PathLike[str] | None = None, *, port: int | None = None
    ) -> str:
        """``ssh://127.0.0.1:PORT/socket_path``: the conductor at ``socket_path`` "on" this host."""
        path = "" if socket_path is None else os.fspath(socket_path)
        return f"ssh://127.0.0.1:{self.port if port is None else port}{path}"

    def __enter__(self) -> SSHServer:
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _start(self) -> None:
        if not SSHD.exists():
            raise SSHUnavailable(f"{SSHD} is not installed (apt-get install openssh-server)")
        if shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
            raise SSHUnavailable("the OpenSSH client (ssh, ssh-keygen) is not installed")
        try:
            PRIVILEGE_SEPARATION_DIR.mkdir(mode=0o755, exist_ok=True)
        except OSError as error:
            raise SSHUnavailable(f"sshd needs {PRIVILEGE_SEPARATION_DIR}: {error}") from error
        self.host_key = _keygen(self.directory / "host_key")
        client_key = _keygen(self.directory / "client_key")
        (self.directory / "authorized_keys").write_text(client_key + "\n")
        sshd_config = self.directory / "sshd_config"
        sshd_config.write_text(
            f"Port {self.port}\n"
            "ListenAddress 127.0.0.1\n"
            f"HostKey {self.directory / 'host_key'}\n"
            f"PidFile {self.directory / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {self.directory / 'authorized_keys'}\n"
            "PubkeyAuthentication yes\n"
            "PasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\n"
            "UsePAM no\n"
            "StrictModes no\n"
            "PermitRootLogin prohibit-password\n"
            # What a client may set in the remote session (MARIANNE_SOCKET, PATH).
            "AcceptEnv MARIANNE_* PATH\n"
            "PermitUserEnvironment no\n"
            "MaxStartups 100:30:200\n"
            "MaxSessions 100\n"
            "LogLevel ERROR\n"
        )
        self.write_known_hosts(self.directory / "known_hosts", self.host_key)
        self.write_client_config(self.ssh_config, self.directory / "known_hosts")
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(
                [SSHD, "-D", "-e", "-f", sshd_config],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )
        self._wait_until_ready()

    def write_known_hosts(self, path: Path, host_key: str) -> None:
        """A known-hosts file saying that this server's key is ``host_key``."""
        key_type, key = host_key.split()[:2]
        path.write_text(f"[127.0.0.1]:{self.port} {key_type} {key}\n")

    def write_client_config(self, path: Path, known_hosts: Path) -> None:
        """An ``ssh_config`` with the client key, checking host keys against ``known_hosts``."""
        path.write_text(
            "Host *\n"
            f"  User {self.user}\n"
            f"  IdentityFile {self.directory / 'client_key'}\n"
            "  IdentitiesOnly yes\n"
            f"  UserKnownHostsFile {known_hosts}\n"
            "  GlobalKnownHostsFile /dev/null\n"
            "  StrictHostKeyChecking yes\n"
            "  BatchMode yes\n"
            f"  Port {self.port}\n"
        )

    def _wait_until_ready(self) -> None:
        """Return once sshd sends its banner; fail if it exits or stays silent too long."""
        deadline = time.monotonic() + READY_WITHIN
        assert self._process is not None
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"sshd exited ({self._process.returncode}): {self._log_text()}")
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as probe,
            ):
                if probe.recv(64).startswith(b"SSH-"):
                    return
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"sshd did not answer within {READY_WITHIN} s: {self._log_text()}"
                )
            # Not a synchronisation stand-in: sshd offers nothing to wait on before it listens.
            time.sleep(0.02)

    def _log_text(self) -> str:
        with contextlib.suppress(OSError):
            return self.log.read_text(errors="replace")[-2000:]
        return ""

    def close(self) -> None:
        if self._process is not None:
            self._process.kill()
            self._process.wait(timeout=30)
            self._process = None
        shutil.rmtree(self.directory, ignore_errors=True)


def _user_name() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


def unavailable_outcome(reason: str) -> None:
    """Skip, saying why, where sshd cannot run; fail under CI, which must run it."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but sshd cannot run: {reason}")
    pytest.skip(f"sshd cannot run here: {reason}")


@pytest.fixture(scope="session")
def sshd_server() -> Iterator[SSHServer]:
    """One private sshd for the whole session."""
    try:
        server = SSHServer().__enter__()
    except SSHUnavailable as unavailable:
        unavailable_outcome(str(unavailable))
        raise  # not reached: skip and fail raise
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
def sshd(sshd_server: SSHServer, monkeypatch: pytest.MonkeyPatch) -> SSHServer:
    """The private sshd, with ``$MARIANNE_SSH_COMMAND`` reaching it for this test."""
    monkeypatch.setenv("MARIANNE_SSH_COMMAND", sshd_server.ssh_command)
    return sshd_server
