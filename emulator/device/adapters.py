"""Link layers of a device's interfaces: PPP and Cisco HDLC on serial, ARPA on Ethernet.

Each adapter sits between a simulator attachment (a serial link end or an
Ethernet port) and its device: it frames IP packets on the way out, unframes
them on the way in, runs the link's own protocol engine (PPP, SLARP
keepalives, ARP) on the simulator's clock through an ``EngineBinding``, and
tells the device when the line protocol changes. A frame that does not decode
is counted as an input error.

Adapters know their device only through two small protocols: the interface
table they read (``AdapterInterfaces``) and the events they report (``LinkEvents``).
"""

from __future__ import annotations

import random
from ipaddress import IPv4Address, IPv4Interface
from typing import Protocol

from emulator.config.model import Interface
from emulator.device.interfaces import Counters, InterfaceState
from emulator.engines import arp as arpengine
from emulator.engines import slarp
from emulator.engines.ppp import (
    ControlTraced,
    IPCPClosed,
    IPCPOpened,
    IPPacket,
    LayerOpenTraced,
    PhaseTraced,
    PPPConfig,
    PPPSession,
)
from emulator.labtime import SECOND
from emulator.sim.binding import EngineBinding
from emulator.sim.clock import Simulator
from emulator.sim.wires import EthernetSegment, SerialEnd
from emulator.wire.errors import DecodeError
from emulator.wire.ethernet import BROADCAST, ETHERTYPE_ARP, ETHERTYPE_IPV4, HEADER_LEN, EthernetFrame

__all__ = ["LinkEvents", "AdapterInterfaces", "LinkAdapter", "PPPAdapter", "HDLCAdapter", "EthernetAdapter",
           "short_name"]


def short_name(name: str) -> str:
    """IOS's short interface name in debug lines: Serial0 -> Se0, Ethernet0 -> Et0."""
    kind = name.rstrip("0123456789/.")
    return kind[:2] + name[len(kind):]


class AdapterInterfaces(Protocol):
    """The device's interface table, as an adapter reads it."""

    def interface_config(self, name: str) -> Interface: ...

    def state(self, name: str) -> InterfaceState: ...

    def address(self, name: str) -> IPv4Interface | None: ...

    def enabled(self, name: str) -> bool: ...

    def link_active(self, name: str) -> bool: ...

    def catch_up(self, now: int) -> None: ...


class LinkEvents(Protocol):
    """What an adapter tells its device, and the little it asks of it beside the interface table."""

    @property
    def name(self) -> str: ...

    def rng(self, purpose: str) -> random.Random: ...

    def carrier_changed(self, iface: str, up: bool) -> None: ...

    def line_protocol_changed(self, iface: str, up: bool) -> None: ...

    def receive_ip(self, iface: str, data: bytes) -> None: ...

    def ipcp_opened(self, iface: str, local: IPv4Address | None, peer: IPv4Address | None) -> None: ...

    def ipcp_closed(self, iface: str) -> None: ...

    def assign_peer_address(self, iface: str) -> IPv4Address | None: ...

    def release_peer_address(self, iface: str, address: IPv4Address) -> None: ...

    def ppp_trace(self, iface: str, trace: ControlTraced | LayerOpenTraced | PhaseTraced) -> None: ...


class LinkAdapter:
    kind = ""

    def __init__(self, owner: LinkEvents, interfaces: AdapterInterfaces, iface: str, sim: Simulator):
        self.owner = owner
        self.interfaces = interfaces
        self.iface = iface
        self.sim = sim
        self.protocol_up = False
        self._state: InterfaceState | None = None

    @property
    def state(self) -> InterfaceState:
        # The table keeps one state object per interface for good: read once (the counters are
        # read from it each time, since clearing them puts new ones in).
        st = self._state
        if st is None:
            st = self._state = self.interfaces.state(self.iface)
        return st

    def _set_protocol(self, up: bool) -> None:
        if up != self.protocol_up:
            self.protocol_up = up
            self.owner.line_protocol_changed(self.iface, up)

    def _counters_now(self) -> tuple[Counters, int]:
        """The interface's counters, their load samples caught up to now, and now."""
        now = self.sim.now
        self.interfaces.catch_up(now)
        st = self._state
        if st is None:
            st = self.state
        return st.counters, now

    def _count_in(self, frame: bytes) -> None:
        c, now = self._counters_now()
        c.packets_in += 1
        c.bytes_in += len(frame)
        c.last_input = now

    def _count_out(self, frame: bytes) -> None:
        c, now = self._counters_now()
        c.packets_out += 1
        c.bytes_out += len(frame)
        c.last_output = now

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

    def __init__(self, owner: LinkEvents, interfaces: AdapterInterfaces, iface: str, sim: Simulator,
                 end: SerialEnd):
        super().__init__(owner, interfaces, iface, sim)
        self.end = end
        end.receiver = self._receive
        end.on_carrier = self._carrier_changed

    def _carrier_changed(self, up: bool) -> None:
        # The notice may be older than the line's state (the lab already applied a later change): use the state.
        self.owner.carrier_changed(self.iface, self.end.up)

    def _transmit(self, frame: bytes) -> bool:
        self._count_out(frame)
        return self.end.send(frame)

    def _receive(self, frame: bytes) -> None:
        if not self.interfaces.enabled(self.iface):
            return
        self._count_in(frame)
        self.receive(frame)

    def receive(self, frame: bytes) -> None:
        raise NotImplementedError


class PPPAdapter(SerialAdapter):
    kind = "ppp"

    def __init__(self, owner: LinkEvents, interfaces: AdapterInterfaces, iface: str, sim: Simulator,
                 end: SerialEnd):
        super().__init__(owner, interfaces, iface, sim, end)
        self.session = PPPSession(self._config(), owner.rng(f"{iface}/ppp"), self.sim.now)
        self.binding = EngineBinding(self.sim, self.session, transmit=self._transmit, on_event=self._event,
                                     on_flushed=self._update_state, name=f"{owner.name} {iface} PPP")

    def _config(self) -> PPPConfig:
        cfg = self.interfaces.interface_config(self.iface)
        ka = cfg.keepalive * SECOND if cfg.keepalive else None
        return PPPConfig(local_address=cfg.address, negotiate_address=cfg.negotiated,
                         peer_address_provider=self._assign_peer, peer_address_release=self._release_peer,
                         keepalive=ka, trace=True)

    def _assign_peer(self) -> IPv4Address | None:
        return self.owner.assign_peer_address(self.iface)

    def _release_peer(self, address: IPv4Address) -> None:
        self.owner.release_peer_address(self.iface, address)

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
        payload = self.session.take_ip(frame, self.sim.now)
        if payload is not None:
            self.owner.receive_ip(self.iface, payload)   # an IP packet changes nothing else in the engine
            return
        if self.session.input_errors != errors:
            self._input_error(self.session.last_error or "bad frame", crc="FCS" in (self.session.last_error or ""))
        self.binding.poke()

    def send_ip(self, packet: bytes, next_hop: IPv4Address | None) -> bool:
        frame = self.session.send_ip(packet)
        if frame is None:
            self.state.counters.output_drops += 1
            return False
        return self._transmit(frame)

    def _event(self, event: object) -> None:
        if isinstance(event, IPPacket):
            self.owner.receive_ip(self.iface, event.payload)
        elif isinstance(event, IPCPOpened):
            self.owner.ipcp_opened(self.iface, event.local_address, event.peer_address)
        elif isinstance(event, IPCPClosed):
            self.owner.ipcp_closed(self.iface)
        elif isinstance(event, (ControlTraced, LayerOpenTraced, PhaseTraced)):
            self.owner.ppp_trace(self.iface, event)
        # LinkOpened and LinkClosed show in the LCP state, read after each poke.

    def _update_state(self) -> None:
        st = self.state
        st.lcp_state = self.session.lcp_state
        st.open_ncps = tuple(self.session.open_ncps())
        # IOS shows the line protocol up once LCP and an NCP are open.
        self._set_protocol(self.session.lcp_open and self.session.ipcp_open)


class HDLCAdapter(SerialAdapter):
    """Cisco HDLC with SLARP keepalives (the serial default)."""

    kind = "hdlc"

    def __init__(self, owner: LinkEvents, interfaces: AdapterInterfaces, iface: str, sim: Simulator,
                 end: SerialEnd):
        super().__init__(owner, interfaces, iface, sim, end)
        self.session = slarp.SlarpSession(self._keepalive())
        self.binding = EngineBinding(self.sim, self.session, transmit=self._transmit, on_event=self._event,
                                     name=f"{owner.name} {iface} SLARP")

    def _keepalive(self) -> int | None:
        period = self.interfaces.interface_config(self.iface).keepalive
        return period * SECOND if period is not None else None

    def reconfigure(self) -> None:
        self.session.reconfigure(self._keepalive(), self.interfaces.link_active(self.iface), self.sim.now)
        self.binding.poke()

    def close(self) -> None:
        self.session.close()
        self.binding.close()

    def carrier(self, up: bool) -> None:
        self._update()

    def admin(self, up: bool) -> None:
        self._update()

    def _update(self) -> None:
        self.session.link_changed(self.interfaces.link_active(self.iface), self.sim.now)
        self.binding.poke()

    def receive(self, frame: bytes) -> None:
        payload = self.session.receive_frame(frame, self.sim.now)
        if payload is not None:
            self.owner.receive_ip(self.iface, payload)   # an IP packet changes nothing else in the engine
        else:
            self.binding.poke()

    def _event(self, event: object) -> None:
        if isinstance(event, slarp.LineProtocol):
            self._set_protocol(event.up)
        elif isinstance(event, slarp.FrameError):
            self._input_error(event.reason, crc=event.crc)

    def send_ip(self, packet: bytes, next_hop: IPv4Address | None) -> bool:
        frame = self.session.send_ip(packet)
        if frame is None:
            self.state.counters.output_drops += 1
            return False
        return self._transmit(frame)


class EthernetAdapter(LinkAdapter):
    """ARPA encapsulation with ARP; a packet whose next hop is not yet resolved is dropped
    while the ARP request goes out, as IOS does."""

    kind = "arpa"

    def __init__(self, owner: LinkEvents, interfaces: AdapterInterfaces, iface: str, sim: Simulator,
                 segment: EthernetSegment):
        super().__init__(owner, interfaces, iface, sim)
        self.port = segment.attach(self._receive, name=f"{owner.name} {iface}")
        self.arp = arpengine.ArpEngine(self.mac)
        self.binding = EngineBinding(self.sim, self.arp, transmit=self._send_arp, on_event=self._arp_event,
                                     name=f"{owner.name} {iface} ARP")

    @property
    def mac(self) -> bytes:
        return self.state.mac

    def carrier(self, up: bool) -> None:
        self._update()

    def admin(self, up: bool) -> None:
        self._update()

    def close(self) -> None:
        self.binding.close()
        self.port.detach()

    def _update(self) -> None:
        up = self.interfaces.link_active(self.iface)
        self.port.up = up
        if not up:
            self.arp.clear()
        self._set_protocol(up)

    def _receive(self, frame: bytes) -> None:
        if not self.protocol_up:
            return
        if len(frame) < HEADER_LEN:
            try:
                EthernetFrame.decode(frame)      # the codec words the error
            except DecodeError as err:
                self._input_error(str(err))
            return
        dst = frame[:6]                          # the address filter, before anything is decoded
        broadcast = dst == BROADCAST
        if not broadcast and dst != self.mac:
            return
        self._count_in(frame)
        if broadcast:
            self.state.counters.broadcasts_in += 1
        ethertype = frame[12] << 8 | frame[13]
        if ethertype == ETHERTYPE_IPV4:
            self.owner.receive_ip(self.iface, frame[HEADER_LEN:])
        elif ethertype == ETHERTYPE_ARP:
            self.arp.receive(frame[HEADER_LEN:], self.interfaces.address(self.iface), self.sim.now)
            self.binding.poke()

    def _send_arp(self, item: arpengine.ArpFrame) -> None:
        self._send(item.dst, ETHERTYPE_ARP, item.payload)

    def _arp_event(self, event: arpengine.InputError) -> None:
        self._input_error(event.reason)

    def _send(self, dst: bytes, ethertype: int, payload: bytes) -> bool:
        frame = EthernetFrame(dst, self.mac, ethertype, payload).encode()
        self._count_out(frame)
        return self.port.send(frame)

    def resolve(self, address: IPv4Address) -> bytes | None:
        """The MAC address of a neighbour, or None while ARP asks for it."""
        mac = self.arp.resolve(address, self.interfaces.address(self.iface), self.sim.now)
        if mac is None:
            self.binding.poke()   # the request
        return mac

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
        rows: list[tuple[IPv4Address, bytes, int | None]] = list(self.arp.entries(self.sim.now))
        mine = self.interfaces.address(self.iface)
        if mine is not None and self.protocol_up:
            rows.append((mine.ip, self.mac, None))
        return sorted(rows, key=lambda row: (row[0], row[1], -1 if row[2] is None else row[2]))
