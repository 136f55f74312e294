"""SSH: paramiko's server side as a vty transport (shell and exec requests).

paramiko is already installed (netmiko is built on it), so the emulator needs
no further dependency, and its thread-per-transport model fits the lab's
one-lock design. Authentication follows the vty's login rules
(``emulator.frontends.login``).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from pathlib import Path
from typing import Callable

import paramiko

from emulator.frontends.login import LOGIN_TIMEOUT, Gate, LoginPolicy
from emulator.frontends.pacer import PacedLab
from emulator.frontends.terminal import VtyTerminal, encode

log = logging.getLogger(__name__)

SERVER_VERSION = "SSH-2.0-Cisco-1.25"
EXEC_WAIT = 10.0              # seconds a client has to ask for a shell or a command once logged in


class ServerKeyError(Exception):
    """The SSH host key file cannot be used."""


class SSHChannel:
    def __init__(self, chan: paramiko.Channel):
        self.chan = chan

    def recv(self, timeout: float | None) -> bytes:
        self.chan.settimeout(timeout)
        try:
            return self.chan.recv(4096)
        except socket.timeout:
            raise TimeoutError from None

    def send(self, text: str) -> None:
        self.chan.settimeout(LOGIN_TIMEOUT)
        self.chan.sendall(encode(text))

    def close(self) -> None:
        try:
            self.chan.send_exit_status(0)
        except Exception:  # noqa: BLE001 - already gone
            pass
        self.chan.close()


class SSHAuth(paramiko.ServerInterface):
    """The vty's login rules as paramiko's authentication, and the session's shell or exec request."""

    def __init__(self, where: str, policy: LoginPolicy, gate: Gate | None = None):
        self.where = where
        self.policy = policy
        self.gate = gate
        self.ready = threading.Event()
        self.command: str | None = None
        self.username: str | None = None
        self.failures = 0

    def get_allowed_auths(self, username):
        return "none,password" if self.policy.mode == "none" else "password"

    def check_auth_none(self, username):
        if self.policy.mode == "none" and (self.gate is None or self.gate.succeeded(username)):
            self.username = username
            return paramiko.AUTH_SUCCESSFUL
        return paramiko.AUTH_FAILED

    def check_auth_password(self, username, password):
        if self.gate is not None and not self.gate.open():    # login block-for quiet mode
            self.failures += 1
            return paramiko.AUTH_FAILED
        if self.policy.check(username, password):     # the policy is the line's, read at connection
            if self.gate is not None and not self.gate.succeeded(username):
                return paramiko.AUTH_FAILED
            self.username = username
            log.info("%s: logged in as %s", self.where, username)
            return paramiko.AUTH_SUCCESSFUL
        self.failures += 1
        log.info("%s: authentication failed for %r (%d)", self.where, username, self.failures)
        if self.gate is not None:
            self.gate.failed(username)                # the login delay passes before the client hears
        return paramiko.AUTH_FAILED

    def check_channel_request(self, kind, chanid):
        if kind == "session":
            return paramiko.OPEN_SUCCEEDED
        return paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

    def check_channel_pty_request(self, channel, term, width, height, pixelwidth, pixelheight, modes):
        return True

    def check_channel_window_change_request(self, channel, width, height, pixelwidth, pixelheight):
        return True

    def check_channel_shell_request(self, channel):
        self.ready.set()
        return True

    def check_channel_exec_request(self, channel, command):
        self.command = bytes(command).decode("latin-1", errors="replace")
        self.ready.set()
        return True


def serve_ssh(paced: PacedLab, sock: socket.socket, host_key: paramiko.PKey, device: str, peer: str,
              vty: int | None, policy: LoginPolicy, where: str,
              on_transport: Callable[[paramiko.Transport], None], gate: Gate | None = None) -> None:
    """One SSH connection to ``device``: handshake, authentication, then the shell or one command.

    ``on_transport`` hears of the transport at once (closing it ends the connection). With a
    ``gate`` the login gives the vty line; without one the connection is on ``vty``.
    """
    transport = paramiko.Transport(sock)
    on_transport(transport)
    try:
        transport.local_version = SERVER_VERSION
        transport.add_server_key(host_key)
        auth = SSHAuth(f"{device} {'vty' if vty is None else f'vty{vty}'} ssh from {peer}", policy, gate)
        try:
            transport.start_server(server=auth)
        except (paramiko.SSHException, EOFError, OSError) as err:
            log.info("%s: SSH handshake failed (%s)", where, str(err) or type(err).__name__)
            return
        chan = _wait(paced, lambda: transport.accept(timeout=0.5), transport, LOGIN_TIMEOUT)
        if chan is None:
            log.info("%s: no session opened (authentication failures: %d)", where, auth.failures)
            return
        if not _wait(paced, lambda: auth.ready.wait(0.5) or None, transport, EXEC_WAIT):
            log.info("%s: no shell or exec request", where)
            return
        if gate is not None:
            vty = gate.vty
            if vty is None:
                return
        channel = SSHChannel(chan)
        term = VtyTerminal(paced, device, channel, kind="ssh", peer=peer, vty=vty, policy=policy)
        try:
            if auth.command is not None:
                term.run_exec(auth.command)
            else:
                term.run_shell()
        finally:
            channel.close()
    finally:
        transport.close()


def _wait(paced: PacedLab, poll, transport: paramiko.Transport, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and transport.is_active() and not paced.stopping.is_set():
        result = poll()
        if result is not None:
            return result
    return None


def load_host_key(path: str | Path) -> paramiko.PKey:
    """An SSH host key from a private key file (generated and saved there if it does not exist)."""
    path = Path(path)
    if not path.exists():
        key = paramiko.ECDSAKey.generate()
        try:
            key.write_private_key_file(str(path))
        except OSError as err:
            raise ServerKeyError(f"{path}: cannot write the host key ({err.strerror})") from None
        return key
    try:
        return paramiko.PKey.from_path(path)
    except (OSError, paramiko.SSHException, ValueError) as err:
        raise ServerKeyError(f"{path}: not a usable SSH private key ({err})") from None


__all__ = ["SSHAuth", "SSHChannel", "ServerKeyError", "load_host_key", "serve_ssh"]
