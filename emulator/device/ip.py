"""The IP layer of a device: the forwarding pipeline, with NAT and IPsec where IOS has them.

Order of operations, as IOS does it (Cisco "NAT Order of Operation"):

- outside to inside: decryption (crypto), NAT outside->inside, then routing;
- inside to outside: routing, NAT inside->outside, then the crypto map check
  of the outgoing interface (and encryption).

MTUs (``mtu``, ``ip mtu``): a packet larger than the IP MTU of its output
interface is fragmented there (RFC 791), before the crypto map, which sees
each fragment; with DF set it is dropped and its source gets ICMP
"fragmentation needed" with the MTU (RFC 1191). ESP the crypto map makes
is fragmented the same way after encryption when it outgrows the MTU, or,
with DF copied from a DF packet, refused before encryption by the crypto
engine (``emulator.engines.ipsec.esp_path``). Fragments for the router are
reassembled by local delivery, ESP fragments before decryption; transit
fragments are forwarded as they are (IOS reassembles only what is addressed
to it). A packet arriving larger than its interface's MTU is a giant: an
input error, dropped.

Each stage is a method of its own (``_decrypt``, ``_nat_outside_to_inside``,
``_nat_inside_to_outside``, ``_crypto_map_out``) so that NAT and IPsec plug
in where IOS has them. Packets the router sends itself start at routing.

``IPStack`` is one part of a device: it gets the parts it works with
(interfaces, routing, local delivery, the link adapters, the console log)
through the small protocols below, and runs the NAT and crypto engines.
"""

from __future__ import annotations

import random
from ipaddress import IPv4Address, IPv4Interface
from typing import Any, Callable, Mapping, Protocol

from emulator.config.commands import DEFAULT_MTU
from emulator.config.model import DeviceConfig, Interface
from emulator.device.console import DeviceLog, Message, NatTranslated
from emulator.device.interfaces import InterfaceState
from emulator.device.local import DEFAULT_TTL
from emulator.engines.acl import AclEngine
from emulator.engines.ike.engine import ISAKMP_PORT
from emulator.engines.ike.events import Category, Trace
from emulator.engines.ipsec import DECRYPTED, DROP, PROTECTED, CryptoSubsystem
from emulator.engines.nat import DROP as NAT_DROP
from emulator.engines.nat import TRANSLATED, UNTOUCHED, NatEngine
from emulator.engines.reassembly import Reassembler, ReassemblyTimedOut
from emulator.sim.binding import EngineBinding
from emulator.sim.clock import Simulator
from emulator.wire import icmp as icmpwire
from emulator.wire.checksum import internet_checksum
from emulator.wire.errors import DecodeError
from emulator.wire.fragment import FragmentError, fragment
from emulator.wire.ipv4 import HEADER_LEN, PROTO_ESP, PROTO_UDP, IPv4Packet, address_of, decrement_ttl
from emulator.wire.udp import UDPDatagram

__all__ = ["IPStack", "PipelineInterfaces", "PipelineRoutes", "PipelineLocal", "SendsIP"]


class PipelineInterfaces(Protocol):
    """The interface table, as the pipeline reads it."""

    def address(self, name: str) -> IPv4Interface | None: ...

    def state(self, name: str) -> InterfaceState: ...

    def protocol_up(self, name: str) -> bool: ...


class PipelineRoutes(Protocol):
    def route_for(self, dst: IPv4Address) -> tuple[str, IPv4Address | None] | None: ...

    def is_local(self, address: IPv4Address) -> bool: ...

    def is_local_packed(self, packed: bytes) -> bool: ...

    def is_broadcast(self, address: IPv4Address) -> bool: ...

    def is_broadcast_packed(self, packed: bytes) -> bool: ...

    def source_address_for(self, iface: str) -> IPv4Address | None: ...


class PipelineLocal(Protocol):
    """Delivery to the device itself, and the ICMP errors it sends."""

    udp_listeners: dict[int, Any]
    reassembler: Reassembler
    esp_fragmentation_needed: Callable[[bytes, int], Any] | None

    def deliver(self, iface: str, packet: IPv4Packet) -> None: ...

    def reassemble(self, packet: IPv4Packet) -> IPv4Packet | None: ...

    def reassembly_event(self, event: ReassemblyTimedOut) -> None: ...

    def unreachable(self, packet: IPv4Packet, code: int, next_hop_mtu: int = 0) -> None: ...

    def icmp_error(self, packet: IPv4Packet, type_: int, code: int, next_hop_mtu: int = 0) -> None: ...


class SendsIP(Protocol):
    """A link adapter, as the pipeline sends through it."""

    def send_ip(self, packet: bytes, next_hop: IPv4Address | None) -> bool: ...


def _ip_mtu(cfg: Interface | None) -> int:
    """The IP MTU of an interface's configuration (``ip mtu``, else the interface MTU; never above it)."""
    if cfg is None:
        return DEFAULT_MTU
    mtu = cfg.mtu or DEFAULT_MTU
    return cfg.ip_mtu if cfg.ip_mtu and cfg.ip_mtu < mtu else mtu


class IPStack:
    """Everything between the link adapters and the applications; the way out for local delivery."""

    def __init__(self, name: str, seed: int, clock: Simulator, config: DeviceConfig, *,
                 interfaces: PipelineInterfaces, routing: PipelineRoutes, local: PipelineLocal,
                 adapters: Mapping[str, SendsIP], console: DeviceLog, debugs: set[str],
                 rng: Callable[[str], random.Random]):
        self.name = name
        self.rng = rng                 # the device's random stream for a purpose (new after each reload)
        self.seed = seed
        self.clock = clock
        self.config = config
        self.interfaces = interfaces
        self.routing = routing
        # What the stages ask of the interfaces and the routing table, bound once.
        self.interface_address = interfaces.address
        self.route_for = routing.route_for
        self.is_local = routing.is_local
        self.is_broadcast = routing.is_broadcast
        # The same questions of the 4 address bytes of a header, for datagrams handled as bytes.
        self.is_local_packed = routing.is_local_packed
        self.is_broadcast_packed = routing.is_broadcast_packed
        self.source_address_for = routing.source_address_for
        self.local = local
        self.adapters = adapters
        self.console = console
        self.debugs = debugs
        self._ip_id = 0
        self.ip_drops: dict[str, int] = {}
        self.fragmented = 0          # datagrams split at output ("show ip traffic": "fragmented")
        self.fragments_made = 0      # the pieces they became
        self.unfragmentable = 0      # "couldn't fragment": DF set, or an MTU too small
        self.acl = AclEngine(lambda: self.config)
        now = self.clock.now
        # NAT and crypto run on the lab clock through their bindings: poke one after feeding its engine.
        self.nat = NatEngine(lambda: self.config, self._nat_global_address, acl=self.acl, now=now)
        self.nat_binding = EngineBinding(self.clock, self.nat, name=f"{self.name} NAT")
        self.crypto = CryptoSubsystem(lambda: self.config, self.interface_address, self.rng("crypto"), self.acl,
                                      log=self.log, debug=self._crypto_debug, now=now, next_ip_id=self.next_ip_id)
        self.crypto_binding = EngineBinding(self.clock, self.crypto, transmit=self._send_ike,
                                            name=f"{self.name} crypto")
        self.crypto.ike.traced = self._crypto_traced
        self.udp_listeners[ISAKMP_PORT] = self._ike_in
        self.crypto.esp.ip_mtu = self.ip_mtu
        local.esp_fragmentation_needed = self._esp_fragmentation_needed
        self.reassembly_binding = EngineBinding(self.clock, local.reassembler, on_event=local.reassembly_event,
                                                name=f"{self.name} IP reassembly")

    # ------------------------------------------------------------ what the stages read, from the parts
    @property
    def now(self) -> int:
        """Lab time, ns."""
        return self.clock.now

    @property
    def udp_listeners(self) -> dict[int, Any]:
        return self.local.udp_listeners

    @property
    def log_buffer(self) -> DeviceLog:
        """The console log, where the lines that continue a debug message go (``extend``)."""
        return self.console

    def log(self, text: str) -> None:
        self.console.log(Message(text))

    def debug_log(self, text: str) -> None:
        self.console.debug(Message(text))

    def mtu(self, iface: str) -> int:
        """The interface MTU (``mtu``): the largest datagram it takes in or sends."""
        cfg = self.config.interfaces.get(iface)
        return (cfg.mtu if cfg is not None and cfg.mtu else DEFAULT_MTU)

    def ip_mtu(self, iface: str) -> int:
        """The IP MTU (``ip mtu``, else the interface MTU; never above it): the largest datagram sent whole."""
        return _ip_mtu(self.config.interfaces.get(iface))

    def poke_reassembly(self) -> None:
        """Local delivery fed the reassembly engine: its timer follows."""
        self.reassembly_binding.poke()

    def next_ip_id(self) -> int:
        self._ip_id = (self._ip_id + 1) & 0xFFFF
        return self._ip_id

    # ------------------------------------------------------------ the pipeline

    def receive_ip(self, iface: str, data: bytes) -> None:
        """A packet from a link adapter."""
        if self._forward_as_is(iface, data) or self._decrypt_as_is(iface, data):
            return
        try:
            packet = IPv4Packet.decode(data)
        except DecodeError as err:
            st = self.interfaces.state(iface)
            st.counters.input_errors += 1
            st.last_input_error = str(err)
            return
        if packet.total_length > self.mtu(iface):
            counters = self.interfaces.state(iface).counters
            counters.giants += 1
            counters.input_errors += 1
            return
        if packet.is_fragment and packet.protocol == PROTO_ESP and self.is_local(packet.dst):
            whole = self.local.reassemble(packet)      # ESP is reassembled before decryption
            if whole is None:
                return
            packet = whole
        clear = self._decrypt(iface, packet)
        if clear is not None:
            self._inward(iface, clear)

    def _inward(self, iface: str, clear: IPv4Packet) -> None:
        """A received packet past decryption: NAT outside to inside, then delivered or forwarded."""
        inside = self._nat_outside_to_inside(iface, clear)
        if inside is None:
            return
        if self.is_local(inside.dst) or self.is_broadcast(inside.dst):
            if self.packet_debug is not None:
                self.packet_debug("rcvd", iface, inside)
            self.local.deliver(iface, inside)
            return
        if not self.config.ip_routing:
            self._drop("not a router")
            return
        self._forward(iface, inside)

    def _decrypt_as_is(self, iface: str, data: bytes) -> bool:
        """ESP for this router, a whole datagram without options that is not a giant: decrypted from
        its bytes, then on through the stages, without a packet object for the outer datagram (the
        stages for it make it only to read its bytes again); False (nothing done) for anything else."""
        n = len(data)
        if n < HEADER_LEN or data[0] != 0x45 or data[9] != PROTO_ESP:
            return False
        total = (data[2] << 8) | data[3]
        if (total < HEADER_LEN or total > n or data[6] & 0x3F or data[7] or total > self.mtu(iface)
                or internet_checksum(data[:HEADER_LEN]) or not self.is_local_packed(data[16:20])):
            return False
        wire = data if total == n else data[:total]
        result = self.crypto.inbound(iface, wire, self.clock.now)     # as _decrypt does
        if not self.crypto.quiet:            # nothing but the packet handled: the poke would do nothing
            self.crypto_binding.poke()
        if result.action == DROP:
            self._drop(f"crypto: {result.reason}")
            return True
        # The inner datagram, or (not decrypted) the outer one, whose header was checked above.
        inner = wire
        if result.action == DECRYPTED:
            assert result.packet is not None, "a decrypted crypto result carries the inner packet"
            inner = result.packet
        try:
            clear = IPv4Packet.decode(inner)
        except DecodeError:
            self._drop("crypto: bad inner packet")
            return True
        self._inward(iface, clear)
        return True

    def _forward_as_is(self, iface: str, data: bytes) -> bool:
        """Forward a transit datagram as bytes when no stage would touch it; False (nothing done) otherwise.

        The stages below, for the case where each of them passes the packet on unchanged: a whole
        datagram without options, checksum good, not a giant, TTL above 1, not for this router, in
        and out of interfaces without a crypto map or NAT between them, small enough for the way out.
        Its bytes go out with the TTL lowered (the same bytes ``IPv4Packet.forwarded`` encodes): no
        packet object is made. Anything else (an error to count or report included) takes the stages.
        """
        n = len(data)
        if n < HEADER_LEN or data[0] != 0x45:
            return False
        total = (data[2] << 8) | data[3]
        if total < HEADER_LEN or total > n or data[6] & 0x3F or data[7] or data[8] <= 1:
            return False                                   # fragment (MF or an offset), or TTL expiring
        cfg = self.config
        ifs = cfg.interfaces
        i = ifs.get(iface)
        if i is None or i.crypto_map or not cfg.ip_routing or total > (i.mtu or DEFAULT_MTU):
            return False
        if internet_checksum(data[:HEADER_LEN]):             # the header checksum does not verify
            return False
        packed = data[16:20]
        if self.is_local_packed(packed) or self.is_broadcast_packed(packed):
            return False
        hop = self.route_for(address_of(packed))
        if hop is None:
            return False
        out_iface, next_hop = hop
        o = ifs.get(out_iface)
        if o is None or o.crypto_map:
            return False
        if cfg.nat_rules and (i.nat == "outside" or (i.nat == "inside" and o.nat == "outside")):
            return False
        mtu = _ip_mtu(o)                                       # ip_mtu(out_iface), from the same entry
        if total > mtu:
            return False
        self._link_send(out_iface, next_hop, decrement_ttl(data if total == n else data[:total]))
        return True

    def _forward(self, in_iface: str, packet: IPv4Packet) -> None:
        if packet.ttl <= 1:
            self.local.icmp_error(packet, icmpwire.TIME_EXCEEDED, 0)
            return
        hop = self.route_for(packet.dst)
        if hop is None:
            self.local.unreachable(packet, icmpwire.UnreachCode.HOST)  # no route
            return
        out_iface, next_hop = hop
        outside = self._nat_inside_to_outside(in_iface, out_iface, packet.forwarded())
        if outside is None:
            return
        self._output(out_iface, next_hop, outside)

    def send_packet(self, packet: IPv4Packet) -> bool:
        """Send a packet the device originates (ping, IKE, ICMP errors): routing, crypto map, out.

        One addressed to the device itself (an ICMP error about its own packet) is delivered to it
        at once, as a packet of its own, without leaving.
        """
        hop = self.route_for(packet.dst)
        if self.packet_debug is not None:
            self.packet_debug("sending" if hop else "unroutable", hop[0] if hop else None, packet)
        if hop is None:
            self._drop("no route")
            return False
        out_iface, next_hop = hop
        if self.is_local(packet.dst):
            self.clock.call_at(self.clock.now, self.local.deliver, out_iface, packet,
                               component=f"{self.name} local delivery")
            return True
        return self._output(out_iface, next_hop, packet)

    def _output(self, iface: str, next_hop: IPv4Address | None, packet: IPv4Packet) -> bool:
        """Out of ``iface``: fragmented to its IP MTU, then each piece through the crypto map."""
        cfg = self.config.interfaces.get(iface)
        mtu = _ip_mtu(cfg)
        if HEADER_LEN + ((len(packet.options) + 3) & ~3) + len(packet.payload) > mtu:     # packet.total_length
            pieces = self._fragment(packet, mtu)
            if not pieces:
                return False
        else:
            pieces = [packet]
        sent = False
        for piece in pieces:
            if cfg is not None and cfg.crypto_map:
                sent = self._crypto_map_out(iface, next_hop, piece, mtu) or sent
            else:
                sent = self._transmit(iface, next_hop, piece.encode(), mtu) or sent
        return sent

    def _fragment(self, packet: IPv4Packet, mtu: int) -> list[IPv4Packet]:
        """The pieces of a datagram too large for ``mtu``; none when DF forbids it (the source is told)."""
        try:
            pieces = fragment(packet, mtu)
        except FragmentError:
            self.unfragmentable += 1
            self._drop("fragmentation needed")
            if packet.df:
                self.local.unreachable(packet, icmpwire.UNREACH_FRAG_NEEDED, mtu)
            return []
        self.fragmented += 1
        self.fragments_made += len(pieces)
        return pieces

    def _fragmentation_needed(self, packet: IPv4Packet, mtu: int) -> None:
        """A DF packet the crypto map cannot send whole: dropped, its source told the MTU that fits."""
        self.unfragmentable += 1
        self._drop("fragmentation needed")
        self.local.unreachable(packet, icmpwire.UNREACH_FRAG_NEEDED, mtu)

    def _esp_fragmentation_needed(self, quoted: bytes, mtu: int) -> None:
        self.crypto.esp.fragmentation_needed(quoted, mtu)

    def _transmit(self, iface: str, next_hop: IPv4Address | None, data: bytes, mtu: int | None = None) -> bool:
        """Hand a datagram to the link; ESP the crypto map made larger than the IP MTU goes in fragments.
        ``mtu``: the interface's IP MTU when the caller has just read it."""
        if mtu is None:
            mtu = self.ip_mtu(iface)
        if len(data) > mtu:
            try:
                packet = IPv4Packet.decode(data)
            except DecodeError:
                self._drop("bad packet to send")
                return False
            sent = False
            for piece in self._fragment(packet, mtu):
                sent = self._link_send(iface, next_hop, piece.encode()) or sent
            return sent
        return self._link_send(iface, next_hop, data)

    def _link_send(self, iface: str, next_hop: IPv4Address | None, data: bytes) -> bool:
        adapter = self.adapters.get(iface)
        if adapter is None or not self.interfaces.protocol_up(iface):
            self._drop("interface down")
            return False
        return adapter.send_ip(data, next_hop)

    # Stages where NAT and IPsec take part, in IOS's order of operations.
    def _decrypt(self, iface: str, packet: IPv4Packet) -> IPv4Packet | None:
        """Inbound IPsec: ESP to us is decapsulated; cleartext the map says must be protected is dropped."""
        cfg = self.config.interfaces.get(iface)
        if (cfg is None or not cfg.crypto_map) and not (packet.protocol == PROTO_ESP and self.is_local(packet.dst)):
            return packet   # no crypto map here, and no ESP for this device (ESP in transit is just routed)
        result = self.crypto.inbound(iface, packet.encode(), self.clock.now)
        if not self.crypto.quiet:            # nothing but the packet handled: the poke would do nothing
            self.crypto_binding.poke()
        if result.action == DROP:
            self._drop(f"crypto: {result.reason}")
            return None
        if result.action == DECRYPTED:
            assert result.packet is not None, "a decrypted crypto result carries the inner packet"
            try:
                return IPv4Packet.decode(result.packet)
            except DecodeError:
                self._drop("crypto: bad inner packet")
                return None
        return packet

    def _crypto_map_out(self, iface: str, next_hop: IPv4Address | None, packet: IPv4Packet,
                        mtu: int | None = None) -> bool:
        """The crypto map of the outgoing interface: clear, protected (routed to the peer) or dropped.
        ``mtu``: the interface's IP MTU when the caller has just read it."""
        result = self.crypto.outbound(iface, packet.encode(), self.clock.now)
        if not self.crypto.quiet:            # nothing but the packet handled: the poke would do nothing
            self.crypto_binding.poke()
        if result.action == DROP:
            if result.mtu:
                self._fragmentation_needed(packet, result.mtu)
                return False
            self._drop(f"crypto: {result.reason}")
            return False
        if result.action == PROTECTED:
            outer = result.packet
            assert outer is not None, "a protected crypto result carries the ESP packet"
            hop = self.route_for(address_of(outer[16:20]))
            if hop is None:
                self._drop("no route to the IPsec peer")
                return False
            return self._transmit(hop[0], hop[1], outer, mtu if hop[0] == iface else None)
        return self._transmit(iface, next_hop, packet.encode(), mtu)

    def _ike_in(self, packet: IPv4Packet, datagram, iface: str) -> bool:
        if not self.crypto.isakmp_enabled():
            return False
        self.crypto.receive_ike(iface, packet.src, packet.dst, datagram.src_port, datagram.dst_port,
                                datagram.payload, self.clock.now)
        self.crypto_binding.poke()
        return True

    def _send_ike(self, datagram) -> None:
        """A datagram IKE queued: (src, dst, source port, destination port, payload), sent as UDP."""
        src, dst, sport, dport, payload = datagram
        udp = UDPDatagram(sport, dport, payload).encode(src, dst)
        self.send_packet(IPv4Packet(src, dst, PROTO_UDP, udp, ttl=DEFAULT_TTL, identification=self.next_ip_id()))

    # ``debug ip packet``: told (what, interface, packet) of each packet the device sends or takes
    # for itself; the CLI that turns the debug on sets it.
    packet_debug: Callable[[str, str | None, IPv4Packet], None] | None = None

    # Words a crypto trace as console messages; the CLI that turns ``debug crypto`` on sets it.
    crypto_trace_renderer: Callable[[Trace], list[str]] | None = None

    def _crypto_traced(self, category: Category) -> bool:
        """Whether a crypto trace of ``category`` would be printed (``debug crypto ...`` on)."""
        return category.value in self.debugs and self.crypto_trace_renderer is not None

    def _crypto_debug(self, trace: Trace) -> None:
        if trace.category.value in self.debugs and self.crypto_trace_renderer is not None:
            for message in self.crypto_trace_renderer(trace):
                first, *rest = message.split("\n")
                self.debug_log(first)
                self.log_buffer.extend(rest)


    def _nat_outside_to_inside(self, iface: str, packet: IPv4Packet) -> IPv4Packet | None:
        cfg = self.config.interfaces.get(iface)
        if cfg is None or cfg.nat != "outside" or not self.config.nat_rules:
            return packet
        return self._nat_apply(self.nat.outside_to_inside(packet.encode(), iface, self.clock.now), packet)

    def _nat_inside_to_outside(self, in_iface: str, out_iface: str, packet: IPv4Packet) -> IPv4Packet | None:
        ifs = self.config.interfaces
        i, o = ifs.get(in_iface), ifs.get(out_iface)
        if i is None or o is None or i.nat != "inside" or o.nat != "outside" or not self.config.nat_rules:
            return packet
        fast = None if o.route_cache is not False else False
        return self._nat_apply(self.nat.inside_to_outside(packet.encode(), in_iface, out_iface, self.clock.now,
                                                          fast=fast), packet)

    def _nat_apply(self, result, packet: IPv4Packet) -> IPv4Packet | None:
        debugs = self.debugs
        # The trace is made from the result's fields only when a debug shows it.
        if ("ip nat" in debugs or "ip nat detailed" in debugs) and (trace := result.trace) is not None:
            if "ip nat detailed" in debugs:
                self.console.debug(NatTranslated(trace, detail=True))
            self.console.debug(NatTranslated(trace))
        action = result.action
        if action == UNTOUCHED:
            # A packet NAT left alone changed no entry, so no deadline: the timer stands.
            return packet
        self.nat_binding.poke()
        if action == NAT_DROP:
            self._drop(f"NAT: {result.reason}")
            return None
        if action != TRANSLATED:
            return packet
        return IPv4Packet.decode(result.packet)

    def _nat_global_address(self, iface: str) -> IPv4Address | None:
        addr = self.interface_address(iface)
        return addr.ip if addr is not None else None

    def drop(self, reason: str) -> None:
        """Count a packet the device did not deliver or send, by reason."""
        self.ip_drops[reason] = self.ip_drops.get(reason, 0) + 1

    _drop = drop   # the name the stages use
