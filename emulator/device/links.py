"""The link side of a device: its adapters and the events of its links.

``Links`` cables ports (a serial end gets PPP or Cisco HDLC by its
encapsulation, an Ethernet port ARPA), brings them up at boot, and turns
carrier, shutdown, line protocol and IPCP changes into interface state and
console events, as IOS logs them (``%LINK-3-UPDOWN``, ``%LINEPROTO-5-UPDOWN``...).
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Callable

from emulator.device.adapters import EthernetAdapter, HDLCAdapter, LinkAdapter, LinkEvents, PPPAdapter
from emulator.device.console import (
    DeviceLog,
    IpcpAddressInstalled,
    IpcpRouteInstalled,
    LineProtocolChanged,
    LinkAdminDown,
    LinkChanged,
)
from emulator.device.interfaces import InterfaceTable
from emulator.sim.clock import Simulator
from emulator.sim.wires import EthernetSegment, SerialEnd

__all__ = ["Links", "PPP_DEBUG"]

PPP_DEBUG = "ppp negotiation"


class Links:
    def __init__(self, owner: LinkEvents, sim: Simulator | None, interfaces: InterfaceTable, console: DeviceLog,
                 debugs: set[str], *, changed: Callable[[], None], admin_changed: Callable[[str, bool], None]):
        self.owner = owner
        self.sim = sim
        self.interfaces = interfaces
        self.console = console
        self.debugs = debugs
        self._changed = changed                  # addresses or link states changed
        self._admin_changed = admin_changed      # told (iface, up) on shutdown / no shutdown
        self.adapters: dict[str, LinkAdapter] = {}
        self._serial_ends: dict[str, SerialEnd] = {}

    # ------------------------------------------------------------ wiring
    def _sim(self) -> Simulator:
        if self.sim is None:
            raise RuntimeError("cabling a port needs the lab's simulator")
        return self.sim

    def attach_serial(self, iface: str, end: SerialEnd) -> None:
        """Cable a serial port; its encapsulation picks PPP or Cisco HDLC."""
        self._serial_ends[iface] = end
        self._make_serial_adapter(iface)

    def attach_ethernet(self, iface: str, segment: EthernetSegment) -> None:
        self.adapters[iface] = EthernetAdapter(self.owner, self.interfaces, iface, self._sim(), segment)

    def _make_serial_adapter(self, iface: str) -> None:
        old = self.adapters.get(iface)
        if old is not None:
            old.close()
        encapsulation = self.interfaces.interface_config(iface).encapsulation
        cls = PPPAdapter if encapsulation == "ppp" else HDLCAdapter
        self.adapters[iface] = cls(self.owner, self.interfaces, iface, self._sim(), self._serial_ends[iface])

    def boot(self) -> None:
        """Bring up every attached interface that is not shut down (the end of booting)."""
        for iface, adapter in self.adapters.items():
            if self.interfaces.enabled(iface):
                carrier = self.interfaces.state(iface).carrier
                if carrier:
                    self.console.log(LinkChanged(iface, True))
                adapter.admin(True)
                if carrier:
                    adapter.carrier(True)

    # ------------------------------------------------------------ link events
    def carrier_changed(self, iface: str, up: bool) -> None:
        st = self.interfaces.state(iface)
        if st.carrier == up:
            return
        st.carrier = up
        st.counters.carrier_transitions += 1
        if self.interfaces.enabled(iface):
            self.console.log(LinkChanged(iface, up))
        adapter = self.adapters.get(iface)
        if adapter is not None:
            adapter.carrier(up)
        self._changed()

    def shutdown_changed(self, iface: str, up: bool) -> None:
        """``shutdown`` (up False) or ``no shutdown`` on an interface."""
        if not up:
            self.console.log(LinkAdminDown(iface))
        adapter = self.adapters.get(iface)
        if adapter is not None:
            if up and self.interfaces.state(iface).carrier:
                self.console.log(LinkChanged(iface, True))
            adapter.admin(up)
        self._admin_changed(iface, up)

    def reconfigured(self, iface: str) -> None:
        """Addressing, keepalive or encapsulation of an interface changed."""
        adapter = self.adapters.get(iface)
        if adapter is None:
            return
        if iface in self._serial_ends and adapter.kind != self.interfaces.interface_config(iface).encapsulation:
            # A new encapsulation: the old link protocol stops, the new one starts.
            self.line_protocol_changed(iface, False)
            self.ipcp_closed(iface)
            self._make_serial_adapter(iface)
            adapter = self.adapters[iface]
            if self.interfaces.enabled(iface):
                adapter.admin(True)
                if self.interfaces.state(iface).carrier:
                    adapter.carrier(True)
            return
        adapter.reconfigure()

    def line_protocol_changed(self, iface: str, up: bool) -> None:
        st = self.interfaces.state(iface)
        if st.line_protocol != up:
            st.line_protocol = up
            self.console.log(LineProtocolChanged(iface, up))
        self._changed()

    def ipcp_opened(self, iface: str, local: IPv4Address | None, peer: IPv4Address | None) -> None:
        st = self.interfaces.state(iface)
        cfg = self.interfaces.interface_config(iface)
        if cfg.negotiated and local is not None:
            st.negotiated = local
            if PPP_DEBUG in self.debugs:
                self.console.debug(IpcpAddressInstalled(iface, local))
        st.peer_address = peer
        if peer is not None and cfg.peer_neighbor_route and PPP_DEBUG in self.debugs:
            self.console.debug(IpcpRouteInstalled(iface, peer))
        self._changed()

    def ipcp_closed(self, iface: str) -> None:
        st = self.interfaces.state(iface)
        st.negotiated = None
        st.peer_address = None
        self._changed()
