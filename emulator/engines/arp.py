"""ARP (RFC 826) on one Ethernet interface, sans-I/O.

The cache maps IPv4 addresses on the interface's subnet to MAC addresses,
each with the time it was learnt; an entry older than ``ARP_TIMEOUT`` no
longer resolves (IOS's default "ARP Timeout 04:00:00") until it is learnt
again. A sender is learnt when the packet is aimed at us, and refreshed when
it is already cached (RFC 826's merge rule). Requests for our address are
answered. ``resolve`` answers from the cache or, on a miss, queues a
broadcast request and answers None: the packet that needed it is dropped, as
IOS does.

The owner passes the interface's address with each input (it changes with
the configuration and with IPCP) and collects ``frames_to_send(now)``: ARP
packets with the MAC they go to. Packets that do not decode are counted and
reported as ``InputError`` events.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface

from emulator.labtime import SECOND
from emulator.wire.arp import OP_REQUEST, ARPPacket
from emulator.wire.errors import DecodeError
from emulator.wire.ethernet import BROADCAST

__all__ = ["ARP_TIMEOUT", "ArpFrame", "InputError", "ArpEngine"]

ARP_TIMEOUT = 4 * 3600 * SECOND


@dataclass(frozen=True, slots=True)
class ArpFrame:
    """An ARP packet to send, and the MAC address it goes to."""

    dst: bytes
    payload: bytes


@dataclass(frozen=True, slots=True)
class InputError:
    reason: str


class ArpEngine:
    def __init__(self, mac: bytes, timeout: int = ARP_TIMEOUT):
        self.mac = mac
        self.timeout = timeout
        self.cache: dict[IPv4Address, tuple[bytes, int]] = {}   # address -> (MAC, learnt at)
        self.input_errors = 0
        self._out: list[ArpFrame] = []
        self._events: deque[InputError] = deque()

    # -- owner inputs --------------------------------------------------------
    def receive(self, payload: bytes, mine: IPv4Interface | None, now: int) -> None:
        """An ARP packet (the payload of an Ethernet frame) that reached the interface."""
        try:
            pkt = ARPPacket.decode(payload)
        except DecodeError as err:
            self.input_errors += 1
            self._events.append(InputError(str(err)))
            return
        if mine is None:
            return
        ip = mine.ip            # made anew at each reading: once per packet (every broadcast reaches here)
        if pkt.sender_ip in mine.network and (pkt.sender_ip in self.cache or pkt.target_ip == ip):
            self.cache[pkt.sender_ip] = (pkt.sender_mac, now)
        if pkt.op == OP_REQUEST and pkt.target_ip == ip:
            reply = ARPPacket.reply(self.mac, ip, pkt.sender_mac, pkt.sender_ip)
            self._out.append(ArpFrame(pkt.sender_mac, reply.encode()))

    def resolve(self, address: IPv4Address, mine: IPv4Interface | None, now: int) -> bytes | None:
        """The MAC address of ``address``, or None with a request queued (when we have an address)."""
        entry = self.cache.get(address)
        if entry is not None and now - entry[1] < self.timeout:
            return entry[0]
        if mine is not None:
            request = ARPPacket.request(self.mac, mine.ip, address)
            self._out.append(ArpFrame(BROADCAST, request.encode()))
        return None

    def clear(self) -> None:
        """The interface went down: the cache is emptied."""
        self.cache.clear()

    def entries(self, now: int) -> list[tuple[IPv4Address, bytes, int]]:
        """(address, MAC, learnt at) of every entry that still resolves."""
        return [(ip, mac, t) for ip, (mac, t) in self.cache.items() if now - t < self.timeout]

    # -- engine contract -----------------------------------------------------
    def get_timer(self) -> int | None:
        """Entries age by their stamps, read at each lookup: ARP needs no timer of its own."""
        return None

    def handle_timer(self, now: int) -> None:
        """Never due (``get_timer`` sets no deadline)."""

    def frames_to_send(self, now: int) -> list[ArpFrame]:
        out, self._out = self._out, []
        return out

    def next_event(self) -> InputError | None:
        return self._events.popleft() if self._events else None
