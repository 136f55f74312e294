"""The IP layer of a device: link events, addresses, routing and the forwarding pipeline.

Order of operations, as IOS does it (Cisco "NAT Order of Operation"):

- outside to inside: decryption (crypto), NAT outside->inside, then routing;
- inside to outside: routing, NAT inside->outside, then the crypto map check
  of the outgoing interface (and encryption).

Each stage is a method of its own (``_decrypt``, ``_nat_outside_to_inside``,
``_nat_inside_to_outside``, ``_crypto_map_out``) so that NAT and IPsec plug
in where IOS has them. Packets the router sends itself start at routing.
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address
from typing import Callable

import random

from emulator.engines.acl import AclEngine
from emulator.engines.ike.engine import ISAKMP_PORT
from emulator.engines.ike.events import Trace
from emulator.engines.ipsec import DECRYPTED, DROP, PROTECTED, CryptoSubsystem
from emulator.device.adapters import short_name
from emulator.engines.nat import NatEngine
from emulator.device.routing import RoutingTable, build_table
from emulator.labtime import MS
from emulator.sim.binding import EngineBinding
from emulator.wire import icmp as icmpwire
from emulator.wire.errors import DecodeError
from emulator.wire.ipv4 import PROTO_ESP, PROTO_ICMP, PROTO_UDP, IPv4Packet
from emulator.wire.udp import UDPDatagram

BROADCAST = IPv4Address("255.255.255.255")
DEFAULT_TTL = 255
UNREACHABLE_INTERVAL = 500 * MS   # IOS sends at most one ICMP unreachable per 500 ms by default


class IPStack:
    """Mixed into Router: everything between the link adapters and the applications."""

    def __init__(self):
        self.adapters: dict[str, object] = {}
        self._serial_ends: dict[str, object] = {}
        self._routes: RoutingTable | None = None
        self._addr_cache: dict = {}
        self._local: dict[IPv4Address, str] | None = None
        self._broadcasts: frozenset[IPv4Address] | None = None
        self._ip_id = 0
        self._last_unreachable: int | None = None
        self.echo_listeners: dict[int, Callable] = {}     # ICMP identifier -> callback(kind, packet, icmp)
        self.udp_listeners: dict[int, Callable] = {}      # UDP port -> callback(packet, datagram, iface)
        self.admin_listeners: list[Callable] = []          # told (router, iface, up) on shutdown/no shutdown
        self.pools_in_use: dict[str, set[IPv4Address]] = {}
        self.ip_drops: dict[str, int] = {}
        self.acl = AclEngine(lambda: self.config)
        now = self.clock.now if self.clock else 0
        # NAT and crypto run on the lab clock through their bindings: poke one after feeding its engine.
        self.nat = NatEngine(lambda: self.config, self._nat_global_address, acl=self.acl, now=now)
        self.nat_binding = EngineBinding(self.clock, self.nat, name=f"{self.name} NAT")
        self.crypto = CryptoSubsystem(lambda: self.config, self.interface_address, self._rng("crypto"), self.acl,
                                      log=self.log, debug=self._crypto_debug, now=now, next_ip_id=self.next_ip_id)
        self.crypto_binding = EngineBinding(self.clock, self.crypto, transmit=self._send_ike,
                                            name=f"{self.name} crypto")
        self.udp_listeners[ISAKMP_PORT] = self._ike_in

    # ------------------------------------------------------------ wiring and link events
    def attach_serial(self, iface: str, end) -> None:
        """Cable a serial port; its encapsulation picks PPP or Cisco HDLC."""
        self._serial_ends[iface] = end
        self._make_serial_adapter(iface)

    def attach_ethernet(self, iface: str, segment) -> None:
        from emulator.device.adapters import EthernetAdapter
        self.adapters[iface] = EthernetAdapter(self, iface, segment)

    def _make_serial_adapter(self, iface: str) -> None:
        from emulator.device.adapters import HDLCAdapter, PPPAdapter
        old = self.adapters.get(iface)
        if old is not None:
            old.close()
        encapsulation = self.config.interfaces[iface].encapsulation
        cls = PPPAdapter if encapsulation == "ppp" else HDLCAdapter
        self.adapters[iface] = cls(self, iface, self._serial_ends[iface])

    def interface_enabled(self, iface: str) -> bool:
        cfg = self.config.interfaces.get(iface)
        return cfg is not None and not cfg.shutdown

    def boot_links(self) -> None:
        """Bring up every attached interface that is not shut down (the end of booting)."""
        if any(i.crypto_map for i in self.config.interfaces.values()):
            self.log(self.crypto.isakmp_on_message())
        for iface, adapter in self.adapters.items():
            if self.interface_enabled(iface):
                carrier = self.interface_state(iface).carrier
                if carrier:
                    self.log(f"%LINK-3-UPDOWN: Interface {iface}, changed state to up")
                adapter.admin(True)
                if carrier:
                    adapter.carrier(True)

    def carrier_changed(self, iface: str, up: bool) -> None:
        st = self.interface_state(iface)
        if st.carrier == up:
            return
        st.carrier = up
        st.counters.carrier_transitions += 1
        if self.interface_enabled(iface):
            self.log(f"%LINK-3-UPDOWN: Interface {iface}, changed state to {'up' if up else 'down'}")
        adapter = self.adapters.get(iface)
        if adapter is not None:
            adapter.carrier(up)
        self.invalidate_routes()

    def admin_changed(self, iface: str, up: bool) -> None:
        adapter = self.adapters.get(iface)
        if adapter is not None:
            if up and self.interface_state(iface).carrier:
                self.log(f"%LINK-3-UPDOWN: Interface {iface}, changed state to up")
            adapter.admin(up)
        for listener in self.admin_listeners:
            listener(self, iface, up)

    def link_reconfigured(self, iface: str) -> None:
        adapter = self.adapters.get(iface)
        if adapter is None:
            return
        if iface in self._serial_ends and adapter.kind != self.config.interfaces[iface].encapsulation:
            # A new encapsulation: the old link protocol stops, the new one starts.
            self.line_protocol_changed(iface, False)
            self.ipcp_closed(iface)
            self._make_serial_adapter(iface)
            adapter = self.adapters[iface]
            if self.interface_enabled(iface):
                adapter.admin(True)
                if self.interface_state(iface).carrier:
                    adapter.carrier(True)
            return
        adapter.reconfigure()

    def line_protocol_changed(self, iface: str, up: bool) -> None:
        st = self.interface_state(iface)
        if st.line_protocol != up:
            st.line_protocol = up
            self.log(f"%LINEPROTO-5-UPDOWN: Line protocol on Interface {iface}, changed state to {'up' if up else 'down'}")
        self.invalidate_routes()

    def ipcp_opened(self, iface: str, local: IPv4Address | None, peer: IPv4Address | None) -> None:
        st = self.interface_state(iface)
        cfg = self.config.interfaces[iface]
        short = short_name(iface)
        if cfg.negotiated and local is not None:
            st.negotiated = local
            if "ppp negotiation" in self.debugs:
                self.debug_log(f"{short} IPCP: Install negotiated IP interface address {local}")
        st.peer_address = peer
        if peer is not None and cfg.peer_neighbor_route and "ppp negotiation" in self.debugs:
            self.debug_log(f"{short} IPCP: Install route to {peer}")
        self.invalidate_routes()
        if cfg.negotiated and local is not None:
            # SAs bound to an address the interface had before are dead now.
            self.crypto.interface_address_changed(iface, self.now)
            self.crypto_binding.poke()

    def ipcp_closed(self, iface: str) -> None:
        st = self.interface_state(iface)
        st.negotiated = None
        st.peer_address = None
        self.invalidate_routes()

    def assign_peer_address(self, iface: str) -> IPv4Address | None:
        """The address to hand the peer: ``peer default ip address`` (a pool or one address)."""
        cfg = self.config.interfaces[iface]
        if cfg.peer_address is not None:
            return cfg.peer_address
        if cfg.peer_pool is None:
            return None
        pool = self.config.local_pools.get(cfg.peer_pool)
        if pool is None:
            self.log(f"%IPCP-3-NOPOOL: {iface}: ip local pool {cfg.peer_pool} is not defined")
            return None
        used = self.pools_in_use.setdefault(pool.name, set())
        last = int(pool.end) if pool.end is not None else int(pool.start)
        for value in range(int(pool.start), last + 1):
            address = IPv4Address(value)
            if address not in used:
                used.add(address)
                return address
        self.log(f"%IPCP-4-POOLEXHAUST: {iface}: ip local pool {pool.name} has no free address")
        return None

    def release_peer_address(self, iface: str, address: IPv4Address) -> None:
        cfg = self.config.interfaces[iface]
        if cfg.peer_pool is not None:
            self.pools_in_use.get(cfg.peer_pool, set()).discard(address)

    # ------------------------------------------------------------ addresses and routes
    def invalidate_routes(self) -> None:
        """Addresses or link states changed: derived tables are rebuilt when next needed."""
        self._routes = None
        self._addr_cache.clear()
        self._local = None
        self._broadcasts = None

    def routing_table(self) -> RoutingTable:
        if self._routes is None:
            self._routes = build_table(self)
        return self._routes

    def local_addresses(self) -> dict[IPv4Address, str]:
        if self._local is None:
            self._local = self._collect_local_addresses()
        return self._local

    def _collect_local_addresses(self) -> dict[IPv4Address, str]:
        out = {}
        for name in self.config.interfaces:
            addr = self.interface_address(name)
            if addr is not None:
                out[addr.ip] = name
            cfg = self.config.interfaces[name]
            if not cfg.negotiated and cfg.address is not None:
                for a, _ in cfg.secondary:
                    out[a] = name
        return out

    def is_local(self, address: IPv4Address) -> bool:
        return address in self.local_addresses()

    def _is_broadcast(self, address: IPv4Address) -> bool:
        if self._broadcasts is None:
            found = {BROADCAST}
            for name in self.config.interfaces:
                addr = self.interface_address(name)
                if addr is not None and addr.network.prefixlen < 31:
                    found.add(addr.network.broadcast_address)
            self._broadcasts = frozenset(found)
        return address in self._broadcasts

    def next_echo_identifier(self) -> int:
        """Echo identifiers: one per ping command, starting where the lab seed puts them."""
        if not hasattr(self, "_echo_id"):
            self._echo_id = self.clock.rng(f"{self.name}/echo").randrange(1, 0x8000)
        self._echo_id = (self._echo_id + 1) & 0xFFFF or 1
        return self._echo_id

    def next_ip_id(self) -> int:
        self._ip_id = (self._ip_id + 1) & 0xFFFF
        return self._ip_id

    def route_for(self, dst: IPv4Address) -> tuple[str, IPv4Address | None] | None:
        """(outgoing interface, next hop) for a destination, or None."""
        table = self.routing_table()
        route = table.lookup(dst)
        if not self.config.ip_routing:
            # A host: connected subnets directly, everything else through the default gateway.
            if route is not None and route.code == "C":
                return route.interface, dst
            gw = self.config.default_gateway
            if gw is None:
                return None
            via = table.lookup(gw)
            if via is None or via.code != "C":
                return None
            return via.interface, gw
        if route is None:
            return None
        if route.interface is not None:
            return route.interface, route.next_hop or dst
        # A static route to a next hop: resolve the hop recursively.
        via = table.lookup(route.next_hop)
        if via is None or via.interface is None:
            return None
        return via.interface, route.next_hop

    def source_address_for(self, iface: str) -> IPv4Address | None:
        addr = self.interface_address(iface)
        return addr.ip if addr is not None else None

    # ------------------------------------------------------------ the pipeline
    def receive_ip(self, iface: str, data: bytes) -> None:
        """A packet from a link adapter."""
        try:
            packet = IPv4Packet.decode(data)
        except DecodeError as err:
            st = self.interface_state(iface)
            st.counters.input_errors += 1
            st.last_input_error = str(err)
            return
        packet = self._decrypt(iface, packet)
        if packet is None:
            return
        packet = self._nat_outside_to_inside(iface, packet)
        if packet is None:
            return
        if self.is_local(packet.dst) or self._is_broadcast(packet.dst):
            self._deliver(iface, packet)
            return
        if not self.config.ip_routing:
            self._drop("not a router")
            return
        self._forward(iface, packet)

    def _forward(self, in_iface: str, packet: IPv4Packet) -> None:
        if packet.ttl <= 1:
            self._icmp_error(packet, icmpwire.TIME_EXCEEDED, 0)
            return
        hop = self.route_for(packet.dst)
        if hop is None:
            self._unreachable(packet, 1)  # host unreachable: no route
            return
        out_iface, next_hop = hop
        packet = replace(packet, ttl=packet.ttl - 1)
        packet = self._nat_inside_to_outside(in_iface, out_iface, packet)
        if packet is None:
            return
        self._output(out_iface, next_hop, packet)

    def send_packet(self, packet: IPv4Packet) -> bool:
        """Send a packet the device originates (ping, IKE): routing, crypto map, out."""
        hop = self.route_for(packet.dst)
        if hop is None:
            self._drop("no route")
            return False
        out_iface, next_hop = hop
        return self._output(out_iface, next_hop, packet)

    def _output(self, iface: str, next_hop: IPv4Address | None, packet: IPv4Packet) -> bool:
        cfg = self.config.interfaces.get(iface)
        if cfg is not None and cfg.crypto_map:
            return self._crypto_map_out(iface, next_hop, packet)
        return self._transmit(iface, next_hop, packet.encode())

    def _transmit(self, iface: str, next_hop: IPv4Address | None, data: bytes) -> bool:
        adapter = self.adapters.get(iface)
        if adapter is None or not self.protocol_up(iface):
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
        self.crypto_binding.poke()
        if result.action == DROP:
            self._drop(f"crypto: {result.reason}")
            return None
        if result.action == DECRYPTED:
            try:
                return IPv4Packet.decode(result.packet)
            except DecodeError:
                self._drop("crypto: bad inner packet")
                return None
        return packet

    def _crypto_map_out(self, iface: str, next_hop: IPv4Address | None, packet: IPv4Packet) -> bool:
        """The crypto map of the outgoing interface: clear, protected (routed to the peer) or dropped."""
        result = self.crypto.outbound(iface, packet.encode(), self.clock.now)
        self.crypto_binding.poke()
        if result.action == DROP:
            self._drop(f"crypto: {result.reason}")
            return False
        if result.action == PROTECTED:
            outer = result.packet
            hop = self.route_for(IPv4Address(outer[16:20]))
            if hop is None:
                self._drop("no route to the IPsec peer")
                return False
            return self._transmit(hop[0], hop[1], outer)
        return self._transmit(iface, next_hop, packet.encode())

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

    # Words a crypto trace as console messages; the CLI that turns ``debug crypto`` on sets it.
    crypto_trace_renderer: Callable[[Trace], list[str]] | None = None

    def _crypto_debug(self, trace: Trace) -> None:
        if trace.category.value in self.debugs and self.crypto_trace_renderer is not None:
            for message in self.crypto_trace_renderer(trace):
                first, *rest = message.split("\n")
                self.debug_log(first)
                self.log_buffer.extend(rest)

    def _rng(self, purpose: str) -> random.Random:
        if self.clock is not None and hasattr(self.clock, "rng"):
            return self.clock.rng(f"{self.name}/{purpose}")
        return random.Random(f"{self.seed}/{self.name}/{purpose}")

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
        if "ip nat" in self.debugs or "ip nat detailed" in self.debugs:
            for line in result.debug_lines(detailed="ip nat detailed" in self.debugs):
                self.debug_log(line)
        self.nat_binding.poke()
        if result.dropped:
            self._drop(f"NAT: {result.reason}")
            return None
        if not result.translated:
            return packet
        return IPv4Packet.decode(result.packet)

    def _nat_global_address(self, iface: str) -> IPv4Address | None:
        addr = self.interface_address(iface)
        return addr.ip if addr is not None else None

    def _drop(self, reason: str) -> None:
        self.ip_drops[reason] = self.ip_drops.get(reason, 0) + 1

    # ------------------------------------------------------------ local delivery
    def _deliver(self, iface: str, packet: IPv4Packet) -> None:
        if packet.is_fragment:
            self._drop("fragment")  # reassembly is not needed by anything these labs send
            return
        if packet.protocol == PROTO_ICMP:
            self._icmp_in(iface, packet)
        elif packet.protocol == PROTO_UDP:
            try:
                datagram = UDPDatagram.decode(packet.payload, packet.src, packet.dst)
            except DecodeError:
                self._drop("bad UDP")
                return
            listener = self.udp_listeners.get(datagram.dst_port)
            handled = listener is not None and listener(packet, datagram, iface) is not False
            if not handled and not self._is_broadcast(packet.dst):
                self._unreachable(packet, icmpwire.UNREACH_PORT)
        elif not self._is_broadcast(packet.dst):
            self._unreachable(packet, icmpwire.UNREACH_PROTOCOL)

    def _icmp_in(self, iface: str, packet: IPv4Packet) -> None:
        try:
            msg = icmpwire.ICMPMessage.decode(packet.payload)
        except DecodeError:
            self._drop("bad ICMP")
            return
        if msg.type == icmpwire.ECHO_REQUEST:
            if self._is_broadcast(packet.dst):
                src = self.source_address_for(iface)
                if src is None:
                    return
            else:
                src = packet.dst
            reply = IPv4Packet(src, packet.src, PROTO_ICMP, msg.make_echo_reply().encode(),
                               ttl=DEFAULT_TTL, identification=self.next_ip_id(), tos=packet.tos)
            self.send_packet(reply)
        elif msg.type == icmpwire.ECHO_REPLY:
            listener = self.echo_listeners.get(msg.identifier)
            if listener is not None:
                listener("reply", packet, msg)
        elif msg.type in (icmpwire.DEST_UNREACHABLE, icmpwire.TIME_EXCEEDED, icmpwire.SOURCE_QUENCH):
            # The quoted packet says which echo it was.
            try:
                quoted = IPv4Packet.decode(msg.payload, verify=False, allow_truncated=True)
                inner = icmpwire.ICMPMessage.decode(quoted.payload[:8] + b"\0" * max(0, 8 - len(quoted.payload)),
                                                    verify=False)
            except DecodeError:
                return
            if quoted.protocol == PROTO_ICMP and inner.type == icmpwire.ECHO_REQUEST:
                listener = self.echo_listeners.get(inner.identifier)
                if listener is not None:
                    kind = {icmpwire.DEST_UNREACHABLE: "unreachable", icmpwire.TIME_EXCEEDED: "exceeded",
                            icmpwire.SOURCE_QUENCH: "quench"}[msg.type]
                    listener(kind, packet, inner)

    def _unreachable(self, packet: IPv4Packet, code: int) -> None:
        now = self.clock.now if self.clock else 0
        if self._last_unreachable is not None and now - self._last_unreachable < UNREACHABLE_INTERVAL:
            self._drop("unreachable rate limited")
            return
        self._last_unreachable = now
        self._icmp_error(packet, icmpwire.DEST_UNREACHABLE, code)

    def _icmp_error(self, packet: IPv4Packet, type_: int, code: int) -> None:
        if packet.protocol == PROTO_ICMP and packet.payload[:1] not in (bytes([icmpwire.ECHO_REQUEST]),
                                                                       bytes([icmpwire.ECHO_REPLY])):
            return  # never an error about an error (RFC 1812 §4.3.2.7)
        if self._is_broadcast(packet.dst):
            return
        hop = self.route_for(packet.src)
        if hop is None:
            return
        src = self.source_address_for(hop[0])
        if src is None:
            return
        original = packet.encode()
        body = (icmpwire.ICMPMessage.dest_unreachable(code, original) if type_ == icmpwire.DEST_UNREACHABLE
                else icmpwire.ICMPMessage.time_exceeded(code, original))
        self.send_packet(IPv4Packet(src, packet.src, PROTO_ICMP, body.encode(), ttl=DEFAULT_TTL,
                                    identification=self.next_ip_id()))
