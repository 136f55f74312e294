"""Reassembly of IPv4 datagrams addressed to the router (RFC 791 section 3.2; holes as in RFC 815).

Sans-I/O, with the engine verbs of ``emulator.sim.binding``: ``add(packet,
now)`` takes a fragment and returns the whole datagram once its last hole is
filled; ``get_timer()`` is the earliest deadline of a datagram in
reassembly; ``handle_timer(now)`` gives up on the datagrams due and reports
each as a ``ReassemblyTimedOut`` event (``next_event()``), carrying the first
fragment when it had arrived so that the owner can send ICMP Time Exceeded,
code 1 (RFC 1122 section 3.3.2).

The router reassembles only what is addressed to it (IOS routes transit
fragments as they are; 12.2 mainline has no virtual reassembly).

Limits (every refusal a counted drop in ``drops``, never an exception):

* ``TIMEOUT``: 15 s from the first fragment, RFC 791's recommended initial
  timer (IOS 12.2 documents no value of its own; *choice*);
* ``MAX_DATAGRAMS`` = 16 in reassembly at once, the default of IOS's ``ip
  virtual-reassembly max-reassemblies``, and ``MAX_FRAGMENTS`` = 64 per
  datagram, the largest its ``max-fragments`` takes (Cisco IOS Security
  Command Reference; the closest IOS figures, *choice*: 64 lets the largest
  ping, 18024 bytes, through a 576-byte MTU); a fragment beyond them is
  dropped, as is its datagram for the second limit;
* a datagram that would end past 65535 bytes is dropped (the "ping of death");
* a TCP fragment at offset 8 bytes (RFC 1858 section 4, "tiny fragment"
  overlap of the TCP header) is dropped.

Overlapping data: the later fragment's bytes win (RFC 791's reassembly
copies each fragment's data into the buffer at its offset).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

from emulator.labtime import SECOND
from emulator.wire.ipv4 import FLAG_MF, PROTO_TCP, IPv4Packet

__all__ = ["Reassembler", "ReassemblyTimedOut", "TIMEOUT", "MAX_DATAGRAMS", "MAX_FRAGMENTS", "MAX_DATAGRAM"]

TIMEOUT = 15 * SECOND
MAX_DATAGRAMS = 16
MAX_FRAGMENTS = 64
MAX_DATAGRAM = 0xFFFF
_INFINITY = 1 << 30


class DatagramKey(NamedTuple):
    """RFC 791: fragments of one datagram share source, destination, protocol and identification."""

    src: bytes
    dst: bytes
    protocol: int
    ident: int


@dataclass(frozen=True, slots=True)
class ReassemblyTimedOut:
    """A datagram whose fragments did not all arrive in time; ``first`` is its offset-0 fragment if seen."""

    key: DatagramKey
    first: IPv4Packet | None


class _Datagram:
    """One datagram in reassembly: its buffer, the holes left (RFC 815), the first fragment."""

    __slots__ = ("deadline", "data", "holes", "first", "fragments", "length")

    def __init__(self, deadline: int):
        self.deadline = deadline
        self.data = bytearray()
        self.holes: list[tuple[int, int]] = [(0, _INFINITY)]    # [first, last] byte numbers, inclusive
        self.first: IPv4Packet | None = None
        self.fragments = 0
        self.length: int | None = None                          # known once the last fragment came

    def fill(self, start: int, data: bytes, last: bool) -> None:
        """RFC 815 section 3: each hole the fragment touches is removed, the parts it leaves put back."""
        end = start + len(data) - 1
        holes: list[tuple[int, int]] = []
        for first, hole_last in self.holes:
            if start > hole_last or end < first:
                holes.append((first, hole_last))
                continue
            if start > first:
                holes.append((first, start - 1))
            if end < hole_last and not last:
                holes.append((end + 1, hole_last))
        self.holes = holes
        if last:
            self.length = end + 1
            self.holes = [(a, min(b, end)) for a, b in holes if a <= end]
        if len(self.data) < end + 1:
            self.data.extend(bytes(end + 1 - len(self.data)))
        self.data[start:end + 1] = data


class Reassembler:
    """The datagrams in reassembly on one router, oldest first."""

    def __init__(self) -> None:
        self._datagrams: dict[DatagramKey, _Datagram] = {}      # insertion order is deadline order
        self._events: list[ReassemblyTimedOut] = []
        self.reassembled = 0
        self.timeouts = 0
        self.failed = 0            # "couldn't reassemble": refused by a limit
        self.drops: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._datagrams)

    def _drop(self, reason: str) -> None:
        self.drops[reason] = self.drops.get(reason, 0) + 1
        self.failed += 1

    def add(self, packet: IPv4Packet, now: int) -> IPv4Packet | None:
        """Take one fragment; the whole datagram when this one completes it, else None."""
        key = DatagramKey(packet.src.packed, packet.dst.packed, packet.protocol, packet.identification)
        start = packet.fragment_offset * 8
        last = not packet.flags & FLAG_MF
        if start + len(packet.payload) > MAX_DATAGRAM - packet.header_length:
            self._forget(key)
            self._drop("datagram too large")
            return None
        if packet.protocol == PROTO_TCP and packet.fragment_offset == 1:
            self._drop("tiny TCP fragment overlap")
            return None
        if not packet.payload and not last:
            self._drop("empty fragment")
            return None
        dgram = self._datagrams.get(key)
        if dgram is None:
            if len(self._datagrams) >= MAX_DATAGRAMS:
                self._drop("too many datagrams in reassembly")
                return None
            dgram = self._datagrams[key] = _Datagram(now + TIMEOUT)
        dgram.fragments += 1
        if dgram.fragments > MAX_FRAGMENTS:
            self._forget(key)
            self._drop("too many fragments")
            return None
        if start == 0:
            dgram.first = packet
        if dgram.length is not None and start + len(packet.payload) > dgram.length:
            self._forget(key)
            self._drop("fragment beyond the datagram's end")
            return None
        dgram.fill(start, packet.payload, last)
        if dgram.holes:
            return None
        del self._datagrams[key]
        self.reassembled += 1
        first = dgram.first
        assert first is not None, "a datagram without holes has its offset-0 fragment"
        return replace(first, payload=bytes(dgram.data[:dgram.length]), flags=first.flags & ~FLAG_MF,
                       fragment_offset=0, checksum=None)

    def _forget(self, key: DatagramKey) -> None:
        self._datagrams.pop(key, None)

    # ------------------------------------------------------------ engine verbs
    def get_timer(self) -> int | None:
        for dgram in self._datagrams.values():
            return dgram.deadline
        return None

    def handle_timer(self, now: int) -> None:
        datagrams = self._datagrams
        while datagrams:
            key = next(iter(datagrams))
            dgram = datagrams[key]
            if now < dgram.deadline:
                break
            del datagrams[key]
            self.timeouts += 1
            self._events.append(ReassemblyTimedOut(key, dgram.first))

    def next_event(self) -> ReassemblyTimedOut | None:
        return self._events.pop(0) if self._events else None
