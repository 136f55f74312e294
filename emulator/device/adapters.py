"""Link layers of a device's interfaces: PPP and Cisco HDLC on serial, ARPA on Ethernet.

Each adapter sits between a simulator attachment (a serial link end or an
Ethernet port) and the router: it frames IP packets on the way out, unframes
them on the way in, runs the link's own protocol (LCP/IPCP, SLARP keepalives,
ARP) on the simulator's clock, and tells the router when the line protocol
changes. A frame that does not decode is counted as an input error.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import TYPE_CHECKING

from emulator.engines.ppp import IPCPClosed, IPCPOpened, IPPacket, LinkClosed, LinkOpened, PPPConfig, PPPSession, State
from emulator.labtime import SECOND
from emulator.sim.binding import EngineBinding
from emulator.wire import arp as arpwire
from emulator.wire import chdlc
from emulator.wire.errors import DecodeError
from emulator.wire.ethernet import BROADCAST, ETHERTYPE_ARP, ETHERTYPE_IPV4, EthernetFrame
from emulator.wire.ppp import fcs16

if TYPE_CHECKING:
    from emulator.device.router import Router

ARP_TIMEOUT = 4 * 3600 * SECOND  # IOS default "ARP Timeout 04:00:00"
# How "show interfaces" names the RFC 1661 states ("LCP Open", "LCP REQsent", "LCP Listen"...).
IOS_LCP_STATE = {State.INITIAL: "Closed", State.STARTING: "Closed", State.CLOSED: "Closed",
                 State.STOPPED: "Listen", State.CLOSING: "TERMsent", State.STOPPING: "TERMsent",
                 State.REQ_SENT: "REQsent", State.ACK_RCVD: "ACKrcvd", State.ACK_SENT: "ACKsent",
                 State.OPENED: "Open"}
HDLC_MISSED_KEEPALIVES = 3     # IOS takes the line protocol down after three


def short_name(name: str) -> str:
    """IOS's short interface name in debug lines: Serial0 -> Se0, Ethernet0 -> Et0."""
    kind = name.rstrip("0123456789/.")
    return kind[:2] + name[len(kind):]


class LinkAdapter:
    kind = ""

    def __init__(self, router: "Router", iface: str):
        self.router = router
        self.iface = iface
        self.sim = router.clock
        self.protocol_up = False

    @property
    def state(self):
        return self.router.interface_state(self.iface)

    def _set_protocol(self, up: bool) -> None:
        if up != self.protocol_up:
            self.protocol_up = up
            self.router.line_protocol_changed(self.iface, up)

    def _count_in(self, frame: bytes) -> None:
        c = self.state.counters
        c.packets_in += 1
        c.bytes_in += len(frame)
        c.last_input = self.sim.now

    def _count_out(self, frame: bytes) -> None:
        c = self.state.counters
        c.packets_out += 1
        c.bytes_out += len(frame)
        c.last_output = self.sim.now

    def _input_error(self, reason: str, crc: bool = False) -> None:
        c = self.state.counters
        c.input_errors += 1
        if crc:
            c.crc += 1
        self.state.last_input_error = reason

    def reconfigure(self) -> None:
        """The interface's configuration changed (keepalive, addresses)."""

    def close(self) -> None:
        """The adapter is replaced: stop its timers."""

    # Subclasses: carrier(up), admin(up), send_ip(packet, next_hop) -> bool
    def carrier(self, up: bool) -> None:
        raise NotImplementedError

    def admin(self, up: bool) -> None:
        raise NotImplementedError

    def send_ip(self, packet: bytes, next_hop: IPv4Address | None) -> bool:
        raise NotImplementedError


class SerialAdapter(LinkAdapter):
    """Shared by PPP and HDLC: a serial link end with FCS-16 on every frame."""

    def __init__(self, router: "Router", iface: str, end):
        super().__init__(router, iface)
        self.end = end
        end.receiver = self._receive
        end.on_carrier = self._carrier_changed

    def _carrier_changed(self, up: bool) -> None:
        # The notice may be older than the line's state (the lab already applied a later change): use the state.
        self.router.carrier_changed(self.iface, self.end.link.up)

    def _transmit(self, frame: bytes) -> bool:
        self._count_out(frame)
        return self.end.send(frame)

    def _receive(self, frame: bytes) -> None:
        if not self.router.interface_enabled(self.iface):
            return
        self._count_in(frame)
        self.receive(frame)

    def receive(self, frame: bytes) -> None:
        raise NotImplementedError


class PPPAdapter(SerialAdapter):
    kind = "ppp"

    def __init__(self, router: "Router", iface: str, end):
        super().__init__(router, iface, end)
        self.session = PPPSession(self._config(), router.clock.rng(f"{router.name}/{iface}/ppp"), self.sim.now)
        self.binding = EngineBinding(self.sim, self.session, transmit=self._transmit, on_event=self._event,
                                     on_flushed=self._update_state, name=f"{router.name} {iface} PPP")

    def _config(self) -> PPPConfig:
        cfg = self.router.config.interfaces[self.iface]
        ka = cfg.keepalive * SECOND if cfg.keepalive else None
        return PPPConfig(local_address=cfg.address, negotiate_address=cfg.negotiated,
                         peer_address_provider=self._assign_peer, peer_address_release=self._release_peer,
                         keepalive=ka, name=short_name(self.iface), trace=self._trace)

    def _trace(self, line: str) -> None:
        if "ppp negotiation" in self.router.debugs:
            self.router.debug_log(line)

    def _assign_peer(self):
        return self.router.assign_peer_address(self.iface)

    def _release_peer(self, address: IPv4Address) -> None:
        self.router.release_peer_address(self.iface, address)

    def reconfigure(self) -> None:
        """The interface's addressing changed: take effect at the next negotiation."""
        self.session.config = self._config()

    def close(self) -> None:
        self.binding.close()
        self.session.lower_down(self.sim.now)

    def carrier(self, up: bool) -> None:
        now = self.sim.now
        if up:
            self.session.lower_up(now)
        else:
            self.session.lower_down(now)
        self.binding.poke()

    def admin(self, up: bool) -> None:
        now = self.sim.now
        if up:
            self.session.admin_open(now)
        else:
            self.session.admin_close(now)
        self.binding.poke()

    def receive(self, frame: bytes) -> None:
        errors = self.session.input_errors
        self.session.receive_frame(frame, self.sim.now)
        if self.session.input_errors != errors:
            self._input_error(self.session.last_error or "bad frame", crc="FCS" in (self.session.last_error or ""))
        self.binding.poke()

    def send_ip(self, packet: bytes, next_hop: IPv4Address | None) -> bool:
        frame = self.session.send_ip(packet)
        if frame is None:
            self.state.counters.output_drops += 1
            return False
        return self._transmit(frame)

    def _event(self, event) -> None:
        if isinstance(event, IPPacket):
            self.router.receive_ip(self.iface, event.payload)
        elif isinstance(event, IPCPOpened):
            self.router.ipcp_opened(self.iface, event.local_address, event.peer_address)
        elif isinstance(event, IPCPClosed):
            self.router.ipcp_closed(self.iface)
        elif isinstance(event, (LinkOpened, LinkClosed)):
            pass

    def _update_state(self) -> None:
        st = self.state
        st.lcp_state = IOS_LCP_STATE.get(self.session.lcp_state, "Closed")
        st.open_ncps = tuple(self.session.open_ncps())
        # IOS shows the line protocol up once LCP and an NCP are open.
        self._set_protocol(self.session.lcp_open and self.session.ipcp_open)


class HDLCAdapter(SerialAdapter):
    """Cisco HDLC with SLARP keepalives (the serial default)."""

    kind = "hdlc"

    def __init__(self, router: "Router", iface: str, end):
        super().__init__(router, iface, end)
        self.my_seq = 0
        self.peer_seq = 0
        self.last_heard: int | None = None
        self._timer = None
        self._running = False

    def _keepalive(self) -> int | None:
        return self.router.config.interfaces[self.iface].keepalive

    def reconfigure(self) -> None:
        self._stop()
        self._update(True)

    def close(self) -> None:
        self._stop()

    def carrier(self, up: bool) -> None:
        self._update(up)

    def admin(self, up: bool) -> None:
        self._update(up)

    def _update(self, _: bool) -> None:
        active = self.router.link_status(self.iface) == "up"
        if not active:
            self._stop()
            self._set_protocol(False)
            return
        if self._keepalive() is None:
            self._stop()
            self._set_protocol(True)
            return
        if not self._running:
            self._running = True
            self.my_seq = self.peer_seq = 0
            self.last_heard = None
            self._send_keepalive()

    def _stop(self) -> None:
        self._running = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _send_keepalive(self) -> None:
        self._timer = None
        if not self._running:
            return
        period = (self._keepalive() or 10) * SECOND
        if self.last_heard is not None and self.sim.now - self.last_heard > HDLC_MISSED_KEEPALIVES * period:
            self._set_protocol(False)
        self.my_seq = (self.my_seq + 1) & 0xFFFFFFFF
        ka = chdlc.SlarpKeepalive(self.my_seq, self.peer_seq)
        self._frame(chdlc.PROTO_SLARP, ka.encode(), broadcast=True)
        self._timer = self.sim.call_later(period, self._send_keepalive)

    def _frame(self, protocol: int, payload: bytes, broadcast: bool = False) -> bool:
        address = chdlc.ADDRESS_BROADCAST if broadcast else chdlc.ADDRESS_UNICAST
        body = chdlc.CHDLCFrame(protocol, payload, address).encode()
        return self._transmit(body + fcs16(body).to_bytes(2, "little"))

    def receive(self, frame: bytes) -> None:
        body, fcs = frame[:-2], frame[-2:]
        if len(frame) < 4 or fcs16(body).to_bytes(2, "little") != fcs:
            self._input_error("chdlc: bad FCS", crc=True)
            return
        try:
            f = chdlc.CHDLCFrame.decode(body)
            if f.protocol == chdlc.PROTO_SLARP:
                msg = chdlc.decode_slarp(f.payload)
            elif f.protocol == chdlc.PROTO_IPV4:
                if self.protocol_up:
                    self.router.receive_ip(self.iface, f.payload)
                return
            else:
                return  # CDP and others: not spoken here, ignored as IOS ignores unknown protocols
        except DecodeError as err:
            self._input_error(str(err))
            return
        if isinstance(msg, chdlc.SlarpKeepalive):
            self.peer_seq = msg.my_sequence
            self.last_heard = self.sim.now
            if self._running:
                self._set_protocol(True)

    def send_ip(self, packet: bytes, next_hop: IPv4Address | None) -> bool:
        if not self.protocol_up:
            self.state.counters.output_drops += 1
            return False
        return self._frame(chdlc.PROTO_IPV4, packet)


class EthernetAdapter(LinkAdapter):
    """ARPA encapsulation with ARP; a packet whose next hop is not yet resolved is dropped
    while the ARP request goes out, as IOS does."""

    kind = "arpa"

    def __init__(self, router: "Router", iface: str, segment):
        super().__init__(router, iface)
        self.port = segment.attach(self._receive, name=f"{router.name} {iface}")
        self.arp: dict[IPv4Address, tuple[bytes, int]] = {}   # -> (MAC, learnt at)

    @property
    def mac(self) -> bytes:
        return self.state.mac

    def carrier(self, up: bool) -> None:
        self._update()

    def admin(self, up: bool) -> None:
        self._update()

    def _update(self) -> None:
        up = self.router.link_status(self.iface) == "up"
        self.port.up = up
        if not up:
            self.arp.clear()
        self._set_protocol(up)

    def _receive(self, frame: bytes) -> None:
        if not self.protocol_up:
            return
        try:
            eth = EthernetFrame.decode(frame)
        except DecodeError as err:
            self._input_error(str(err))
            return
        if eth.dst != self.mac and eth.dst != BROADCAST:
            return
        self._count_in(frame)
        if eth.dst == BROADCAST:
            self.state.counters.broadcasts_in += 1
        if eth.ethertype == ETHERTYPE_IPV4:
            self.router.receive_ip(self.iface, eth.payload)
        elif eth.ethertype == ETHERTYPE_ARP:
            try:
                self._arp(arpwire.ARPPacket.decode(eth.payload))
            except DecodeError as err:
                self._input_error(str(err))

    def _arp(self, pkt: arpwire.ARPPacket) -> None:
        mine = self.router.interface_address(self.iface)
        if mine is None:
            return
        # Learn (or refresh) the sender when it is on this subnet.
        if pkt.sender_ip in mine.network:
            if pkt.sender_ip in self.arp or pkt.target_ip == mine.ip:
                self.arp[pkt.sender_ip] = (pkt.sender_mac, self.sim.now)
        if pkt.op == arpwire.OP_REQUEST and pkt.target_ip == mine.ip:
            reply = arpwire.ARPPacket.reply(self.mac, mine.ip, pkt.sender_mac, pkt.sender_ip)
            self._send(pkt.sender_mac, ETHERTYPE_ARP, reply.encode())

    def _send(self, dst: bytes, ethertype: int, payload: bytes) -> bool:
        frame = EthernetFrame(dst, self.mac, ethertype, payload).encode()
        self._count_out(frame)
        return self.port.send(frame)

    def resolve(self, address: IPv4Address) -> bytes | None:
        entry = self.arp.get(address)
        if entry is not None and self.sim.now - entry[1] < ARP_TIMEOUT:
            return entry[0]
        mine = self.router.interface_address(self.iface)
        if mine is not None:
            request = arpwire.ARPPacket.request(self.mac, mine.ip, address)
            self._send(BROADCAST, ETHERTYPE_ARP, request.encode())
        return None

    def send_ip(self, packet: bytes, next_hop: IPv4Address | None) -> bool:
        if not self.protocol_up or next_hop is None:
            self.state.counters.output_drops += 1
            return False
        if next_hop == IPv4Address("255.255.255.255"):
            return self._send(BROADCAST, ETHERTYPE_IPV4, packet)
        mac = self.resolve(next_hop)
        if mac is None:
            self.state.counters.output_drops += 1  # encapsulation failed: ARP pending
            return False
        return self._send(mac, ETHERTYPE_IPV4, packet)

    def arp_table(self) -> list[tuple[IPv4Address, bytes, int | None]]:
        """(address, MAC, learnt at or None for the interface's own address)."""
        rows = [(ip, mac, t) for ip, (mac, t) in self.arp.items() if self.sim.now - t < ARP_TIMEOUT]
        mine = self.router.interface_address(self.iface)
        if mine is not None and self.protocol_up:
            rows.append((mine.ip, self.mac, None))
        return sorted(rows)
