"""Telnet: the option parser (sans-I/O) and the vty transport on a TCP socket.

The server offers WILL ECHO and WILL SUPPRESS-GO-AHEAD, refuses every other
option once, answers AYT, and skips subnegotiations (cut off past
MAX_SUBNEGOTIATION bytes). Data bytes go to the terminal as they come, so
Ctrl-C and Ctrl-Shift-6 reach a running command at once.
"""

from __future__ import annotations

import logging
import socket
import time

from emulator.frontends.login import LOGIN_TIMEOUT, Gate, LoginPolicy
from emulator.frontends.pacer import PacedLab
from emulator.frontends.terminal import VtyTerminal, close_socket, encode

log = logging.getLogger(__name__)

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
AYT, NOP = 246, 241
OPT_ECHO, OPT_SGA = 1, 3
TELNET_GREETING = bytes([IAC, WILL, OPT_ECHO, IAC, WILL, OPT_SGA])
MAX_SUBNEGOTIATION = 1024


class TelnetParser:
    """Sans-I/O telnet option handling: ``feed(bytes) -> (data, replies)``.

    The server offers WILL ECHO and WILL SUPPRESS-GO-AHEAD and refuses every
    other option, each at most once (so no negotiation can loop). It echoes
    even when a client says DONT ECHO, as IOS does (netmiko's telnet client
    refuses everything and still relies on the echo).
    """

    def __init__(self):
        self._state = "data"
        self._verb = 0
        self._sub = bytearray()
        self._refused: set[tuple[int, int]] = set()
        self.oversized = 0          # subnegotiations cut off for length

    def feed(self, chunk: bytes) -> tuple[bytes, bytes]:
        data, replies = bytearray(), bytearray()
        for b in chunk:
            state = self._state
            if state == "data":
                if b == IAC:
                    self._state = "iac"
                else:
                    data.append(b)
            elif state == "iac":
                self._state = "data"
                if b == IAC:
                    data.append(IAC)
                elif b in (DO, DONT, WILL, WONT):
                    self._verb, self._state = b, "option"
                elif b == SB:
                    self._sub.clear()
                    self._state = "sb"
                elif b == AYT:
                    replies += b"\r\n[Yes]\r\n"
            elif state == "option":
                self._state = "data"
                replies += self._answer(self._verb, b)
            elif state == "sb":
                if b == IAC:
                    self._state = "sb-iac"
                elif len(self._sub) >= MAX_SUBNEGOTIATION:
                    self.oversized += 1
                    self._sub.clear()
                    self._state = "data"
                else:
                    self._sub.append(b)
            elif state == "sb-iac":
                self._state = "data" if b == SE else "sb"
        return bytes(data), bytes(replies)

    def _answer(self, verb: int, option: int) -> bytes:
        if verb == DO and option in (OPT_ECHO, OPT_SGA):
            return b""                      # already offered
        if verb in (DO, WILL) and (verb, option) not in self._refused:
            self._refused.add((verb, option))
            return bytes([IAC, WONT if verb == DO else DONT, option])
        return b""



class TelnetChannel:
    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.parser = TelnetParser()

    def start(self) -> None:
        self.sock.sendall(TELNET_GREETING)

    def recv(self, timeout: float | None) -> bytes:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError
            self.sock.settimeout(left)
            chunk = self.sock.recv(4096)
            if not chunk:
                return b""
            data, replies = self.parser.feed(chunk)
            if replies:
                self.sock.sendall(replies)
            if data:
                return data

    def send(self, text: str) -> None:
        self.sock.settimeout(LOGIN_TIMEOUT)
        self.sock.sendall(encode(text).replace(b"\xff", b"\xff\xff"))

    def close(self) -> None:
        close_socket(self.sock)



def serve_telnet(paced: PacedLab, sock: socket.socket, device: str, peer: str, vty: int | None,
                 policy: LoginPolicy, gate: Gate | None = None) -> None:
    """One telnet connection to ``device``: login, then the EXEC shell, until it ends.

    With a ``gate`` the login gives the vty line; without one the connection is on ``vty``.
    """
    channel = TelnetChannel(sock)
    channel.start()
    term = VtyTerminal(paced, device, channel, kind="telnet", peer=peer, vty=vty, policy=policy, gate=gate)
    if term.login():
        term.run_shell()
    if channel.parser.oversized:
        log.info("%s: %d over-long telnet subnegotiations dropped", term.where, channel.parser.oversized)


__all__ = ["TelnetParser", "TelnetChannel", "serve_telnet", "IAC", "DONT", "DO", "WONT", "WILL", "SB", "SE"]
