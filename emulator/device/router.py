"""An emulated IOS device: its configuration, and the parts that run it.

Hosts are the same kind of device configured as hosts (``no ip routing`` and
``ip default-gateway``).

A ``Router`` composes its parts and wires them: the interface table
(``InterfaceTable``), the link adapters and link events (``Links``), the
addresses handed to PPP peers (``PeerAddresses``), the routing table
(``Routing``), delivery to the device itself (``LocalDelivery``) and the
forwarding pipeline with NAT and IPsec (``IPStack``). Each part gets what it
works with through a small protocol: the router implements the one adapters
report to (``LinkEvents``) by handing each call to the part that owns it;
the pipeline is local delivery's way out (``LocalHost``). Its console log is
a ``DeviceLog`` of structured records; the ``LogSink`` it is given renders
them.
"""

from __future__ import annotations

import hashlib
import random
import weakref
from ipaddress import IPv4Address, IPv4Interface
from typing import Any, Callable

from emulator.config.commands import ConfigContext
from emulator.config.loader import load_config
from emulator.config.model import Interface
from emulator.config.render import render_config
from emulator.device.adapters import LinkAdapter
from emulator.device.console import DeviceLog, LogSink, Message, PppOptionTraced, PppTraced, SystemRestarted
from emulator.device.cpu import Cpu, PacedAdapters
from emulator.device.interfaces import InterfaceState, InterfaceTable, LinkStatus
from emulator.device.ip import IPStack
from emulator.device.links import PPP_DEBUG, Links
from emulator.device.local import EchoListener, LocalDelivery, UdpListener
from emulator.device.logins import LoginWatch
from emulator.device.platform import PLATFORMS, Platform
from emulator.device.pools import PeerAddresses
from emulator.device.routing import Routing, RoutingTable
from emulator.device.tcp import TcpHost
from emulator.engines.acl import AclEngine
from emulator.engines.ike.events import Trace
from emulator.engines.ipsec import CryptoSubsystem
from emulator.engines.nat import NatEngine
from emulator.engines.ppp import ControlTraced, LayerOpenTraced, PhaseTraced
from emulator.sim.binding import EngineBinding
from emulator.sim.clock import Simulator
from emulator.sim.wires import EthernetSegment, SerialEnd
from emulator.wire.ipv4 import IPv4Packet

__all__ = ["Router"]


class Router:
    """One emulated device, built from its configuration text."""

    def __init__(self, name: str, config_text: str, source: str = "<config>",
                 platform: Platform | None = None, seed: int = 0, *, clock: Simulator, console: LogSink,
                 extra_config: tuple[list[str], str] | None = None):
        """``extra_config``: lines a lab adds to the configuration text, and where they come from
        (``apply_extra_config``), applied before the startup configuration is first saved."""
        self.name = name
        self.platform = platform or PLATFORMS["2501"]
        self.clock = clock   # the lab's simulator: time, random streams, timers
        self.boot_time = clock.now
        self.seed = seed
        self._load_started = False
        self.startup_config = config_text
        self.admin_listeners: list[Callable[[Router, str, bool], Any]] = []   # told (router, iface, up)
        self._console_sink = console
        self._cabling: list[tuple[str, SerialEnd | EthernetSegment]] = []   # (iface, where), in cabling order
        self.reloading = False       # between ``reload`` and the end of booting again: every port is down
        self.generation = 0          # boots since the lab started (a vty session ends with its generation)
        self.sessions: weakref.WeakSet[Any] = weakref.WeakSet()   # the CLI sessions on its lines (show users)
        self.operator_secrets: dict[str, str] = {}    # kept across reloads: the lab's operator still knows them
        self._build(config_text, source)
        if extra_config is not None:
            self.apply_extra_config(*extra_config)      # saves the startup configuration
        else:
            self.save_startup()     # kept in IOS's saved form, as if written with copy running-config startup-config

    def _build(self, config_text: str, source: str) -> None:
        """The device's parts, fresh from a configuration text (at power-on and at each reload)."""
        self.config, self.boot_errors = load_config(config_text, source, list(self.platform.interfaces))
        self.debugs: set[str] = set()
        config = self.config   # one object, changed in place by configuration mode: every part reads it live
        self.console = DeviceLog(self._console_sink, config, lambda: self.uptime)
        self.console.monitoring = self._monitored
        self.interfaces = InterfaceTable(self.name, self.seed, config)
        self.pools = PeerAddresses(config, self.console)
        self.routing = Routing(config, self.interfaces)
        self.links = Links(self, self.clock, self.interfaces, self.console, self.debugs,
                           changed=self.invalidate_routes, admin_changed=self._admin_changed)
        self.local = LocalDelivery(self.rng)
        # The processor: packets it handles reach the IP stack, and ESP it made the links, after their cost.
        self.cpu = Cpu(self.clock, self.platform.cpu, self.rng("cpu"), self.name, self.routing.is_local,
                       lambda spi: self.ip.crypto.sad.algorithms(spi), self.routing.is_local_packed)
        self.ip = IPStack(self.name, self.seed, self.clock, config, interfaces=self.interfaces, routing=self.routing,
                          local=self.local, adapters=PacedAdapters(self.cpu, self.links.adapters),
                          console=self.console, debugs=self.debugs, rng=self.rng)
        self.local.connect(self.ip)   # replies and ICMP errors leave through the pipeline
        self.logins = LoginWatch(self)
        self.tcp = TcpHost(self)
        self.local.tcp_listener = self.tcp.receive
        self.local.tcp_unreachable = self.tcp.unreachable

    def _monitored(self) -> bool:
        """Whether a vty session shows console messages (``terminal monitor``)."""
        return any(s.monitor and s.line != "console" and not s.closed for s in list(self.sessions))

    def merge_startup(self) -> list[str]:
        """``configure memory``: the startup configuration applied over the running one (a merge, as
        IOS does: commands add to or replace what is running, nothing is removed); the lines refused."""
        shut = {name: i.shutdown for name, i in self.config.interfaces.items()}
        _, errors = load_config(self.startup_config, "startup-config", list(self.platform.interfaces),
                                cfg=self.config)
        for name, iface in self.config.interfaces.items():
            if shut.get(name) != iface.shutdown and name in shut:
                self.links.shutdown_changed(name, not iface.shutdown)
        self.config_applied()
        return [str(e) for e in errors]

    def save_startup(self) -> None:
        """Keep the running configuration as the startup configuration, in IOS's saved form."""
        self.startup_config = render_config(self.config, self.platform.train)

    def startup_differs(self) -> bool:
        """Whether the running configuration has changes not saved (``reload`` then offers to save)."""
        return render_config(self.config, self.platform.train) != self.startup_config

    # ------------------------------------------------------------ reload
    def reload(self, boot_ns: int) -> None:
        """``reload``: every port goes down at once, and the device boots again from its startup
        configuration ``boot_ns`` later (losing its SAs, translations, counters and debugs)."""
        self.log("%SYS-5-RELOAD: Reload requested")
        self.reloading = True
        self.generation += 1
        self.cpu.stop()
        for adapter in self.links.adapters.values():
            adapter.close()
        for binding in (self.ip.nat_binding, self.ip.crypto_binding, self.ip.reassembly_binding):
            binding.close()
        self.tcp.close_all()
        for iface, _ in self._cabling:
            self._admin_changed(iface, False)     # DTR drops: the far end loses carrier
        self.clock.call_later(boot_ns, self._boot_again, component=f"{self.name} reload")

    def _boot_again(self) -> None:
        self.boot_time = self.clock.now
        self._build(self.startup_config, "startup-config")
        if self._load_started:
            self.interfaces.start_sampling(self.now)
        for iface, where in self._cabling:
            if isinstance(where, SerialEnd):
                self.links.attach_serial(iface, where)
            else:
                self.links.attach_ethernet(iface, where)
                self.interfaces.state(iface).carrier = True
        self.reloading = False
        self.console.log(SystemRestarted(self.platform))
        self.boot_links()
        for iface, where in self._cabling:
            if isinstance(where, SerialEnd) and self.interface_enabled(iface):
                self._admin_changed(iface, True)  # DTR up again: carrier if the far end is up too

    # ------------------------------------------------------------ identity and time
    @property
    def hostname(self) -> str:
        return self.config.hostname

    @property
    def now(self) -> int:
        """Lab time, ns."""
        return self.clock.now

    @property
    def uptime(self) -> int:
        """Time since boot, ns."""
        return self.now - self.boot_time

    def processor_board_id(self) -> str:
        digest = hashlib.sha256(f"{self.seed}/{self.name}/board".encode()).digest()
        return f"{int.from_bytes(digest[:4], 'big') % 100000000:08d}"

    def rng(self, purpose: str) -> random.Random:
        """A random stream of this device's own, fixed by the lab seed (and new after each reload:
        cookies, SPIs and magic numbers of a rebooted device are not those it used before)."""
        name = self.name if not self.generation else f"{self.name}#{self.generation}"
        return self.clock.rng(f"{name}/{purpose}")

    # ------------------------------------------------------------ engines of the IP stack
    @property
    def acl(self) -> AclEngine:
        return self.ip.acl

    @property
    def nat(self) -> NatEngine:
        return self.ip.nat

    @property
    def nat_binding(self) -> EngineBinding:
        return self.ip.nat_binding

    @property
    def crypto(self) -> CryptoSubsystem:
        return self.ip.crypto

    @property
    def crypto_binding(self) -> EngineBinding:
        return self.ip.crypto_binding

    @property
    def crypto_trace_renderer(self) -> Callable[[Trace], list[str]] | None:
        """How crypto trace records become debug lines (set by the CLI's debug crypto commands)."""
        return self.ip.crypto_trace_renderer

    @crypto_trace_renderer.setter
    def crypto_trace_renderer(self, renderer: Callable[[Trace], list[str]] | None) -> None:
        self.ip.crypto_trace_renderer = renderer

    # ------------------------------------------------------------ console log
    @property
    def log_buffer(self) -> list[str]:
        """The console log as rendered, oldest line first."""
        return self.console.sink.lines

    def log(self, message: str) -> None:
        """A console message already in IOS words, stamped as ``service timestamps log`` says."""
        self.console.log(Message(message))

    def debug_log(self, message: str) -> None:
        """A debug message already in IOS words, stamped as ``service timestamps debug`` says."""
        self.console.debug(Message(message))

    def ppp_trace(self, iface: str, trace: ControlTraced | LayerOpenTraced | PhaseTraced) -> None:
        if PPP_DEBUG not in self.debugs:
            return
        self.console.debug(PppTraced(iface, trace))
        if isinstance(trace, ControlTraced):
            for typ, value in trace.options:
                self.console.debug(PppOptionTraced(iface, trace.layer, trace.protocol, typ, value))

    # ------------------------------------------------------------ configuration
    def config_context(self) -> ConfigContext:
        return ConfigContext(self.config, set(self.platform.interfaces), on_change=self._config_changed)

    def _config_changed(self, what: str, iface: Interface) -> None:
        if what == "address":
            self.interfaces.readdressed(iface)
            self.links.reconfigured(iface.name)
        elif what == "shutdown":
            self.links.shutdown_changed(iface.name, not iface.shutdown)
        elif what in ("keepalive", "encapsulation"):
            self.links.reconfigured(iface.name)
        elif what == "crypto map" and iface.crypto_map:
            self.log(self.crypto.isakmp_on_message())
        self.invalidate_routes()

    def config_applied(self) -> None:
        """A configuration line was taken: derived state (routes) is recomputed when next needed,
        and the NAT timer follows any new translation timeout."""
        self.invalidate_routes()
        self.nat_binding.poke()

    def apply_extra_config(self, lines: list[str], source: str) -> None:
        """Configuration a lab adds to the device's file (for automation: enable secret, users).

        The lab's operator knows the clear text of a secret it types here, which the device
        keeps only hashed: ``operator_secrets`` holds it for tools such as the served lab's inventory.
        """
        _, errors = load_config("\n".join(lines), source, list(self.platform.interfaces), cfg=self.config)
        self.boot_errors += errors
        for line in lines:
            words = line.split()
            if words[:2] == ["enable", "secret"] and len(words) in (3, 4) and (len(words) == 3 or words[2] == "0"):
                self.operator_secrets["enable"] = words[-1]
        self.save_startup()     # the lab's additions are part of the device's saved configuration

    # ------------------------------------------------------------ interfaces
    def interface_state(self, name: str) -> InterfaceState:
        return self.interfaces.state(name)

    def interface_config(self, name: str) -> Interface:
        return self.config.interfaces[name]

    def interface_address(self, name: str) -> IPv4Interface | None:
        """The primary address in use: configured, or learnt through IPCP (a /32)."""
        return self.interfaces.address(name)

    def interface_enabled(self, name: str) -> bool:
        return not self.reloading and self.interfaces.enabled(name)

    def link_status(self, name: str) -> LinkStatus:
        return self.interfaces.link_status(name)

    def link_active(self, name: str) -> bool:
        return self.interfaces.link_status(name) is LinkStatus.UP

    def protocol_up(self, name: str) -> bool:
        return self.interfaces.protocol_up(name)

    def start_load_sampling(self) -> None:
        """Keep the 5-minute rates of ``show interfaces`` on the lab clock (samples taken as they are
        needed: ``InterfaceTable.catch_up``)."""
        self._load_started = True
        self.interfaces.start_sampling(self.now)

    def clear_counters(self, name: str | None = None) -> None:
        self.interfaces.clear_counters(name, self.now)

    # ------------------------------------------------------------ links (LinkEvents)
    @property
    def adapters(self) -> dict[str, LinkAdapter]:
        return self.links.adapters

    def cabled(self, iface: str) -> bool:
        """Whether the lab put a wire on the port."""
        return any(name == iface for name, _ in self._cabling)

    def attach_serial(self, iface: str, end: SerialEnd) -> None:
        """Cable a serial port; its encapsulation picks PPP or Cisco HDLC."""
        self._cabling.append((iface, end))
        self.links.attach_serial(iface, end)

    def attach_ethernet(self, iface: str, segment: EthernetSegment) -> None:
        self._cabling.append((iface, segment))
        self.links.attach_ethernet(iface, segment)

    def boot_links(self) -> None:
        """Bring up every attached interface that is not shut down (the end of booting)."""
        if any(i.crypto_map for i in self.config.interfaces.values()):
            self.log(self.crypto.isakmp_on_message())
        self.links.boot()

    def carrier_changed(self, iface: str, up: bool) -> None:
        self.links.carrier_changed(iface, up)

    def line_protocol_changed(self, iface: str, up: bool) -> None:
        self.links.line_protocol_changed(iface, up)

    def ipcp_opened(self, iface: str, local: IPv4Address | None, peer: IPv4Address | None) -> None:
        self.links.ipcp_opened(iface, local, peer)
        if local is not None and self.config.interfaces[iface].negotiated:
            # SAs bound to an address the interface had before are dead now.
            self.crypto.interface_address_changed(iface, self.now)
            self.crypto_binding.poke()

    def ipcp_closed(self, iface: str) -> None:
        self.links.ipcp_closed(iface)

    def assign_peer_address(self, iface: str) -> IPv4Address | None:
        return self.pools.assign(iface)

    def release_peer_address(self, iface: str, address: IPv4Address) -> None:
        self.pools.release(iface, address)

    def receive_ip(self, iface: str, data: bytes) -> None:
        """A packet from a link adapter: to the IP stack once the processor has done its work on it."""
        self.cpu.run(self.cpu.received_cost(data), self.ip.receive_ip, iface, data)

    def _admin_changed(self, iface: str, up: bool) -> None:
        for listener in self.admin_listeners:
            listener(self, iface, up)

    # ------------------------------------------------------------ routing
    def invalidate_routes(self) -> None:
        """Addresses or link states changed: derived tables are rebuilt when next needed."""
        self.routing.invalidate()
        self.interfaces.forget_addresses()

    def routing_table(self) -> RoutingTable:
        return self.routing.table()

    def route_for(self, dst: IPv4Address) -> tuple[str, IPv4Address | None] | None:
        """(outgoing interface, next hop) for a destination, or None."""
        return self.routing.route_for(dst)

    def local_addresses(self) -> dict[IPv4Address, str]:
        return self.routing.local_addresses()

    def is_local(self, address: IPv4Address) -> bool:
        return self.routing.is_local(address)

    def is_broadcast(self, address: IPv4Address) -> bool:
        return self.routing.is_broadcast(address)

    def source_address_for(self, iface: str) -> IPv4Address | None:
        return self.routing.source_address_for(iface)

    # ------------------------------------------------------------ packets
    def send_packet(self, packet: IPv4Packet) -> bool:
        """Send a packet the device originates (ping, IKE): routing, crypto map, out."""
        return self.ip.send_packet(packet)

    def next_ip_id(self) -> int:
        return self.ip.next_ip_id()

    @property
    def ip_drops(self) -> dict[str, int]:
        return self.ip.ip_drops

    @property
    def echo_listeners(self) -> dict[int, EchoListener]:
        return self.local.echo_listeners

    @property
    def udp_listeners(self) -> dict[int, UdpListener]:
        return self.local.udp_listeners

    def next_echo_identifier(self) -> int:
        """Echo identifiers: one per ping command, starting where the lab seed puts them."""
        return self.local.next_echo_identifier()
