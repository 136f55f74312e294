"""The device's TCP: its engine on the lab clock, the services on its ports and its open connections.

A service (the telnet server on port 23) is registered once for every device
with ``register_service``; a SYN to its port opens a connection when the
service ``admits`` it on this device (a free vty line, ``transport input``),
else it is answered with a RST like a closed port. Each connection has a
``TcpHandler`` that hears what happens to it. Segments leave through the IP
pipeline as the device's own packets (routing, NAT, the crypto map), with
IOS's MSS: the interface MTU less 40 to a connected destination, 536 beyond.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any, Callable, Protocol

from emulator.engines.tcp import DEFAULT_MSS, Closed, Opened, PeerClosed, Received, Tcb, TcpEngine, TcpOut
from emulator.sim.binding import EngineBinding
from emulator.wire.errors import DecodeError
from emulator.wire.ipv4 import PROTO_TCP, IPv4Packet
from emulator.wire.tcp import TCPSegment

__all__ = ["TcpHandler", "TcpService", "TcpHost", "register_service", "SERVICES"]

TCP_TTL = 255


class TcpHandler(Protocol):
    """What a connection's owner hears."""

    def opened(self) -> None: ...

    def received(self, data: bytes) -> None: ...

    def peer_closed(self) -> None: ...

    def closed(self, reason: str) -> None: ...


@dataclass(frozen=True)
class TcpService:
    """A server on a port: ``admits(device)`` decides at the SYN, ``start(device, conn)`` gives the
    handler of a connection once it is open."""

    admits: Callable[[Any], bool]
    start: Callable[[Any, "Connection"], TcpHandler]


SERVICES: dict[int, TcpService] = {}


def register_service(port: int, service: TcpService) -> None:
    SERVICES[port] = service


@dataclass
class Connection:
    """One connection as its owner uses it."""

    host: "TcpHost"
    conn: int
    local: tuple[IPv4Address, int]
    remote: tuple[IPv4Address, int]

    def send(self, data: bytes) -> None:
        self.host.send(self.conn, data)

    def close(self) -> None:
        self.host.close(self.conn)

    def abort(self) -> None:
        self.host.abort(self.conn)

    @property
    def tcb(self) -> Tcb | None:
        return self.host.engine.tcb(self.conn)


class TcpHost:
    """One device's TCP (``device`` is the router: its clock, routes, pipeline and rng)."""

    def __init__(self, device: Any):
        self.device = device
        self.engine = TcpEngine(device.rng("tcp"), self._accepts, mss_for=self._mss_for,
                                first_port=11000 + device.rng("tcp-port").randrange(0, 1000))
        self.binding = EngineBinding(device.clock, self.engine, transmit=self._transmit, on_event=self._event,
                                     name=f"{device.name} tcp")
        self.handlers: dict[int, TcpHandler] = {}
        self.connections: dict[int, Connection] = {}
        self.bad_segments = 0

    # ------------------------------------------------ the owner's side
    def open(self, dst: IPv4Address, port: int, handler: TcpHandler) -> Connection | None:
        """Connect to ``dst``:``port``; None when there is no route (nothing is sent)."""
        hop = self.device.route_for(dst)
        src = self.device.source_address_for(hop[0]) if hop is not None else None
        if src is None:
            return None
        conn = self.engine.connect(self.device.now, src, dst, port)
        tcb = self.engine.tcb(conn)
        assert tcb is not None, "a connection just opened is in the table"
        connection = Connection(self, conn, tcb.local, tcb.remote)
        self.handlers[conn] = handler
        self.connections[conn] = connection
        self.binding.poke()
        return connection

    def send(self, conn: int, data: bytes) -> None:
        self.engine.send(self.device.now, conn, data)
        self.binding.poke()

    def close(self, conn: int) -> None:
        self.engine.close(self.device.now, conn)
        self.binding.poke()

    def abort(self, conn: int) -> None:
        self.engine.abort(self.device.now, conn)
        self.binding.poke()

    # ------------------------------------------------ packets
    def receive(self, iface: str, packet: IPv4Packet) -> None:
        """A TCP packet for the device (local delivery's dispatch)."""
        try:
            seg = TCPSegment.decode(packet.payload, packet.src, packet.dst)
        except DecodeError:
            self.bad_segments += 1
            return
        self.engine.segment_in(self.device.now, packet.src, packet.dst, seg)
        self.binding.poke()

    def unreachable(self, quoted: IPv4Packet) -> None:
        """An ICMP destination unreachable quoting one of our segments (its first 8 bytes: the ports)."""
        head = quoted.payload[:4]
        if len(head) < 4:
            return
        key = (quoted.src, int.from_bytes(head[:2], "big"), quoted.dst, int.from_bytes(head[2:4], "big"))
        self.engine.unreachable(self.device.now, key)
        self.binding.poke()

    def _transmit(self, out: TcpOut) -> None:
        payload = out.segment.encode(out.src, out.dst)
        self.device.send_packet(IPv4Packet(out.src, out.dst, PROTO_TCP, payload, ttl=TCP_TTL,
                                           identification=self.device.next_ip_id()))

    def _accepts(self, port: int) -> bool:
        service = SERVICES.get(port)
        return service is not None and service.admits(self.device)

    def _mss_for(self, remote: IPv4Address) -> int:
        """IOS's MSS: the IP MTU less 40 on a connected network, 536 through a gateway."""
        hop = self.device.route_for(remote)
        if hop is None or hop[1] is not None:
            return DEFAULT_MSS
        address = self.device.interface_address(hop[0])
        if address is None or address.network.prefixlen == 32 or remote not in address.network:
            return DEFAULT_MSS
        mtu: int = self.device.ip.ip_mtu(hop[0])
        return mtu - 40

    def _event(self, event: Opened | Received | PeerClosed | Closed) -> None:
        conn = event.conn
        if isinstance(event, Opened) and event.passive:
            tcb = self.engine.tcb(conn)
            service = SERVICES.get(tcb.local[1]) if tcb is not None else None
            if tcb is None or service is None:
                self.engine.abort(self.device.now, conn)
                return
            connection = Connection(self, conn, tcb.local, tcb.remote)
            self.connections[conn] = connection
            self.handlers[conn] = service.start(self.device, connection)
            return
        handler = self.handlers.get(conn)
        if handler is None:
            return
        if isinstance(event, Opened):
            handler.opened()
        elif isinstance(event, Received):
            handler.received(event.data)
        elif isinstance(event, PeerClosed):
            handler.peer_closed()
        else:
            del self.handlers[conn]
            self.connections.pop(conn, None)
            handler.closed(event.reason)

    def close_all(self) -> None:
        """The device reloads: its connections end without a word on the wire, its timer stops."""
        for handler in list(self.handlers.values()):
            handler.closed("reload")
        self.handlers.clear()
        self.connections.clear()
        self.binding.close()
