"""Packets for the device itself: ICMP echo and errors, UDP to the device's listeners.

Echo requests are answered; echo replies and the ICMP errors that quote an
echo go to the ping that sent it (``echo_listeners`` by identifier);
datagrams go to ``udp_listeners`` by port (IKE listens on 500), TCP to the
device's TCP (``tcp_listener``; an unreachable quoting one of its segments to
``tcp_unreachable``), and a port or protocol nobody serves is answered with an
unreachable. IOS sends at most one
unreachable per ``UNREACHABLE_INTERVAL`` (and, apart, one "fragmentation
needed" per interval: ``ip icmp rate-limit unreachable [df]``, both 500 ms by
default); errors are never sent about errors, nor about a fragment other than
the first (RFC 1812 section 4.3.2.7), nor to broadcasts.

Fragments addressed to the router are reassembled here
(``emulator.engines.reassembly``, on the clock through the pipeline's
binding); a datagram given up on answers its source with Time Exceeded,
code 1, when its first fragment had come (RFC 1122 section 3.3.2). An ICMP
"fragmentation needed" quoting ESP the router sent goes to
``esp_fragmentation_needed`` (the crypto engine learns the path MTU).
"""

from __future__ import annotations

import random
from ipaddress import IPv4Address
from typing import Any, Callable, Protocol

from emulator.engines.reassembly import Reassembler, ReassemblyTimedOut
from emulator.labtime import MS
from emulator.wire import icmp as icmpwire
from emulator.wire.errors import DecodeError
from emulator.wire.ipv4 import PROTO_ESP, PROTO_ICMP, PROTO_TCP, PROTO_UDP, IPv4Packet
from emulator.wire.udp import UDPDatagram

__all__ = ["DEFAULT_TTL", "UNREACHABLE_INTERVAL", "LocalHost", "LocalDelivery"]

DEFAULT_TTL = 255
UNREACHABLE_INTERVAL = 500 * MS   # IOS sends at most one ICMP unreachable per 500 ms by default
ERROR_KINDS: dict[int, str] = {icmpwire.DEST_UNREACHABLE: "unreachable", icmpwire.TIME_EXCEEDED: "exceeded",
               icmpwire.SOURCE_QUENCH: "quench"}

# An echo listener hears (kind, packet, echo message): kind "reply", "unreachable", "fragment" (unreachable,
# fragmentation needed), "exceeded" or "quench".
EchoListener = Callable[[str, IPv4Packet, icmpwire.ICMPMessage], Any]
# A UDP listener gets (packet, datagram, interface) and returns False when it did not take the datagram.
UdpListener = Callable[[IPv4Packet, UDPDatagram, str], Any]


class LocalHost(Protocol):
    """What local delivery asks of the pipeline: the clock, addresses and routes, and the way out."""

    @property
    def now(self) -> int: ...

    def is_broadcast(self, address: IPv4Address) -> bool: ...

    def route_for(self, dst: IPv4Address) -> tuple[str, IPv4Address | None] | None: ...

    def source_address_for(self, iface: str) -> IPv4Address | None: ...

    def send_packet(self, packet: IPv4Packet) -> bool: ...

    def next_ip_id(self) -> int: ...

    def drop(self, reason: str) -> None: ...

    def poke_reassembly(self) -> None: ...


class LocalDelivery:
    """Delivery to the device; ``connect`` gives it the way out (the pipeline) before the first packet."""

    def __init__(self, rng: Callable[[str], random.Random]):
        self.host: LocalHost = _Unconnected()
        self._rng = rng
        self.echo_listeners: dict[int, EchoListener] = {}    # ICMP identifier -> listener
        self.udp_listeners: dict[int, UdpListener] = {}      # UDP port -> listener
        # ICMP errors quoting a UDP datagram the device sent (traceroute), by its source port.
        self.udp_error_listeners: dict[int, Callable[[IPv4Packet, icmpwire.ICMPMessage], Any]] = {}
        self._last_unreachable: dict[bool, int] = {}     # frag-needed or not -> when the last one went
        self._echo_id: int | None = None
        self.reassembler = Reassembler()
        # An ICMP "fragmentation needed" quoting ESP from the router: (quoted datagram, next-hop MTU).
        self.esp_fragmentation_needed: Callable[[bytes, int], Any] | None = None
        self.tcp_listener: Callable[[str, IPv4Packet], Any] | None = None   # the device's TCP
        self.tcp_unreachable: Callable[[IPv4Packet], Any] | None = None     # an unreachable quoting its TCP

    def connect(self, host: LocalHost) -> None:
        self.host = host

    def next_echo_identifier(self) -> int:
        """Echo identifiers: one per ping command, starting where the lab seed puts them."""
        if self._echo_id is None:
            self._echo_id = self._rng("echo").randrange(1, 0x8000)
        self._echo_id = (self._echo_id + 1) & 0xFFFF or 1
        return self._echo_id

    def reassemble(self, packet: IPv4Packet) -> IPv4Packet | None:
        """A fragment for the router: the whole datagram when this one completes it, else None."""
        host = self.host
        whole = self.reassembler.add(packet, host.now)
        host.poke_reassembly()
        return whole

    def reassembly_event(self, event: ReassemblyTimedOut) -> None:
        """A datagram timed out in reassembly: Time Exceeded, code 1, if its first fragment came."""
        if event.first is not None:
            self.icmp_error(event.first, icmpwire.TIME_EXCEEDED, icmpwire.ExceededCode.REASSEMBLY)

    def deliver(self, iface: str, packet: IPv4Packet) -> None:
        host = self.host
        if packet.is_fragment:
            whole = self.reassemble(packet)
            if whole is None:
                return
            packet = whole
        if packet.protocol == PROTO_ICMP:
            self._icmp_in(iface, packet)
        elif packet.protocol == PROTO_UDP:
            try:
                datagram = UDPDatagram.decode(packet.payload, packet.src, packet.dst)
            except DecodeError:
                host.drop("bad UDP")
                return
            listener = self.udp_listeners.get(datagram.dst_port)
            handled = listener is not None and listener(packet, datagram, iface) is not False
            if not handled and not host.is_broadcast(packet.dst):
                self.unreachable(packet, icmpwire.UNREACH_PORT)
        elif packet.protocol == PROTO_TCP and self.tcp_listener is not None:
            if not host.is_broadcast(packet.dst):
                self.tcp_listener(iface, packet)
        elif not host.is_broadcast(packet.dst):
            self.unreachable(packet, icmpwire.UNREACH_PROTOCOL)

    def _icmp_in(self, iface: str, packet: IPv4Packet) -> None:
        host = self.host
        try:
            msg = icmpwire.ICMPMessage.decode(packet.payload)
        except DecodeError:
            host.drop("bad ICMP")
            return
        if msg.type == icmpwire.ECHO_REQUEST:
            if host.is_broadcast(packet.dst):
                src = host.source_address_for(iface)
                if src is None:
                    return
            else:
                src = packet.dst
            answer = icmpwire.encode_echo(icmpwire.ECHO_REPLY, msg.rest, msg.payload)   # msg.make_echo_reply()
            reply = IPv4Packet.make(src, packet.src, PROTO_ICMP, answer, ttl=DEFAULT_TTL,
                                    identification=host.next_ip_id(), tos=packet.tos)
            host.send_packet(reply)
        elif msg.type == icmpwire.ECHO_REPLY:
            listener = self.echo_listeners.get(msg.identifier)
            if listener is not None:
                listener("reply", packet, msg)
        elif msg.type in ERROR_KINDS:
            self._icmp_error_in(packet, msg)

    def _icmp_error_in(self, packet: IPv4Packet, msg: icmpwire.ICMPMessage) -> None:
        """An ICMP error: the quoted packet says which echo it was about."""
        try:
            quoted = IPv4Packet.decode(msg.payload, verify=False, allow_truncated=True)
            if quoted.protocol == PROTO_UDP and len(quoted.payload) >= 2:
                on_error = self.udp_error_listeners.get(int.from_bytes(quoted.payload[:2], "big"))
                if on_error is not None:
                    on_error(packet, msg)
                return
            inner = icmpwire.ICMPMessage.decode(quoted.payload[:8] + b"\0" * max(0, 8 - len(quoted.payload)),
                                                verify=False)
        except DecodeError:
            return
        frag_needed = msg.type == icmpwire.DEST_UNREACHABLE and msg.code == icmpwire.UNREACH_FRAG_NEEDED
        if quoted.protocol == PROTO_ESP and frag_needed and self.esp_fragmentation_needed is not None:
            self.esp_fragmentation_needed(msg.payload, msg.next_hop_mtu)
        elif quoted.protocol == PROTO_TCP and msg.type == icmpwire.DEST_UNREACHABLE and self.tcp_unreachable:
            self.tcp_unreachable(quoted)
        elif quoted.protocol == PROTO_ICMP and inner.type == icmpwire.ECHO_REQUEST:
            listener = self.echo_listeners.get(inner.identifier)
            if listener is not None:
                listener("fragment" if frag_needed else ERROR_KINDS[msg.type], packet, inner)

    def unreachable(self, packet: IPv4Packet, code: int, next_hop_mtu: int = 0) -> None:
        """A destination unreachable about ``packet``, unless one of its kind went out less than the interval ago.

        "Fragmentation needed" (code 4, with ``next_hop_mtu``) is limited apart from the other codes.
        """
        now = self.host.now
        df = code == icmpwire.UNREACH_FRAG_NEEDED
        last = self._last_unreachable.get(df)
        if last is not None and now - last < UNREACHABLE_INTERVAL:
            self.host.drop("unreachable rate limited")
            return
        self._last_unreachable[df] = now
        self.icmp_error(packet, icmpwire.DEST_UNREACHABLE, code, next_hop_mtu)

    def icmp_error(self, packet: IPv4Packet, type_: int, code: int, next_hop_mtu: int = 0) -> None:
        host = self.host
        if packet.protocol == PROTO_ICMP and packet.payload[:1] not in (bytes([icmpwire.ECHO_REQUEST]),
                                                                       bytes([icmpwire.ECHO_REPLY])):
            return  # never an error about an error (RFC 1812 §4.3.2.7)
        if packet.fragment_offset != 0 or host.is_broadcast(packet.dst):
            return
        hop = host.route_for(packet.src)
        if hop is None:
            return
        src = host.source_address_for(hop[0])
        if src is None:
            return
        original = packet.encode()
        body = (icmpwire.ICMPMessage.dest_unreachable(code, original, next_hop_mtu)
                if type_ == icmpwire.DEST_UNREACHABLE
                else icmpwire.ICMPMessage.time_exceeded(code, original))
        host.send_packet(IPv4Packet(src, packet.src, PROTO_ICMP, body.encode(), ttl=DEFAULT_TTL,
                                    identification=host.next_ip_id()))


class _Unconnected:
    """The way out of a ``LocalDelivery`` not yet connected: every use is a wiring mistake."""

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"LocalDelivery used before connect(): {name}")
