"""IP access lists and route-maps: compiled matching and match counters.

An :class:`AclEngine` reads the access lists and route-maps of the current
configuration (a ``DeviceConfig`` or a callable returning one), compiles each
list on first use into integer address/mask pairs, and recompiles it when the
list's entries change.  Everything is sans-I/O and deterministic.

Undefined lists (``evaluate(..., undefined=...)``):

* applied as an interface filter an undefined list permits everything: "If you
  apply an access list that has not yet been defined to an interface, the
  interface will accept (permit) all packets" (Cisco IOS 12.2 Security
  Configuration Guide, "Access Control Lists: Overview and Guidelines").
  Callers filtering interfaces pass ``undefined=UNDEFINED_FILTER``.
* for NAT, crypto and route-map matching an undefined list matches nothing
  (the default, ``UNDEFINED_MATCH``).  No IOS source settles this; matching
  nothing is the fail-safe reading: a NAT or crypto selector that matched
  everything would translate or encrypt traffic the configuration never named.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Callable, NamedTuple

from emulator.config.acl_syntax import PROTOCOLS
from emulator.config.model import AccessList, AccessListEntry, AddressMatch, DeviceConfig, PortMatch
from emulator.wire.errors import DecodeError
from emulator.wire.flow import IPv4Flow, read_flow
from emulator.wire.tcp import ACK, RST

__all__ = [
    "Flow", "AclEngine", "CompiledAcl", "route_map_permits",
    "PERMIT", "DENY", "UNDEFINED_FILTER", "UNDEFINED_MATCH", "ICMP_MESSAGES",
]

PERMIT = "permit"
DENY = "deny"
UNDEFINED_FILTER = PERMIT   # interface filters: an undefined list permits all
UNDEFINED_MATCH = DENY      # NAT / crypto / route-map: an undefined list matches nothing

# ICMP message keywords of extended lists: keyword -> (type, code or None for any code).
# Names from the IOS "access-list (IP extended)" command reference; numbers RFC 792 / RFC 1812.
ICMP_MESSAGES: dict[str, tuple[int, int | None]] = {
    "echo-reply": (0, None), "unreachable": (3, None), "net-unreachable": (3, 0),
    "host-unreachable": (3, 1), "protocol-unreachable": (3, 2), "port-unreachable": (3, 3),
    "packet-too-big": (3, 4), "source-route-failed": (3, 5), "administratively-prohibited": (3, 13),
    "source-quench": (4, None), "redirect": (5, None), "echo": (8, None),
    "router-advertisement": (9, None), "router-solicitation": (10, None),
    "time-exceeded": (11, None), "ttl-exceeded": (11, 0), "reassembly-timeout": (11, 1),
    "parameter-problem": (12, None), "timestamp-request": (13, None), "timestamp-reply": (14, None),
    "information-request": (15, None), "information-reply": (16, None),
    "mask-request": (17, None), "mask-reply": (18, None),
}

_ALL = 0xFFFFFFFF
_new = tuple.__new__      # builds a Flow from the tuple of its fields, without NamedTuple's own __new__


class Flow(NamedTuple):
    """The fields of one IPv4 packet an access list looks at.

    Addresses are integers.  ``sport``/``dport`` are None when the packet has
    no ports (not TCP/UDP, or a non-initial fragment).  ``fragment`` marks a
    non-initial fragment (offset != 0), which carries no layer-4 header.
    A named tuple: one is made for every packet a crypto map or ACL judges.
    """

    protocol: int
    src: int
    dst: int
    sport: int | None = None
    dport: int | None = None
    icmp_type: int | None = None
    tcp_flags: int | None = None
    icmp_code: int | None = None
    fragment: bool = False

    @classmethod
    def of(cls, flow: IPv4Flow) -> Flow:
        """The fields of a flow read by :func:`emulator.wire.flow.read_flow`."""
        return _new(cls, (flow.protocol, int.from_bytes(flow.src, "big"), int.from_bytes(flow.dst, "big"),
                          flow.sport, flow.dport, flow.icmp_type, flow.tcp_flags, flow.icmp_code,
                          flow.fragment_offset != 0))

    @classmethod
    def parse(cls, packet: bytes) -> tuple[Flow | None, str]:
        """Read an IPv4 datagram's flow: ``(flow, "")`` or ``(None, reason)``."""
        try:
            return cls.of(read_flow(packet)), ""
        except DecodeError as err:
            return None, str(err)

    @classmethod
    def from_ipv4(cls, packet: bytes) -> Flow | None:
        """The flow of an encoded datagram, or None when it does not decode (see :meth:`parse`)."""
        return cls.parse(packet)[0]


# ---------------------------------------------------------------- compilation

def _protocol_number(protocol: str | None) -> int | None:
    """None means "any protocol" (standard lists and ``ip``); -1 an unknown keyword (never matches)."""
    if protocol is None or protocol == "ip":
        return None
    if protocol.isdigit():
        return int(protocol)
    return PROTOCOLS.get(protocol, -1)


def _ports(match: PortMatch | None) -> tuple[str, int, int] | None:
    if match is None:
        return None
    if match.op == "range":
        return ("range", match.ports[0], match.ports[1])
    return (match.op, match.ports[0], match.ports[0])


def _port_ok(spec: tuple[str, int, int], port: int | None) -> bool:
    if port is None:
        return False
    op, lo, hi = spec
    if op == "eq":
        return port == lo
    if op == "neq":
        return port != lo
    if op == "gt":
        return port > lo
    if op == "lt":
        return port < lo
    return lo <= port <= hi


@dataclass(frozen=True, slots=True)
class _Entry:
    permit: bool
    proto: int | None
    saddr: int
    smask: int
    daddr: int
    dmask: int
    sport: tuple[str, int, int] | None
    dport: tuple[str, int, int] | None
    icmp: tuple[int, int | None] | None
    established: bool

    @property
    def has_l4(self) -> bool:
        return bool(self.sport or self.dport or self.icmp or self.established)


def _compile_entry(entry: AccessListEntry) -> _Entry | None:
    if entry.remark is not None:
        return None
    smask = ~int(entry.source.wildcard) & _ALL
    if entry.destination is not None:
        dmask = ~int(entry.destination.wildcard) & _ALL
        daddr = int(entry.destination.address) & dmask
    else:
        dmask = daddr = 0
    icmp = ICMP_MESSAGES.get(entry.icmp_type, (-1, None)) if entry.icmp_type else None
    return _Entry(entry.action == PERMIT, _protocol_number(entry.protocol),
                  int(entry.source.address) & smask, smask, daddr, dmask,
                  _ports(entry.source_port), _ports(entry.destination_port), icmp, entry.established)


def _signature(entry: AccessListEntry) -> tuple[object, ...]:
    """A value identity of an entry, to carry match counters across recompilation."""
    def addr(a: AddressMatch | None) -> tuple[int, int] | None:
        return None if a is None else (int(a.address), int(a.wildcard))

    def port(p: PortMatch | None) -> tuple[str, tuple[int, ...]] | None:
        return None if p is None else (p.op, tuple(p.ports))
    return (entry.action, entry.protocol, addr(entry.source), addr(entry.destination),
            port(entry.source_port), port(entry.destination_port), entry.icmp_type,
            entry.established, entry.log, entry.remark)


def _matches(e: _Entry, f: Flow) -> bool | None:
    """True/False; None for a non-initial fragment that matches only the layer-3 part.

    Non-initial fragments against an entry with layer-4 information (Cisco "Access
    Control Lists and IP Fragments", Doc 8014): a permit entry whose layer-3 part
    matches permits the fragment; a deny entry is skipped and the next entry is tried.
    """
    if e.proto is not None and e.proto != f.protocol:
        return False
    if f.src & e.smask != e.saddr or f.dst & e.dmask != e.daddr:
        return False
    if e.sport is None and e.dport is None and e.icmp is None and not e.established:
        return True
    if f.fragment:
        return None
    if e.sport is not None and not _port_ok(e.sport, f.sport):
        return False
    if e.dport is not None and not _port_ok(e.dport, f.dport):
        return False
    if e.icmp is not None:
        if f.icmp_type != e.icmp[0] or (e.icmp[1] is not None and f.icmp_code != e.icmp[1]):
            return False
    if e.established and not (f.tcp_flags or 0) & (ACK | RST):
        return False  # "established": ACK or RST set (IOS access-list command reference)
    return True


class CompiledAcl:
    """One access list compiled for matching, with a match counter per entry.

    ``counts[i]`` belongs to ``acl.entries[i]`` (remarks included, never counted).
    """

    __slots__ = ("acl", "snapshot", "entries", "counts", "signatures")

    def __init__(self, acl: AccessList, old: CompiledAcl | None = None):
        self.acl = acl
        self.snapshot = list(acl.entries)     # holds the entry objects, so identity checks are safe
        self.entries = [_compile_entry(e) for e in self.snapshot]
        self.signatures = [_signature(e) for e in self.snapshot]
        self.counts = [0] * len(self.snapshot)
        if old is not None:
            # IOS keeps the counters of the entries that stay when a list is edited.
            carry: dict[tuple[object, ...], list[int]] = {}
            for sig, n in zip(old.signatures, old.counts, strict=True):
                carry.setdefault(sig, []).append(n)
            for i, sig in enumerate(self.signatures):
                if carry.get(sig):
                    self.counts[i] = carry[sig].pop(0)

    def current(self, acl: AccessList) -> bool:
        entries = acl.entries
        return (acl is self.acl and len(entries) == len(self.snapshot)
                and all(map(operator.is_, entries, self.snapshot)))

    def lookup(self, flow: Flow) -> tuple[str, int | None]:
        """``(action, index)``; index None for the implicit deny."""
        for i, e in enumerate(self.entries):
            if e is None:
                continue
            hit = _matches(e, flow)
            if hit:
                return (PERMIT if e.permit else DENY), i
            if hit is None and e.permit:
                return PERMIT, i
        return DENY, None


ConfigSource = DeviceConfig | Callable[[], DeviceConfig]


class AclEngine:
    """Access lists and route-maps of one device.

    ``config`` is the device's ``DeviceConfig`` or a zero-argument callable
    returning the current one (so a reloaded configuration is picked up).
    """

    def __init__(self, config: ConfigSource):
        self._config = config if callable(config) else (lambda: config)
        self._compiled: dict[str, CompiledAcl] = {}

    @property
    def config(self) -> DeviceConfig:
        return self._config()

    # ------------------------------------------------------------ matching
    def compiled(self, name: str | int) -> CompiledAcl | None:
        """The compiled list, rebuilt if its entries changed; None if it is not defined."""
        name = str(name)
        acl = self._config().access_lists.get(name)
        c = self._compiled.get(name)
        if acl is None:
            if c is not None:
                del self._compiled[name]
            return None
        if c is None or not c.current(acl):
            c = self._compiled[name] = CompiledAcl(acl, c)
        return c

    def check(self, name: str | int, flow: Flow, *, count: bool = False,
              undefined: str = UNDEFINED_MATCH) -> tuple[str, int | None]:
        """``(action, entry index)``; index None for the implicit deny or an undefined list."""
        c = self.compiled(name)
        if c is None:
            return undefined, None
        action, index = c.lookup(flow)
        if count and index is not None:
            c.counts[index] += 1
        return action, index

    def evaluate(self, name: str | int, flow: Flow, *, count: bool = False,
                 undefined: str = UNDEFINED_MATCH) -> str:
        """``"permit"`` or ``"deny"`` (implicit deny at the end of every list)."""
        return self.check(name, flow, count=count, undefined=undefined)[0]

    def permits(self, name: str | int, flow: Flow, *, count: bool = False,
                undefined: str = UNDEFINED_MATCH) -> bool:
        return self.check(name, flow, count=count, undefined=undefined)[0] == PERMIT

    def route_map_permits(self, name: str, flow: Flow, *, count: bool = False) -> bool:
        """Route-map as a packet selector (NAT, policy routing).

        Entries in sequence order; an entry matches when any ACL of its ``match ip
        address`` permits the flow, or when it has no match clause.  The first
        matching entry decides (permit/deny); no match, or an undefined route-map,
        denies (IOS route-maps end in an implicit deny).
        """
        entries = sorted((e for (n, _), e in self._config().route_maps.items() if n == name),
                         key=lambda e: e.seq)
        for entry in entries:
            if not entry.match_ip_address:
                return entry.action == PERMIT
            if any(self.permits(acl, flow, count=count) for acl in entry.match_ip_address):
                return entry.action == PERMIT
        return False

    # ------------------------------------------------------------ counters
    def counter(self, name: str | int, index: int) -> int:
        """Matches of entry ``index`` of list ``name`` (0 for unknown lists or indexes)."""
        c = self.compiled(name)
        if c is None or not 0 <= index < len(c.counts):
            return 0
        return c.counts[index]

    def counts(self, name: str | int) -> list[int]:
        c = self.compiled(name)
        return list(c.counts) if c is not None else []

    def clear_counters(self, name: str | int | None = None) -> bool:
        """``clear access-list counters [NAME]``; False when NAME is not defined."""
        cfg = self._config()
        names = list(cfg.access_lists) if name is None else [str(name)]
        found = False
        for n in names:
            c = self.compiled(n)
            if c is not None:
                found = True
                c.counts = [0] * len(c.counts)
        return found or name is None


def route_map_permits(cfg: DeviceConfig, name: str, flow: Flow, *,
                      engine: AclEngine | None = None, count: bool = False) -> bool:
    """Module-level form of :meth:`AclEngine.route_map_permits` (counts only with ``engine``)."""
    return (engine or AclEngine(cfg)).route_map_permits(name, flow, count=count)
