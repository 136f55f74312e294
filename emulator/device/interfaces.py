"""A device's interfaces: what each is doing now, beside what its configuration says.

``InterfaceTable`` keeps each interface's state (carrier, line protocol, the
address IPCP gave it, its PPP state, counters and load), answers for the
address in use (cached until ``forget_addresses``), the link status and
whether the line protocol is up.
"""

from __future__ import annotations

import enum
import hashlib
import math
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Interface

from emulator.config.model import DeviceConfig, Interface
from emulator.engines.ppp import State as PPPState
from emulator.labtime import SECOND

__all__ = ["AddressMethod", "LinkStatus", "Counters", "InterfaceState", "InterfaceTable", "LOAD_INTERVAL"]


class AddressMethod(enum.Enum):
    """How the interface got its address (``show ip interface brief``'s Method column)."""

    NVRAM = enum.auto()     # from the startup configuration
    MANUAL = enum.auto()    # configured since boot
    IPCP = enum.auto()      # ip address negotiated
    UNSET = enum.auto()


class LinkStatus(enum.Enum):
    UP = enum.auto()
    DOWN = enum.auto()
    ADMIN_DOWN = enum.auto()   # shut down


@dataclass
class Counters:
    packets_in: int = 0
    bytes_in: int = 0
    packets_out: int = 0
    bytes_out: int = 0
    broadcasts_in: int = 0
    input_errors: int = 0
    crc: int = 0
    runts: int = 0
    giants: int = 0
    output_errors: int = 0
    output_drops: int = 0
    input_drops: int = 0
    resets: int = 0
    carrier_transitions: int = 0
    last_input: int | None = None     # lab time (ns)
    last_output: int | None = None
    cleared: int | None = None
    # "5 minute input/output rate": exponentially decayed averages, sampled every LOAD_INTERVAL.
    in_bps: float = 0.0
    in_pps: float = 0.0
    out_bps: float = 0.0
    out_pps: float = 0.0
    sampled: tuple[int, int, int, int] = (0, 0, 0, 0)


LOAD_SECONDS = 5                              # IOS samples interface load every 5 seconds
LOAD_INTERVAL = LOAD_SECONDS * SECOND
LOAD_DECAY = math.exp(-LOAD_SECONDS / 300)    # ... into a 5-minute exponentially weighted average


@dataclass
class InterfaceState:
    """What an interface is doing now, beside what its configuration says."""

    name: str
    mac: bytes = b""
    carrier: bool = False          # cabled to a port that is not shut down
    line_protocol: bool = False    # set by the link layer (keepalives, LCP)
    negotiated: IPv4Address | None = None  # address learnt through IPCP
    address_method: AddressMethod = AddressMethod.UNSET
    lcp_state: PPPState | None = None      # PPP: the LCP automaton's state
    open_ncps: tuple[str, ...] = ()
    peer_address: IPv4Address | None = None  # the far end's address, from IPCP
    last_input_error: str | None = None
    counters: Counters = field(default_factory=Counters)


class InterfaceTable:
    """The state of every interface of one device, and the addresses in use."""

    def __init__(self, device: str, seed: int, config: DeviceConfig):
        self._device = device
        self._seed = seed
        self.config = config
        self.states: dict[str, InterfaceState] = {}
        self._addresses: dict[str, IPv4Interface | None] = {}
        self.next_sample = 1 << 62    # no load sampling until the device starts it
        for iface in config.interfaces.values():
            st = self.state(iface.name)
            if iface.address is not None or iface.stated:
                st.address_method = AddressMethod.NVRAM
            if iface.negotiated:
                st.address_method = AddressMethod.IPCP

    def state(self, name: str) -> InterfaceState:
        try:
            return self.states[name]
        except KeyError:
            digest = hashlib.sha256(f"{self._seed}/{self._device}/{name}".encode()).digest()
            # Cisco's OUI 00:00:0C, the rest fixed by the lab seed and the port.
            st = self.states[name] = InterfaceState(name, mac=b"\x00\x00\x0c" + digest[:3])
            return st

    def interface_config(self, name: str) -> Interface:
        return self.config.interfaces[name]

    def readdressed(self, iface: Interface) -> None:
        """The interface's ``ip address`` changed."""
        st = self.state(iface.name)
        if iface.negotiated:
            st.address_method = AddressMethod.IPCP
        else:
            st.address_method = AddressMethod.MANUAL if iface.address else AddressMethod.UNSET
            st.negotiated = None

    # ------------------------------------------------------------ addresses
    def address(self, name: str) -> IPv4Interface | None:
        """The primary address in use: configured, or learnt through IPCP (a /32)."""
        try:
            return self._addresses[name]
        except KeyError:
            value = self._addresses[name] = self._address(name)
            return value

    def _address(self, name: str) -> IPv4Interface | None:
        iface = self.config.interfaces.get(name)
        if iface is None:
            return None
        if iface.negotiated:
            st = self.states.get(name)
            return IPv4Interface(f"{st.negotiated}/32") if st and st.negotiated else None
        if iface.address is None:
            return None
        return IPv4Interface(f"{iface.address}/{iface.mask}")

    def forget_addresses(self) -> None:
        self._addresses.clear()

    def peer_address(self, name: str) -> IPv4Address | None:
        st = self.states.get(name)
        return st.peer_address if st else None

    # ------------------------------------------------------------ status
    def enabled(self, name: str) -> bool:
        cfg = self.config.interfaces.get(name)
        return cfg is not None and not cfg.shutdown

    def link_status(self, name: str) -> LinkStatus:
        if self.config.interfaces[name].shutdown:
            return LinkStatus.ADMIN_DOWN
        return LinkStatus.UP if self.state(name).carrier else LinkStatus.DOWN

    def link_active(self, name: str) -> bool:
        """Carrier up and not shut down."""
        return self.link_status(name) is LinkStatus.UP

    def protocol_up(self, name: str) -> bool:
        # link_status(name) is UP, and the line protocol: asked per packet sent, so read in place.
        if self.config.interfaces[name].shutdown:
            return False
        st = self.state(name)
        if not st.carrier:
            return False
        return st.line_protocol

    # ------------------------------------------------------------ counters
    def start_sampling(self, now: int) -> None:
        """Sample the load every LOAD_INTERVAL from ``now`` on (IOS's 5-second load timer)."""
        self.next_sample = now + LOAD_INTERVAL

    def catch_up(self, now: int) -> None:
        """Take the load samples due by ``now``.

        Samples are taken when they are needed, not by a timer: before a counter
        changes and before the rates are read.  Between two such moments the
        counters do not move, so every sample after the first of a gap only decays
        the averages, and an idle interface whose averages are zero costs nothing.
        The figures are those a timer every 5 seconds would give."""
        if now < self.next_sample:
            return
        due = (now - self.next_sample) // LOAD_INTERVAL + 1
        self.next_sample += due * LOAD_INTERVAL
        for st in self.states.values():
            c = st.counters
            current = (c.bytes_in, c.packets_in, c.bytes_out, c.packets_out)
            if current != c.sampled:
                d = [max(0, a - b) for a, b in zip(current, c.sampled, strict=True)]
                c.sampled = current
            elif not (c.in_bps or c.in_pps or c.out_bps or c.out_pps):
                continue
            else:
                d = [0, 0, 0, 0]
            for _ in range(due):
                c.in_bps = c.in_bps * LOAD_DECAY + d[0] * 8 / LOAD_SECONDS * (1 - LOAD_DECAY)
                c.in_pps = c.in_pps * LOAD_DECAY + d[1] / LOAD_SECONDS * (1 - LOAD_DECAY)
                c.out_bps = c.out_bps * LOAD_DECAY + d[2] * 8 / LOAD_SECONDS * (1 - LOAD_DECAY)
                c.out_pps = c.out_pps * LOAD_DECAY + d[3] / LOAD_SECONDS * (1 - LOAD_DECAY)
                if not (c.in_bps or c.in_pps or c.out_bps or c.out_pps):
                    break
                d = [0, 0, 0, 0]

    def clear_counters(self, name: str | None, now: int) -> None:
        self.catch_up(now)
        for iface, st in self.states.items():
            if name is None or iface == name:
                st.counters = Counters(cleared=now)
