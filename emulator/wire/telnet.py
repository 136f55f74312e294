"""Telnet (RFC 854, options RFC 855) option handling, sans-I/O: ``feed(bytes) -> (data, replies)``.

A server (IOS's vty) offers WILL ECHO and WILL SUPPRESS-GO-AHEAD (RFC 857,
RFC 858); the options it asks for itself (``requested``: IOS asks DO
TERMINAL-TYPE and DO WINDOW-SIZE) are taken when the client agrees; every
other option is refused, each at most once, so no negotiation can loop. It
answers AYT and skips subnegotiations (cut off past MAX_SUBNEGOTIATION bytes).
It echoes even when a client says DONT ECHO, as IOS does (netmiko's telnet
client refuses everything and still relies on the echo).

A client (IOS's ``telnet`` command) agrees to the server's ECHO and
SUPPRESS-GO-AHEAD with DO and refuses the rest the same way.
"""

from __future__ import annotations

__all__ = ["TelnetParser", "IAC", "DONT", "DO", "WONT", "WILL", "SB", "SE", "AYT", "NOP", "OPT_ECHO", "OPT_SGA",
           "OPT_TTYPE", "OPT_NAWS", "TELNET_GREETING", "IOS_GREETING", "MAX_SUBNEGOTIATION"]

IAC, DONT, DO, WONT, WILL, SB, SE = 255, 254, 253, 252, 251, 250, 240
AYT, NOP = 246, 241
OPT_ECHO, OPT_SGA, OPT_TTYPE, OPT_NAWS = 1, 3, 24, 31
TELNET_GREETING = bytes([IAC, WILL, OPT_ECHO, IAC, WILL, OPT_SGA])
# What an IOS vty sends as a connection opens: WILL ECHO, WILL SGA, DO TERMINAL-TYPE, DO WINDOW-SIZE.
IOS_GREETING = TELNET_GREETING + bytes([IAC, DO, OPT_TTYPE, IAC, DO, OPT_NAWS])
MAX_SUBNEGOTIATION = 1024


class TelnetParser:
    """One end's option state: ``role`` "server" or "client" (see the module docstring)."""

    def __init__(self, role: str = "server", requested: frozenset[int] = frozenset()):
        if role not in ("server", "client"):
            raise ValueError(f"telnet: role must be server or client, not {role!r}")
        self.role = role
        self.requested = requested      # options we sent DO for
        self._state = "data"
        self._verb = 0
        self._sub = bytearray()
        self._answered: set[tuple[int, int]] = set()
        self.oversized = 0              # subnegotiations cut off for length
        self.agreed: set[int] = set()   # options the other end will use at our request

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
                elif b == AYT and self.role == "server":
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
        if verb not in (DO, WILL) or (verb, option) in self._answered:
            return b""
        self._answered.add((verb, option))
        if self.role == "server":
            if verb == DO and option in (OPT_ECHO, OPT_SGA):
                return b""                      # already offered
            if verb == WILL and option in self.requested:
                self.agreed.add(option)
                return b""                      # the answer to our own DO
            return bytes([IAC, WONT if verb == DO else DONT, option])
        if verb == WILL and option in (OPT_ECHO, OPT_SGA):
            self.agreed.add(option)
            return bytes([IAC, DO, option])
        return bytes([IAC, WONT if verb == DO else DONT, option])
