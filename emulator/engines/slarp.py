"""Cisco HDLC with SLARP keepalives on one serial end, sans-I/O.

Frames are Cisco HDLC with an FCS-16 trailer. While the link is active
(carrier and no shutdown) and a keepalive period is set, a SLARP keepalive
goes out every period, broadcast, carrying our sequence number and the last
one heard from the far end. The line protocol comes up when the far end's
keepalive arrives and goes down at a tick that finds none heard for more than
``MISSED_KEEPALIVES`` periods (IOS's default of three). Without a keepalive
period the line protocol follows the link alone.

Inputs take ``now`` (lab ns); the owner collects ``frames_to_send(now)``,
``next_event()`` and keeps the clock at ``get_timer()``. ``receive_frame``
returns the IPv4 packet a frame carries while the line protocol is up (as
``send_ip`` returns the frame for one); it changes nothing else. Events:
``LineProtocol(up)`` when the line protocol changes, ``FrameError(reason,
crc)`` for each frame that cannot be used (it is counted and dropped, never
raised).
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass

from emulator.labtime import SECOND
from emulator.wire import chdlc
from emulator.wire.errors import DecodeError
from emulator.wire.ppp import fcs16

__all__ = ["MISSED_KEEPALIVES", "DEFAULT_PERIOD", "LineProtocol", "FrameError", "SlarpSession", "frame"]

MISSED_KEEPALIVES = 3           # IOS takes the line protocol down after three
DEFAULT_PERIOD = 10 * SECOND    # IOS "keepalive 10"
FCS_LEN = 2
# The header of a frame carrying IPv4, unicast (what this end sends) and broadcast: a frame that starts
# with one is read without a frame object (the checks ``CHDLCFrame.decode`` makes hold for it).
_IPV4_HEADER = struct.pack("!BBH", chdlc.ADDRESS_UNICAST, chdlc.CONTROL, chdlc.PROTO_IPV4)
_IPV4_HEADERS = frozenset((_IPV4_HEADER, struct.pack("!BBH", chdlc.ADDRESS_BROADCAST, chdlc.CONTROL,
                                                     chdlc.PROTO_IPV4)))
SEQUENCE_MASK = 0xFFFFFFFF


@dataclass(frozen=True, slots=True)
class LineProtocol:
    up: bool


@dataclass(frozen=True, slots=True)
class FrameError:
    reason: str
    crc: bool = False


Event = LineProtocol | FrameError


def frame(protocol: int, payload: bytes, broadcast: bool = False) -> bytes:
    """A Cisco HDLC frame with its FCS-16 (little-endian, as on the wire)."""
    address = chdlc.ADDRESS_BROADCAST if broadcast else chdlc.ADDRESS_UNICAST
    body = chdlc.CHDLCFrame(protocol, payload, address).encode()
    return body + fcs16(body).to_bytes(FCS_LEN, "little")


class SlarpSession:
    """Cisco HDLC framing and SLARP keepalives of one serial end."""

    def __init__(self, keepalive: int | None = DEFAULT_PERIOD):
        self.keepalive = keepalive      # period in ns; None: no keepalives
        self.my_seq = 0
        self.peer_seq = 0
        self.last_heard: int | None = None
        self.running = False            # keepalives being sent
        self.protocol_up = False
        self.input_errors = 0
        self._deadline: int | None = None
        self._out: list[bytes] = []
        self._events: deque[Event] = deque()

    # -- owner inputs --------------------------------------------------------
    def link_changed(self, active: bool, now: int) -> None:
        """The link is active (carrier up, not shut down) or not."""
        if not active:
            self._stop()
            self._set_protocol(False)
            return
        if self.keepalive is None:
            self._stop()
            self._set_protocol(True)
            return
        if not self.running:
            self.running = True
            self.my_seq = self.peer_seq = 0
            self.last_heard = None
            self._send_keepalive(now)

    def reconfigure(self, keepalive: int | None, active: bool, now: int) -> None:
        """A new keepalive period: keepalives start again from sequence 1."""
        self._stop()
        self.keepalive = keepalive
        self.link_changed(active, now)

    def close(self) -> None:
        """The session is replaced: no more keepalives."""
        self._stop()

    def receive_frame(self, data: bytes, now: int) -> bytes | None:
        """Take a frame from the line; the IPv4 packet it carries, if any, is returned."""
        body, fcs = data[:-FCS_LEN], data[-FCS_LEN:]
        if len(data) < 4 or fcs16(body).to_bytes(FCS_LEN, "little") != fcs:
            self._error("chdlc: bad FCS", crc=True)
            return None
        if body[:4] in _IPV4_HEADERS:
            return body[4:] if self.protocol_up else None
        try:
            f = chdlc.CHDLCFrame.decode(body)
            if f.protocol == chdlc.PROTO_IPV4:
                return f.payload if self.protocol_up else None
            if f.protocol != chdlc.PROTO_SLARP:
                return None  # CDP and others: not spoken here, ignored as IOS ignores unknown protocols
            msg = chdlc.decode_slarp(f.payload)
        except DecodeError as err:
            self._error(str(err))
            return None
        if isinstance(msg, chdlc.SlarpKeepalive):
            self.peer_seq = msg.my_sequence
            self.last_heard = now
            if self.running:
                self._set_protocol(True)
        return None

    def send_ip(self, packet: bytes) -> bytes | None:
        """The frame carrying an IPv4 packet, or None while the line protocol is down."""
        if not self.protocol_up:
            return None
        body = _IPV4_HEADER + packet        # frame(PROTO_IPV4, packet), its header made once
        return body + fcs16(body).to_bytes(FCS_LEN, "little")

    # -- engine contract -----------------------------------------------------
    def get_timer(self) -> int | None:
        return self._deadline

    def handle_timer(self, now: int) -> None:
        if self._deadline is not None and now >= self._deadline:
            self._send_keepalive(now)

    def frames_to_send(self, now: int) -> list[bytes]:
        out, self._out = self._out, []
        return out

    def next_event(self) -> Event | None:
        return self._events.popleft() if self._events else None

    # -- inside --------------------------------------------------------------
    def _stop(self) -> None:
        self.running = False
        self._deadline = None

    def _set_protocol(self, up: bool) -> None:
        if up != self.protocol_up:
            self.protocol_up = up
            self._events.append(LineProtocol(up))

    def _send_keepalive(self, now: int) -> None:
        period = self.keepalive or DEFAULT_PERIOD
        if self.last_heard is not None and now - self.last_heard > MISSED_KEEPALIVES * period:
            self._set_protocol(False)
        self.my_seq = (self.my_seq + 1) & SEQUENCE_MASK
        keepalive = chdlc.SlarpKeepalive(self.my_seq, self.peer_seq)
        self._out.append(frame(chdlc.PROTO_SLARP, keepalive.encode(), broadcast=True))
        self._deadline = now + period

    def _error(self, reason: str, crc: bool = False) -> None:
        self.input_errors += 1
        self._events.append(FrameError(reason, crc))
