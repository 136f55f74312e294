"""External ports: an emulated device's port cabled to something real.

Each kind of port sits at the far end of a simulated wire (a ``SerialLink``
or an ``EthernetSegment``) whose near end is the device's port, so frames
keep their serialisation timing, the captures see them and the device cannot
tell the difference:

- ``UdpWire``: a UDP pseudo-wire as Dynamips and GNS3 cable their routers
  ("UDP NIO"): one layer-2 frame per datagram, sent to the remote UDP port,
  taken from it. Serial frames travel as captured (no flags, no FCS: the FCS
  is added on the way in and checked by the port); Ethernet frames whole.
- ``TapPort``: an Ethernet port on a Linux TAP device; Linux shares the segment.
- ``TunPort``: a serial port on a Linux TUN device. The emulator plays the far
  end's layer 2 with its own link adapters (PPP with LCP/IPCP, or Cisco HDLC
  with SLARP keepalives, whichever the port's encapsulation is), so Linux
  sees plain IP packets.

A TUN or TAP device may be moved into a named network namespace (created if
missing, removed again at ``close`` if it was created here) and given an
address there; ``ip`` (iproute2) does both.

The ports do no I/O on their own: the real-time runner waits on their
``fileno()`` and calls ``service()`` with the lab lock held, which reads what
is there (a bounded number of frames) and hands it to the wire at lab time now.
A frame that cannot be sent (a full socket buffer, a TUN down) is counted in
``dropped``, never raised.
"""

from __future__ import annotations

import errno
import fcntl
import ipaddress
import logging
import os
import random
import socket
import struct
import subprocess
from pathlib import Path

from emulator.config.model import Interface
from emulator.device.adapters import HDLCAdapter, PPPAdapter, SerialAdapter
from emulator.device.interfaces import InterfaceState
from emulator.engines.ppp import ControlTraced, LayerOpenTraced, PhaseTraced
from emulator.lab.external_spec import ExternalSpec
from emulator.sim.clock import Simulator
from emulator.sim.wires import EthernetSegment, SerialEnd
from emulator.wire.ppp import fcs16

__all__ = ["ExternalPort", "ExternalPortError", "UdpWire", "TunPort", "TapPort", "open_external"]

log = logging.getLogger(__name__)

SERVICE_FRAMES = 64           # frames one service() call takes at most (the rest wait for the next)
MAX_FRAME = 65535
TUN_DEVICE = "/dev/net/tun"
_TUNSETIFF = 0x400454CA
_IFF_TUN, _IFF_TAP, _IFF_NO_PI = 0x0001, 0x0002, 0x1000


class ExternalPortError(Exception):
    """An external port that cannot be opened, and why."""


class ExternalPort:
    """What the runner sees of an external port."""

    def __init__(self, spec: ExternalSpec, fd: int):
        self.spec = spec
        self.fd = fd
        self.rx_frames = self.tx_frames = self.dropped = 0

    def fileno(self) -> int:
        return self.fd

    def describe(self) -> str:
        return f"{self.spec.port} on {self.spec.describe()}"

    def _read(self) -> bytes | None:
        """One frame if one is waiting, else None."""
        try:
            return os.read(self.fd, MAX_FRAME)
        except (BlockingIOError, InterruptedError):
            return None

    def _write(self, data: bytes) -> None:
        try:
            os.write(self.fd, data)
            self.tx_frames += 1
        except OSError:               # full buffer, interface down: the frame is lost, as on a wire
            self.dropped += 1

    def service(self, budget: int = SERVICE_FRAMES) -> int:
        """Take up to ``budget`` waiting frames into the lab; how many were taken."""
        taken = 0
        while taken < budget:
            try:
                data = self._read()
            except OSError as err:
                log.warning("%s: read failed: %s", self.describe(), err.strerror)
                return taken
            if data is None:
                break
            taken += 1
            if data:                  # b"": a datagram from a stranger, counted by the port
                self.rx_frames += 1
                self.inject(data)
        return taken

    def drain(self, budget: int = SERVICE_FRAMES) -> None:
        """Read up to ``budget`` waiting frames and drop them (the lab cannot take them)."""
        for _ in range(budget):
            try:
                if self._read() is None:
                    return
            except OSError:
                return
            self.dropped += 1

    def inject(self, data: bytes) -> None:
        raise NotImplementedError

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


# ---------------------------------------------------------------- UDP pseudo-wire

class UdpWire(ExternalPort):
    """A UDP NIO: frames to ``remote``, frames from it (datagrams from anywhere else are dropped)."""

    def __init__(self, spec: ExternalSpec, *, serial: SerialEnd | None = None,
                 segment: EthernetSegment | None = None):
        assert spec.local is not None and spec.remote is not None
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            sock.bind(spec.local)
        except OSError as err:
            sock.close()
            why = "in use" if err.errno == errno.EADDRINUSE else err.strerror
            raise ExternalPortError(f"cannot bind UDP {spec.local[0]}:{spec.local[1]} ({why})") from None
        sock.setblocking(False)
        self.sock = sock
        super().__init__(spec, sock.fileno())
        self.remote = (socket.gethostbyname(spec.remote[0]), spec.remote[1])
        self.foreign = 0                      # datagrams from another address than the remote's
        self.serial = serial
        self.eport = None
        if serial is not None:
            serial.receiver = self._out_serial
        if segment is not None:
            self.eport = segment.attach(self._out, name=f"external {spec.describe()}")

    @property
    def local_port(self) -> int:
        return int(self.sock.getsockname()[1])

    def _read(self) -> bytes | None:
        try:
            data, source = self.sock.recvfrom(MAX_FRAME)
        except (BlockingIOError, InterruptedError):
            return None
        if source != self.remote:
            self.foreign += 1
            return b""
        return data

    def inject(self, data: bytes) -> None:
        if self.serial is not None:
            self.serial.send(data + fcs16(data).to_bytes(2, "little"))
        elif self.eport is not None:
            self.eport.send(data)

    def _out_serial(self, frame: bytes) -> None:
        self._out(frame[:-2])

    def _out(self, frame: bytes) -> None:
        try:
            self.sock.sendto(frame, self.remote)
            self.tx_frames += 1
        except OSError:
            self.dropped += 1

    def close(self) -> None:
        if self.fd >= 0:
            self.sock.close()
            self.fd = -1


# ---------------------------------------------------------------- TUN and TAP

def _ip(*args: str) -> None:
    """Run ``ip ARGS``; its complaint as an ExternalPortError."""
    try:
        done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=10, check=False)
    except FileNotFoundError:
        raise ExternalPortError("the 'ip' command (iproute2) is not installed") from None
    except subprocess.TimeoutExpired:
        raise ExternalPortError(f"'ip {' '.join(args)}' did not finish within 10 s") from None
    if done.returncode != 0:
        raise ExternalPortError(f"'ip {' '.join(args)}' failed: {done.stderr.strip() or done.returncode}")


def _open_tun(name: str, flags: int) -> int:
    kind = "TAP" if flags & _IFF_TAP else "TUN"
    try:
        fd = os.open(TUN_DEVICE, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ExternalPortError(f"{TUN_DEVICE} does not exist (no TUN/TAP support here)") from None
    except PermissionError:
        raise ExternalPortError(f"cannot open {TUN_DEVICE}: permission denied (needs root or CAP_NET_ADMIN)") from None
    except OSError as err:
        raise ExternalPortError(f"cannot open {TUN_DEVICE} ({err.strerror})") from None
    try:
        fcntl.ioctl(fd, _TUNSETIFF, struct.pack("16sH", name.encode(), flags | _IFF_NO_PI))
    except OSError as err:
        os.close(fd)
        if err.errno == errno.EPERM:
            raise ExternalPortError(f"cannot create {kind} device {name}: operation not permitted "
                                    "(needs CAP_NET_ADMIN)") from None
        if err.errno == errno.EBUSY:
            raise ExternalPortError(f"{kind} device {name} is busy (another process has it open)") from None
        if err.errno == errno.EINVAL:
            raise ExternalPortError(f"cannot create {kind} device {name}: "
                                    "a network device of another kind has that name") from None
        raise ExternalPortError(f"cannot create {kind} device {name} ({err.strerror})") from None
    return fd


def _netns_exists(name: str) -> bool:
    return Path("/run/netns", name).exists()


class _LinuxDevice(ExternalPort):
    """A TUN or TAP device: created, moved into its namespace, addressed and brought up."""

    FLAGS = 0

    def __init__(self, spec: ExternalSpec):
        assert spec.ifname is not None
        self.created_netns = False
        fd = _open_tun(spec.ifname, self.FLAGS)
        super().__init__(spec, fd)
        try:
            self._configure()
        except ExternalPortError:
            self.close()
            raise

    def _configure(self) -> None:
        spec = self.spec
        assert spec.ifname is not None
        where: list[str] = []
        if spec.netns:
            if not _netns_exists(spec.netns):
                _ip("netns", "add", spec.netns)
                self.created_netns = True
            _ip("link", "set", "dev", spec.ifname, "netns", spec.netns)
            where = ["-n", spec.netns]
            _ip(*where, "link", "set", "dev", "lo", "up")
        if spec.address is not None:
            _ip(*where, "addr", "add", str(spec.address), "dev", spec.ifname)
        _ip(*where, "link", "set", "dev", spec.ifname, "mtu", "1500", "up")

    def close(self) -> None:
        super().close()
        if self.created_netns and self.spec.netns:
            self.created_netns = False
            subprocess.run(["ip", "netns", "del", self.spec.netns], capture_output=True, timeout=10, check=False)


class TapPort(_LinuxDevice):
    """An Ethernet port on a TAP device: whole Ethernet frames both ways."""

    FLAGS = _IFF_TAP

    def __init__(self, spec: ExternalSpec, segment: EthernetSegment):
        super().__init__(spec)
        self.eport = segment.attach(self._write, name=f"external {spec.describe()}")

    def inject(self, data: bytes) -> None:
        self.eport.send(data)


class _FarEndInterfaces:
    """The one interface of a far end the emulator plays: its table for the link adapter, its events."""

    def __init__(self, name: str, config: Interface, seed: int, deliver, peer_address: ipaddress.IPv4Address | None):
        self.name = name
        self.config = config
        self.st = InterfaceState(config.name)
        self.seed = seed
        self.deliver = deliver
        self.peer_address = peer_address
        self.negotiated: ipaddress.IPv4Address | None = None
        self.adapter: SerialAdapter | None = None

    # AdapterInterfaces
    def interface_config(self, name: str) -> Interface:
        return self.config

    def state(self, name: str) -> InterfaceState:
        return self.st

    def address(self, name: str) -> ipaddress.IPv4Interface | None:
        if self.config.address is None:
            return None
        return ipaddress.IPv4Interface(f"{self.config.address}/{self.config.mask}")

    def enabled(self, name: str) -> bool:
        return True

    def link_active(self, name: str) -> bool:
        return self.st.carrier

    def catch_up(self, now: int) -> None:
        """The played far end shows no interface rates, so it samples no load."""

    # LinkEvents
    def rng(self, purpose: str) -> random.Random:
        return random.Random(f"{self.seed}/{self.name}/{purpose}")

    def carrier_changed(self, iface: str, up: bool) -> None:
        if up != self.st.carrier:
            self.st.carrier = up
            if self.adapter is not None:
                self.adapter.carrier(up)

    def line_protocol_changed(self, iface: str, up: bool) -> None:
        self.st.line_protocol = up

    def receive_ip(self, iface: str, data: bytes) -> None:
        self.deliver(data)

    def ipcp_opened(self, iface: str, local: ipaddress.IPv4Address | None,
                    peer: ipaddress.IPv4Address | None) -> None:
        self.negotiated = peer

    def ipcp_closed(self, iface: str) -> None:
        self.negotiated = None

    def assign_peer_address(self, iface: str) -> ipaddress.IPv4Address | None:
        return self.peer_address

    def release_peer_address(self, iface: str, address: ipaddress.IPv4Address) -> None:
        pass

    def ppp_trace(self, iface: str, trace: ControlTraced | LayerOpenTraced | PhaseTraced) -> None:
        pass


class TunPort(_LinuxDevice):
    """A serial port on a TUN device, the emulator playing the far end's PPP or Cisco HDLC."""

    FLAGS = _IFF_TUN

    def __init__(self, spec: ExternalSpec, sim: Simulator, end: SerialEnd, port_config: Interface, seed: int):
        super().__init__(spec)
        linux = spec.address.ip if spec.address is not None else None
        mask = spec.address.netmask if spec.address is not None else None
        config = Interface(f"{spec.ifname}", address=linux, mask=mask, encapsulation=port_config.encapsulation,
                           keepalive=port_config.keepalive)
        self.far = _FarEndInterfaces(f"external {spec.ifname}", config, seed, self._write, spec.peer_address)
        self.far.st.carrier = end.up
        kind = PPPAdapter if port_config.encapsulation == "ppp" else HDLCAdapter
        self.adapter: SerialAdapter = kind(self.far, self.far, config.name, sim, end)
        self.far.adapter = self.adapter

    def start(self) -> None:
        """The far end comes up with the lab (its PPP opens, its keepalives start)."""
        self.adapter.admin(True)
        if self.far.st.carrier:
            self.adapter.carrier(True)

    def inject(self, data: bytes) -> None:
        if not self.adapter.protocol_up or not self.adapter.send_ip(data, None):
            self.dropped += 1


def open_external(spec: ExternalSpec, sim: Simulator, *, serial: SerialEnd | None = None,
                  segment: EthernetSegment | None = None, port_config: Interface | None = None,
                  seed: int = 0) -> ExternalPort:
    """Open the port ``spec`` describes, at the far end of ``serial`` or on ``segment``."""
    if spec.kind == "udp":
        return UdpWire(spec, serial=serial, segment=segment)
    if spec.kind == "tap":
        assert segment is not None
        return TapPort(spec, segment)
    assert serial is not None and port_config is not None
    return TunPort(spec, sim, serial, port_config, seed)
