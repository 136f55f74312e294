"""Inside-source NAT as IOS 12.2 does it: static, dynamic pools, PAT (overload).

Sans-I/O.  The router owns one :class:`NatEngine` and calls it from its
forwarding pipeline (reference §4.7, NAT order of operations):

* ``inside_to_outside(packet, in_iface, out_iface, now)`` after routing, for a
  packet that arrived on an ``ip nat inside`` interface and leaves through an
  ``ip nat outside`` one, before the crypto map check;
* ``outside_to_inside(packet, in_iface, now)`` for a packet that arrived on an
  ``ip nat outside`` interface (after decryption), before routing it;
* ``expire(now)`` when ``next_expiry()`` is due (the simulator's timer; the
  engine contract's ``handle_timer(now)`` and ``get_timer()`` are the same).

Times are integer nanoseconds of lab time (``emulator.labtime``); the
``ip nat translation`` timeouts are configured in seconds.  An entry is alive
while ``now < deadline`` with ``deadline = last_used + timeout``, one value
computed in one place (``_deadline``) for the packet paths, ``expire`` and
``next_expiry``: at its deadline an entry is gone.

Both packet calls return a :class:`NatResult`: translated bytes, the packet
untouched, or a drop with a reason.  Packets the router sends itself are not
handed to the engine, so they are never translated.

Translation entries (reference §4.8): a plain ACL without ``overload`` builds
*simple* entries (addresses only); ``overload`` or a route-map builds
*extended* entries with protocol and all four addresses and ports.  PAT keeps
the inside port when it is free on the global address, otherwise it takes the
first free port of the same group 0-511, 512-1023, 1024-65535; ICMP queries
use the echo identifier as the port.  With ``interface IF`` the global address
is the interface's current address, asked from ``interface_address(IF)`` when a
translation is created (an address learnt later by IPCP is used; entries made
with an older address stay until they time out or are cleared).
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Callable

from emulator.engines.acl import AclEngine, Flow
from emulator.labtime import SECOND
from emulator.config.model import DeviceConfig, NatRule
from emulator.config.render import interface_sort_key
from emulator.wire.checksum import internet_checksum
from emulator.wire.icmp import ERROR_TYPES as _ICMP_ERRORS, QUERY_TYPES as _ICMP_QUERIES
from emulator.wire.ipv4 import PROTO_AH, PROTO_ESP, PROTO_GRE, PROTO_ICMP as _ICMP, PROTO_TCP as _TCP, PROTO_UDP as _UDP
from emulator.wire.tcp import ACK, FIN, RST, SYN

__all__ = [
    "NatEngine", "NatEntry", "NatResult", "TRANSLATED", "UNTOUCHED", "DROP",
    "DEFAULT_TIMEOUTS", "PORT_GROUPS", "format_nat_time",
]

TRANSLATED = "translated"
UNTOUCHED = "untouched"
DROP = "drop"

# IOS defaults of ``ip nat translation ...`` in seconds, as configured (reference §4.8).
DEFAULT_TIMEOUTS: dict[str, int] = {
    "timeout": 86400, "udp-timeout": 300, "dns-timeout": 60, "tcp-timeout": 86400,
    "finrst-timeout": 60, "icmp-timeout": 60, "syn-timeout": 60,
}

# PAT port groups (reference §4.8).
PORT_GROUPS = ((0, 511), (512, 1023), (1024, 65535))

# State kept for non-initial fragments of a translated datagram.  RFC 791 suggests
# 15 s as the initial reassembly timer; IOS 12.2's own value is not documented.
FRAGMENT_HOLD = 15 * SECOND

_PROTO_NAMES = {_ICMP: "icmp", _TCP: "tcp", _UDP: "udp", PROTO_GRE: "gre", PROTO_ESP: "esp", PROTO_AH: "ahp"}


def _pname(proto: int) -> str:
    return _PROTO_NAMES.get(proto, str(proto))


def _addr_bytes(value) -> bytes | None:
    """4 packed bytes from an IPv4Address/str/int/bytes/IPv4Interface; None for none or 0.0.0.0."""
    if value is None:
        return None
    value = getattr(value, "ip", value)
    try:
        if isinstance(value, (bytes, bytearray)):
            packed = bytes(value) if len(value) == 4 else None
        else:
            packed = IPv4Address(value).packed
    except ValueError:
        return None
    return None if packed is None or packed == b"\0\0\0\0" else packed


def _ip(b: bytes | None) -> str:
    return str(IPv4Address(b)) if b is not None else "---"


def _adjust(ck: int, delta: int) -> int:
    """Incremental checksum update (RFC 1624 eqn. 3) by ``delta`` = sum(new) - sum(old),
    computed modulo 0xFFFF.  A sum of -0 gives checksum 0, as a full recomputation does."""
    x = ((~ck & 0xFFFF) + delta) % 0xFFFF
    return (~x & 0xFFFF) if x else 0


def _patch16(buf: bytearray, off: int, delta: int, udp: bool = False) -> None:
    ck = (buf[off] << 8) | buf[off + 1]
    if udp and ck == 0:
        return  # UDP without checksum stays without (RFC 768)
    ck = _adjust(ck, delta)
    if udp and ck == 0:
        ck = 0xFFFF  # RFC 768: a computed zero is sent as all ones
    buf[off] = ck >> 8
    buf[off + 1] = ck & 0xFF


def format_nat_time(ns: int) -> str:
    """A duration in ns as IOS stamps it: ``hh:mm:ss`` below a day, then ``1d02h``, then ``1w2d``."""
    s = max(0, ns // SECOND)
    days = s // 86400
    if days == 0:
        return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}"
    if days < 7:
        return f"{days}d{s // 3600 % 24:02d}h"
    return f"{days // 7}w{days % 7}d"


class NatEntry:
    """One translation.  Addresses are packed 4-byte values (see the ``*_address`` helpers).

    ``protocol`` is None for a simple (address-only) entry.  ``timeout_kind`` is
    the ``ip nat translation`` keyword that times the entry out, None for statics.
    ``use_count`` counts the extended entries made under a static entry.
    """

    __slots__ = ("protocol", "inside_local", "inside_local_port", "inside_global", "inside_global_port",
                 "outside_local", "outside_local_port", "outside_global", "outside_global_port",
                 "static", "created", "last_used", "timeout_kind", "timing_out", "mapping", "pool",
                 "parent", "use_count", "packets", "in_key", "out_key", "port_key", "addr_key",
                 "binding_key")

    def __init__(self, protocol, inside_local, inside_global, *, inside_local_port=None,
                 inside_global_port=None, outside=None, outside_local_port=None,
                 outside_global_port=None, static=False, now=0, timeout_kind=None,
                 mapping=None, pool=None, parent=None):
        self.protocol = protocol
        self.inside_local = inside_local
        self.inside_local_port = inside_local_port
        self.inside_global = inside_global
        self.inside_global_port = inside_global_port
        self.outside_local = self.outside_global = outside
        self.outside_local_port = outside_local_port
        self.outside_global_port = outside_global_port
        self.static = static
        self.created = self.last_used = now
        self.timeout_kind = timeout_kind
        self.timing_out = False
        self.mapping = mapping
        self.pool = pool
        self.parent = parent
        self.use_count = 0
        self.packets = 0
        self.in_key = self.out_key = self.port_key = self.addr_key = self.binding_key = None

    @property
    def extended(self) -> bool:
        return self.protocol is not None

    @property
    def dynamic(self) -> bool:
        return not self.static

    def addresses(self) -> tuple[str, str, str, str]:
        """(inside global, inside local, outside local, outside global) as text."""
        return (_ip(self.inside_global), _ip(self.inside_local),
                _ip(self.outside_local), _ip(self.outside_global))

    def row(self) -> tuple[str, str, str, str, str]:
        """The five columns of ``show ip nat translations``."""
        if self.protocol is None:
            return ("---", _ip(self.inside_global), _ip(self.inside_local), "---", "---")

        def ap(addr, port):
            return f"{_ip(addr)}:{port if port is not None else 0}"
        return (_pname(self.protocol), ap(self.inside_global, self.inside_global_port),
                ap(self.inside_local, self.inside_local_port),
                ap(self.outside_local, self.outside_local_port),
                ap(self.outside_global, self.outside_global_port))

    def __repr__(self) -> str:
        return f"NatEntry({' '.join(self.row())})"


class NatResult:
    """What the engine did with one packet.

    ``action`` is ``"translated"`` (``packet`` holds the rewritten bytes),
    ``"untouched"`` (``packet`` is the input; ``reason`` says why, e.g. no rule
    permits the flow) or ``"drop"`` (``reason`` says why).
    """

    __slots__ = ("action", "packet", "reason", "entry", "created", "_debug")

    def __init__(self, action: str, packet: bytes, reason: str = "", entry: NatEntry | None = None,
                 created: bool = False, debug: tuple | None = None):
        self.action = action
        self.packet = packet
        self.reason = reason
        self.entry = entry
        self.created = created
        self._debug = debug

    @property
    def translated(self) -> bool:
        return self.action == TRANSLATED

    @property
    def dropped(self) -> bool:
        return self.action == DROP

    def debug_lines(self, detailed: bool = False, fast: bool | None = None) -> list[str]:
        """``debug ip nat`` lines (reference §3.6), without the timestamp.

        Plain: ``NAT: s=A->A', d=B [id]`` inside-to-outside, ``NAT*: s=B, d=A'->A [id]``
        outside-to-inside.  ``detailed`` adds the ``i:``/``o:`` line before it.
        ``NAT*`` marks a fast-switched packet; ``fast`` overrides the engine's guess.
        Untranslated packets produce no line.
        """
        if self._debug is None:
            return []
        direction, proto, src, sport, dst, dport, new, ident, guess = self._debug
        tag = "NAT*" if (guess if fast is None else fast) else "NAT"
        s, d, n = _ip(src), _ip(dst), _ip(new)
        lines = []
        if detailed:
            lines.append(f"{tag}: {direction}: {_pname(proto)} ({s}, {sport or 0}) -> ({d}, {dport or 0}) [{ident}]")
        if direction == "i":
            lines.append(f"{tag}: s={s}->{n}, d={d} [{ident}]")
        else:
            lines.append(f"{tag}: s={s}, d={d}->{n} [{ident}]")
        return lines

    def __repr__(self) -> str:
        return f"NatResult({self.action}, reason={self.reason!r}, entry={self.entry!r})"


def _parse(p: bytes):
    """Header fields NAT needs, or an error string.  Checks the IPv4 header checksum."""
    n = len(p)
    if n < 20:
        return f"ipv4: packet too short: {n} bytes, need at least 20"
    b0 = p[0]
    if b0 >> 4 != 4:
        return f"ipv4: bad version {b0 >> 4}"
    ihl = (b0 & 0x0F) << 2
    if ihl < 20 or n < ihl:
        return f"ipv4: bad or truncated header (IHL {ihl >> 2}, {n} bytes)"
    total = (p[2] << 8) | p[3]
    if total < ihl or total > n:
        return f"ipv4: truncated packet: total length {total}, have {n} bytes"
    if internet_checksum(p[:ihl]) != 0:
        return "ipv4: bad header checksum"
    proto = p[9]
    fo = ((p[6] & 0x1F) << 8) | p[7]
    sport = dport = itype = flags = None
    if fo == 0:
        room = total - ihl
        if proto == _TCP:
            if room < 20:
                return f"tcp: truncated header ({room} bytes)"
            sport = (p[ihl] << 8) | p[ihl + 1]
            dport = (p[ihl + 2] << 8) | p[ihl + 3]
            flags = p[ihl + 13]
        elif proto == _UDP:
            if room < 8:
                return f"udp: truncated header ({room} bytes)"
            sport = (p[ihl] << 8) | p[ihl + 1]
            dport = (p[ihl + 2] << 8) | p[ihl + 3]
        elif proto == _ICMP:
            if room < 8:
                return f"icmp: truncated header ({room} bytes)"
            itype = p[ihl]
            if itype in _ICMP_QUERIES:
                sport = dport = (p[ihl + 4] << 8) | p[ihl + 5]
    return total, ihl, proto, fo, sport, dport, itype, flags


def _rewrite(packet: bytes, total: int, ihl: int, proto: int, fo: int, outbound: bool,
             new_addr: bytes, old_port: int | None, new_port: int | None) -> bytes:
    """Rewrite the source (``outbound``) or destination address and port, patching the
    IP header checksum and the TCP/UDP (pseudo-header) or ICMP checksum incrementally."""
    buf = bytearray(packet if total == len(packet) else packet[:total])
    aoff = 12 if outbound else 16
    d_addr = int.from_bytes(new_addr, "big") - int.from_bytes(packet[aoff:aoff + 4], "big")
    x = ((~((buf[10] << 8) | buf[11]) & 0xFFFF) + d_addr) % 0xFFFF   # _adjust, inlined
    buf[10:12] = ((~x & 0xFFFF) if x else 0).to_bytes(2, "big")
    buf[aoff:aoff + 4] = new_addr
    if fo:
        return bytes(buf)  # no layer-4 header in a non-initial fragment
    d_port = 0
    if new_port is not None and new_port != old_port:
        d_port = new_port - old_port
        poff = ihl + (4 if proto == _ICMP else (0 if outbound else 2))
        buf[poff:poff + 2] = new_port.to_bytes(2, "big")
    if proto == _TCP:
        _patch16(buf, ihl + 16, d_addr + d_port)
    elif proto == _UDP:
        _patch16(buf, ihl + 6, d_addr + d_port, udp=True)
    elif proto == _ICMP and d_port:
        _patch16(buf, ihl + 2, d_port)  # the ICMP checksum has no pseudo-header
    return bytes(buf)


def _inner(packet: bytes, total: int, ihl: int):
    """The datagram quoted by an ICMP error: (offset, inner ihl, proto, src, dst, sport, dport) or None."""
    off = ihl + 8
    if total < off + 20 or packet[off] >> 4 != 4:
        return None
    ihl2 = (packet[off] & 0x0F) << 2
    if ihl2 < 20 or total < off + ihl2:
        return None
    proto = packet[off + 9]
    l4 = off + ihl2
    sport = dport = None
    if (((packet[off + 6] & 0x1F) << 8) | packet[off + 7]) == 0:
        if proto in (_TCP, _UDP) and total >= l4 + 4:
            sport = (packet[l4] << 8) | packet[l4 + 1]
            dport = (packet[l4 + 2] << 8) | packet[l4 + 3]
        elif proto == _ICMP and total >= l4 + 6 and packet[l4] in _ICMP_QUERIES:
            sport = dport = (packet[l4 + 4] << 8) | packet[l4 + 5]
    return off, ihl2, proto, packet[off + 12:off + 16], packet[off + 16:off + 20], sport, dport


def _rewrite_error(packet: bytes, total: int, ihl: int, inner, outbound: bool,
                   new_addr: bytes, new_port: int | None) -> bytes:
    """Translate an ICMP error: the outer source (``outbound``) or destination, and the
    matching address/port of the quoted datagram (its destination when ``outbound``,
    else its source).  The quoted transport checksum is patched when it was quoted; the
    ICMP checksum is recomputed over the whole message."""
    off, ihl2, proto, _, _, sport, dport = inner
    buf = bytearray(packet[:total])
    aoff = 12 if outbound else 16
    d_outer = int.from_bytes(new_addr, "big") - int.from_bytes(buf[aoff:aoff + 4], "big")
    _patch16(buf, 10, d_outer)
    buf[aoff:aoff + 4] = new_addr
    iaoff = off + (16 if outbound else 12)
    d_addr = int.from_bytes(new_addr, "big") - int.from_bytes(buf[iaoff:iaoff + 4], "big")
    _patch16(buf, off + 10, d_addr)
    buf[iaoff:iaoff + 4] = new_addr
    l4 = off + ihl2
    old_port = dport if outbound else sport
    d_port = 0
    if new_port is not None and old_port is not None and new_port != old_port:
        d_port = new_port - old_port
        poff = l4 + (4 if proto == _ICMP else (2 if outbound else 0))
        buf[poff] = new_port >> 8
        buf[poff + 1] = new_port & 0xFF
    if proto == _TCP and total >= l4 + 18:
        _patch16(buf, l4 + 16, d_addr + d_port)
    elif proto == _UDP and total >= l4 + 8:
        _patch16(buf, l4 + 6, d_addr + d_port, udp=True)
    elif proto == _ICMP and d_port and total >= l4 + 4:
        _patch16(buf, l4 + 2, d_port)
    buf[ihl + 2] = buf[ihl + 3] = 0
    ck = internet_checksum(bytes(buf[ihl:total]))
    buf[ihl + 2] = ck >> 8
    buf[ihl + 3] = ck & 0xFF
    return bytes(buf)


ConfigSource = DeviceConfig | Callable[[], DeviceConfig]


def _deadline(cfg: DeviceConfig, e: NatEntry) -> int | None:
    """When ``e`` times out (ns), or None if it never does: its last use plus its timeout."""
    kind = e.timeout_kind
    if kind is None:
        return None
    t = cfg.nat_timeouts[kind] if kind in cfg.nat_timeouts else DEFAULT_TIMEOUTS[kind]
    return None if t is None else e.last_used + t * SECOND


class NatEngine:
    """The NAT translation table and statistics of one router.

    ``config``: the ``DeviceConfig`` or a callable returning the current one.
    ``interface_address(name)``: the interface's current primary address (an
    ``IPv4Address``, text, int or None when it has none).  ``acl``: the router's
    :class:`AclEngine`, so NAT's ACL evaluations show in ``show access-lists``.
    ``now``: creation time (ns) of the entries of ``ip nat inside source static``.
    """

    def __init__(self, config: ConfigSource, interface_address: Callable[[str], object],
                 acl: AclEngine | None = None, now: int = 0):
        self._config = config if callable(config) else (lambda: config)
        self._address = interface_address
        self.acl = acl if acl is not None else AclEngine(self._config)
        self._entries: dict[NatEntry, None] = {}      # insertion ordered
        self._ext_in: dict[tuple, NatEntry] = {}      # (proto, il, ilp, ol, olp)
        self._ext_out: dict[tuple, NatEntry] = {}     # (proto, ig, igp, og, ogp)
        self._simple_in: dict[bytes, NatEntry] = {}
        self._simple_out: dict[bytes, NatEntry] = {}
        self._ports: dict[tuple, list] = {}           # (proto, ig, port[, og]) -> [owner, refs]
        self._port_of: dict[tuple, int] = {}          # (proto, ig, il, ilp) -> global port
        self._port_hint: dict[tuple, int] = {}        # (proto, ig, group start) -> lowest maybe-free port
        self._addr_owner: dict[bytes, list] = {}      # non-overload global -> [il, refs]
        self._bindings: dict[tuple, bytes] = {}       # (mapping, il) -> global (non-overload)
        self._refcount: dict[tuple, int] = {}         # mapping -> entries
        self._frags: dict[tuple, tuple[bytes, int]] = {}   # -> (new address, held until)
        self.pool_misses: dict[str, int] = {}
        self.hits = 0
        self.misses = 0
        self.expired = 0
        self._rules_seen: list | None = None
        self._rules_len = -1
        self._now = now
        self._sync_static(self._config(), now)

    # ------------------------------------------------------------ table upkeep
    def _sync_static(self, cfg: DeviceConfig, now: int) -> None:
        """Keep one static entry per ``ip nat inside source static`` (checked when the rule list changes)."""
        rules = cfg.nat_rules
        self._rules_seen, self._rules_len = rules, len(rules)
        want: dict[tuple, None] = {}
        for r in rules:
            if r.kind == "static" and r.direction == "inside":
                local, glob = _addr_bytes(r.local), _addr_bytes(r.global_)
                if local and glob:
                    want[(local, glob)] = None
        for e in [e for e in self._entries if e.static and e.protocol is None]:
            if (e.inside_local, e.inside_global) in want:
                del want[(e.inside_local, e.inside_global)]
            else:
                self._remove(e)
        for local, glob in want:
            e = NatEntry(None, local, glob, static=True, now=now)
            self._add(e)

    def _add(self, e: NatEntry) -> None:
        self._entries[e] = None
        if e.protocol is None:
            self._simple_in[e.inside_local] = e
            self._simple_out[e.inside_global] = e
        else:
            ogp = e.outside_global_port
            e.in_key = (e.protocol, e.inside_local, e.inside_local_port, e.outside_local, e.outside_local_port)
            e.out_key = (e.protocol, e.inside_global, e.inside_global_port, e.outside_global, ogp)
            self._ext_in[e.in_key] = e
            self._ext_out[e.out_key] = e
        if e.mapping is not None:
            self._refcount[e.mapping] = self._refcount.get(e.mapping, 0) + 1
        if e.parent is not None:
            e.parent.use_count += 1

    def _remove(self, e: NatEntry) -> None:
        if e not in self._entries:
            return
        del self._entries[e]
        if e.protocol is None:
            if self._simple_in.get(e.inside_local) is e:
                del self._simple_in[e.inside_local]
            if self._simple_out.get(e.inside_global) is e:
                del self._simple_out[e.inside_global]
        else:
            if self._ext_in.get(e.in_key) is e:
                del self._ext_in[e.in_key]
            if self._ext_out.get(e.out_key) is e:
                del self._ext_out[e.out_key]
        if e.port_key is not None:
            slot = self._ports.get(e.port_key)
            if slot is not None:
                slot[1] -= 1
                if slot[1] <= 0:
                    del self._ports[e.port_key]
                    if len(e.port_key) == 3:
                        self._port_freed(*e.port_key)
                    owner = slot[0]
                    if len(e.port_key) == 3:
                        self._port_of.pop((e.port_key[0], e.port_key[1]) + owner, None)
        if e.addr_key is not None:
            slot = self._addr_owner.get(e.addr_key)
            if slot is not None:
                slot[1] -= 1
                if slot[1] <= 0:
                    del self._addr_owner[e.addr_key]
                    self._bindings.pop(e.binding_key, None)
        if e.mapping is not None:
            self._refcount[e.mapping] -= 1
        if e.parent is not None:
            e.parent.use_count -= 1
        if e.static and e.protocol is None:
            for child in [c for c in self._entries if c.parent is e]:
                self._remove(child)

    def _alive(self, cfg: DeviceConfig, e: NatEntry, now: int) -> bool:
        """False (and the entry removed, counted as expired) from its deadline on."""
        deadline = _deadline(cfg, e)
        if deadline is None or now < deadline:
            return True
        self._remove(e)
        self.expired += 1
        return False

    @staticmethod
    def _touch(e: NatEntry, proto: int, flags: int | None, now: int) -> None:
        e.last_used = now
        e.packets += 1
        if proto == _TCP and flags is not None and e.timeout_kind is not None and not e.timing_out:
            if flags & (FIN | RST):
                e.timeout_kind = "finrst-timeout"   # FIN or RST: finrst-timeout (reference §4.8)
                e.timing_out = True
            elif e.timeout_kind == "syn-timeout" and flags & ACK:
                e.timeout_kind = "tcp-timeout"

    @staticmethod
    def _kind_for(proto: int, dport: int | None, flags: int | None) -> str:
        if proto == _TCP:
            if flags is not None and flags & (FIN | RST):
                return "finrst-timeout"
            if flags is not None and flags & SYN and not flags & ACK:
                return "syn-timeout"
            return "tcp-timeout"
        if proto == _UDP:
            return "dns-timeout" if dport == 53 else "udp-timeout"
        if proto == _ICMP:
            return "icmp-timeout"
        return "timeout"

    # ------------------------------------------------------------ packets
    def _current_config(self, now: int) -> DeviceConfig:
        """The configuration, with the static translations following any change of its NAT rules."""
        self._now = now
        cfg = self._config()
        if cfg.nat_rules is not self._rules_seen or len(cfg.nat_rules) != self._rules_len:
            self._sync_static(cfg, now)
        return cfg

    def inside_to_outside(self, packet: bytes, in_iface: str, out_iface: str, now: int, *,
                          fast: bool | None = None) -> NatResult:
        """Translate a packet routed from an ``ip nat inside`` to an ``ip nat outside`` interface."""
        cfg = self._current_config(now)
        ifs = cfg.interfaces
        i, o = ifs.get(in_iface), ifs.get(out_iface)
        if i is None or i.nat != "inside" or o is None or o.nat != "outside":
            return NatResult(UNTOUCHED, packet, "not an inside-to-outside path")
        parsed = _parse(packet)
        if type(parsed) is str:
            return NatResult(DROP, packet, parsed)
        total, ihl, proto, fo, sport, dport, itype, flags = parsed
        src, dst = packet[12:16], packet[16:20]
        ident = (packet[4] << 8) | packet[5]
        if fast is None:
            fast = o.route_cache is not False
        if fo:
            return self._fragment(cfg, packet, total, ihl, proto, fo, src, dst, ident, now, True, fast)
        if proto == _ICMP and itype in _ICMP_ERRORS:
            return self._icmp_error(packet, total, ihl, True, ident, fast, now, cfg)
        created = False
        e = self._ext_in.get((proto, src, sport, dst, dport))
        if e is None or not self._alive(cfg, e, now):
            e = self._simple_in.get(src)
            if e is not None and not self._alive(cfg, e, now):
                e = None
            if e is not None:
                if e.static and sport is not None:
                    e = self._static_child(e, proto, sport, dst, dport, sport, dport, flags, now)
            else:
                rule = self._permitting_rule(cfg, proto, src, dst, sport, dport, itype, flags, packet, ihl)
                if rule is None:
                    return NatResult(UNTOUCHED, packet, "no NAT rule permits the flow")
                self.misses += 1
                e = self._create(cfg, rule, proto, src, sport, dst, dport, flags, now)
                if type(e) is str:
                    return NatResult(DROP, packet, e)
                created = True
                fast = False  # the packet that builds a translation is process-switched
        self.hits += not created
        self._touch(e, proto, flags, now)
        if e.protocol is None:
            new_port = sport
        else:
            new_port = e.inside_global_port if e.inside_global_port is not None else sport
        out = _rewrite(packet, total, ihl, proto, 0, True, e.inside_global, sport, new_port)
        if packet[6] & 0x20:  # MF: remember the datagram for its other fragments
            self._frags[(True, proto, src, dst, ident)] = (e.inside_global, now + FRAGMENT_HOLD)
        return NatResult(TRANSLATED, out, "", e, created,
                         ("i", proto, src, sport, dst, dport, e.inside_global, ident, fast))

    def outside_to_inside(self, packet: bytes, in_iface: str, now: int, *,
                          fast: bool | None = None) -> NatResult:
        """Translate the destination of a packet that arrived on an ``ip nat outside`` interface.

        ``fast`` is for the debug tag only (default: fast-switched, ``NAT*``).
        """
        cfg = self._current_config(now)
        i = cfg.interfaces.get(in_iface)
        if i is None or i.nat != "outside":
            return NatResult(UNTOUCHED, packet, "not an outside interface")
        parsed = _parse(packet)
        if type(parsed) is str:
            return NatResult(DROP, packet, parsed)
        total, ihl, proto, fo, sport, dport, itype, flags = parsed
        src, dst = packet[12:16], packet[16:20]
        ident = (packet[4] << 8) | packet[5]
        if fast is None:
            fast = True
        if fo:
            return self._fragment(cfg, packet, total, ihl, proto, fo, src, dst, ident, now, False, fast)
        if proto == _ICMP and itype in _ICMP_ERRORS:
            return self._icmp_error(packet, total, ihl, False, ident, fast, now, cfg)
        e = self._ext_out.get((proto, dst, dport, src, sport))
        if e is None or not self._alive(cfg, e, now):
            e = self._simple_out.get(dst)
            if e is None or not self._alive(cfg, e, now):
                return NatResult(UNTOUCHED, packet, "no translation")
            if e.static and sport is not None:
                e = self._static_child(e, proto, dport, src, sport, dport, sport, flags, now)
        self.hits += 1
        self._touch(e, proto, flags, now)
        if e.timeout_kind == "syn-timeout":
            e.timeout_kind = "tcp-timeout"  # the far end answered
        if e.protocol is None:
            new_port = dport
        else:
            new_port = e.inside_local_port if e.inside_local_port is not None else dport
        out = _rewrite(packet, total, ihl, proto, 0, False, e.inside_local, dport, new_port)
        if packet[6] & 0x20:
            self._frags[(False, proto, src, dst, ident)] = (e.inside_local, now + FRAGMENT_HOLD)
        return NatResult(TRANSLATED, out, "", e, False,
                         ("o", proto, src, sport, dst, dport, e.inside_local, ident, fast))

    # ------------------------------------------------------------ helpers of the packet paths
    def _permitting_rule(self, cfg, proto, src, dst, sport, dport, itype, flags, packet, ihl,
                         fragment: bool = False) -> NatRule | None:
        """The first dynamic ``ip nat inside source`` rule whose ACL/route-map permits the flow
        (counted in the ACL's match counters)."""
        ports = proto in (_TCP, _UDP)
        flow = Flow(proto, int.from_bytes(src, "big"), int.from_bytes(dst, "big"),
                    sport if ports else None, dport if ports else None, itype,
                    flags, packet[ihl + 1] if itype is not None else None, fragment)
        for rule in cfg.nat_rules:
            if rule.kind == "static" or rule.direction != "inside" or rule.match is None:
                continue
            if rule.kind == "route-map":
                ok = self.acl.route_map_permits(rule.match, flow, count=True)
            else:
                ok = self.acl.permits(rule.match, flow, count=True)
            if ok:
                return rule
        return None

    def _static_child(self, parent, proto, ilp, outside, olp, igp, ogp, flags, now) -> NatEntry:
        """An extended entry for one flow through a static translation (IOS lists these)."""
        if proto == _ICMP:
            olp = ogp = ilp
        e = NatEntry(proto, parent.inside_local, parent.inside_global, inside_local_port=ilp,
                     inside_global_port=igp, outside=outside, outside_local_port=olp,
                     outside_global_port=ogp, now=now, parent=parent,
                     timeout_kind=self._kind_for(proto, olp, flags))
        self._add(e)
        return e

    def _candidates(self, cfg, rule):
        """Global addresses a rule may use, or an error string."""
        if rule.interface is not None:
            addr = _addr_bytes(self._address(rule.interface))
            if addr is None:
                return f"interface {rule.interface} has no address"
            return [addr]
        pool = cfg.nat_pools.get(rule.pool) if rule.pool else None
        if pool is None:
            return f"NAT pool {rule.pool} is not defined"
        start, end = int(pool.start), int(pool.end)
        return (a.to_bytes(4, "big") for a in range(start, end + 1))

    def _free_port(self, proto: int, ig: bytes, il: bytes, ilp: int) -> int | None:
        """PAT port choice (reference §4.8): the inside port if free, else the first free
        port of its group; the same inside address/port keeps the port it already has."""
        mine = self._port_of.get((proto, ig, il, ilp))
        if mine is not None:
            return mine
        if (proto, ig, ilp) not in self._ports:
            return ilp
        for lo, hi in PORT_GROUPS:
            if lo <= ilp <= hi:
                break
        first = 1 if lo == 0 and proto != _ICMP else lo
        ports = self._ports
        # Scan from the lowest port that may be free in this group (kept per group), so that
        # allocating the n-th port does not test the n-1 taken before it.
        hint_key = (proto, ig, lo)
        start = max(first, self._port_hint.get(hint_key, first))
        for p in range(start, hi + 1):
            if (proto, ig, p) not in ports:
                self._port_hint[hint_key] = p
                return p
        self._port_hint[hint_key] = hi + 1
        return None

    def _port_freed(self, proto: int, ig: bytes, port: int) -> None:
        for lo, hi in PORT_GROUPS:
            if lo <= port <= hi:
                key = (proto, ig, lo)
                if self._port_hint.get(key, lo) > port:
                    self._port_hint[key] = port
                return

    def _create(self, cfg, rule: NatRule, proto, src, sport, dst, dport, flags, now):
        """Build the entry for a flow a rule permits; an error string when it cannot."""
        mapping = (rule.kind, rule.match)
        extended = rule.overload or rule.kind == "route-map"
        candidates = self._candidates(cfg, rule)
        if type(candidates) is str:
            return candidates
        portless = sport is None
        ogp = dport
        if rule.overload:
            for ig in candidates:
                if ig in self._simple_out or ig in self._addr_owner:
                    continue  # held by a static or a one-to-one translation
                if portless:
                    key = (proto, ig, None, dst)
                    slot = self._ports.get(key)
                    if slot is not None and slot[0] != (src, None):
                        continue
                    igp = None
                else:
                    igp = self._free_port(proto, ig, src, sport)
                    if igp is None:
                        continue
                    key = (proto, ig, igp)
                e = NatEntry(proto, src, ig, inside_local_port=sport, inside_global_port=igp,
                             outside=dst, outside_local_port=sport if proto == _ICMP else dport,
                             outside_global_port=igp if proto == _ICMP else ogp, now=now,
                             timeout_kind=self._kind_for(proto, dport, flags), mapping=mapping,
                             pool=rule.pool)
                slot = self._ports.get(key)
                if slot is None:
                    self._ports[key] = [(src, sport), 1]
                    if not portless:
                        self._port_of[(proto, ig, src, sport)] = igp
                else:
                    slot[1] += 1
                e.port_key = key
                self._add(e)
                return e
            if rule.pool:
                self.pool_misses[rule.pool] = self.pool_misses.get(rule.pool, 0) + 1
                return f"NAT pool {rule.pool}: no free address or port"
            return f"no free port on {rule.interface}"
        # One-to-one: the inside address owns a global address while it has entries.
        bkey = (mapping, src)
        ig = self._bindings.get(bkey)
        if ig is None:
            for cand in candidates:
                if cand not in self._addr_owner and cand not in self._simple_out:
                    ig = cand
                    break
            if ig is None:
                if rule.pool:
                    self.pool_misses[rule.pool] = self.pool_misses.get(rule.pool, 0) + 1
                    return f"NAT pool {rule.pool} exhausted"
                return f"address of {rule.interface} already in use"
            self._bindings[bkey] = ig
            self._addr_owner[ig] = [src, 0]
        if extended:
            e = NatEntry(proto, src, ig, inside_local_port=sport, inside_global_port=sport,
                         outside=dst, outside_local_port=sport if proto == _ICMP else dport,
                         outside_global_port=sport if proto == _ICMP else dport, now=now,
                         timeout_kind=self._kind_for(proto, dport, flags), mapping=mapping, pool=rule.pool)
        else:
            e = NatEntry(None, src, ig, now=now, timeout_kind="timeout", mapping=mapping, pool=rule.pool)
        self._addr_owner[ig][1] += 1
        e.addr_key, e.binding_key = ig, bkey
        self._add(e)
        return e

    def _fragment(self, cfg, packet, total, ihl, proto, fo, src, dst, ident, now, outbound, fast):
        """A non-initial fragment: translated like the first fragment of its datagram."""
        key = (outbound, proto, src, dst, ident)
        held = self._frags.get(key)
        new = held[0] if held is not None and held[1] > now else None
        entry = None
        if new is None:
            table = self._simple_in if outbound else self._simple_out
            entry = table.get(src if outbound else dst)
            if entry is not None and self._alive(cfg, entry, now):
                new = entry.inside_global if outbound else entry.inside_local
            elif not outbound:
                return NatResult(UNTOUCHED, packet, "no translation")
            elif self._permitting_rule(cfg, proto, src, dst, None, None, None, None, packet, ihl, True):
                return NatResult(DROP, packet, "non-initial fragment of a datagram with no translation")
            else:
                return NatResult(UNTOUCHED, packet, "no NAT rule permits the flow")
        self.hits += 1
        out = _rewrite(packet, total, ihl, proto, fo, outbound, new, None, None)
        return NatResult(TRANSLATED, out, "", entry, False,
                         ("i" if outbound else "o", proto, src, None, dst, None, new, ident, fast))

    def _icmp_error(self, packet, total, ihl, outbound, ident, fast, now, cfg):
        """An ICMP error about a translated flow: the outer address and the quoted datagram."""
        inner = _inner(packet, total, ihl)
        if inner is None:
            return NatResult(UNTOUCHED, packet, "icmp error without a usable quoted datagram")
        _, _, iproto, isrc, idst, isport, idport = inner
        if outbound:
            # An inside host reports on a datagram that came in: it was sent to the inside local.
            e = self._ext_in.get((iproto, idst, idport, isrc, isport))
            if e is None or not self._alive(cfg, e, now):
                e = self._simple_in.get(idst)
            if e is None or packet[12:16] != e.inside_local or not self._alive(cfg, e, now):
                return NatResult(UNTOUCHED, packet, "icmp error about an untranslated flow")
            new, port = e.inside_global, (e.inside_global_port if e.protocol is not None else None)
        else:
            # An outside host reports on a datagram we sent: it came from the inside global.
            e = self._ext_out.get((iproto, isrc, isport, idst, idport))
            if e is None or not self._alive(cfg, e, now):
                e = self._simple_out.get(isrc)
            if e is None or packet[16:20] != e.inside_global or not self._alive(cfg, e, now):
                return NatResult(UNTOUCHED, packet, "no translation")
            new, port = e.inside_local, (e.inside_local_port if e.protocol is not None else None)
        self.hits += 1
        e.last_used = now
        e.packets += 1
        out = _rewrite_error(packet, total, ihl, inner, outbound, new, port)
        return NatResult(TRANSLATED, out, "", e, False,
                         ("i" if outbound else "o", _ICMP, packet[12:16], None, packet[16:20], None,
                          new, ident, fast))

    # ------------------------------------------------------------ timers
    def expire(self, now: int) -> int:
        """Remove dynamic entries whose deadline is ``now`` or earlier; returns how many."""
        self._now = now
        cfg = self._config()
        n = 0
        for e in list(self._entries):
            if e in self._entries and e.timeout_kind is not None and not self._alive(cfg, e, now):
                n += 1
        for key in [k for k, (_, until) in self._frags.items() if until <= now]:
            del self._frags[key]
        return n

    def next_expiry(self) -> int | None:
        """The earliest deadline of an entry (for the simulator's timer); None if none will time out."""
        cfg = self._config()
        best = None
        for e in self._entries:
            when = _deadline(cfg, e)
            if when is not None and (best is None or when < best):
                best = when
        return best

    # The engine contract of ``emulator.sim.binding``.
    def get_timer(self) -> int | None:
        return self.next_expiry()

    def handle_timer(self, now: int) -> None:
        self.expire(now)

    # ------------------------------------------------------------ table access and clearing
    @property
    def entries(self) -> list[NatEntry]:
        return list(self._entries)

    def clear_all(self) -> int:
        """``clear ip nat translation *``: every dynamic entry (statics stay)."""
        victims = [e for e in self._entries if not e.static]
        for e in victims:
            if e in self._entries:
                self._remove(e)
        return len(victims)

    def clear_inside(self, global_ip, local_ip, outside_local=None, outside_global=None) -> int:
        """``clear ip nat translation inside GLOBAL LOCAL [outside LOCAL GLOBAL]``: simple
        dynamic entries only (IOS command reference; extended ones need the protocol form)."""
        g, l = _addr_bytes(global_ip), _addr_bytes(local_ip)
        if outside_local is not None or outside_global is not None:
            return 0  # simple entries of inside-source NAT carry no outside addresses
        victims = [e for e in self._entries
                   if not e.static and e.protocol is None and e.inside_global == g and e.inside_local == l]
        for e in victims:
            self._remove(e)
        return len(victims)

    def clear_extended(self, protocol: str | int, global_ip, global_port: int, local_ip, local_port: int,
                       outside_local=None, outside_local_port: int | None = None,
                       outside_global=None, outside_global_port: int | None = None) -> int:
        """``clear ip nat translation {tcp|udp} inside GLOBAL GPORT LOCAL LPORT
        [outside LOCAL LPORT GLOBAL GPORT]``: matching extended dynamic entries."""
        if isinstance(protocol, str):
            names = {v: k for k, v in _PROTO_NAMES.items()}
            proto = int(protocol) if protocol.isdigit() else names.get(protocol.lower())
        else:
            proto = protocol
        g, l = _addr_bytes(global_ip), _addr_bytes(local_ip)
        ol, og = _addr_bytes(outside_local), _addr_bytes(outside_global)
        victims = []
        for e in self._entries:
            if e.static or e.protocol is None or e.protocol != proto:
                continue
            if (e.inside_global, e.inside_global_port, e.inside_local, e.inside_local_port) != \
                    (g, global_port, l, local_port):
                continue
            if outside_local is not None and (e.outside_local, e.outside_local_port) != (ol, outside_local_port):
                continue
            if outside_global is not None and (e.outside_global, e.outside_global_port) != (og, outside_global_port):
                continue
            victims.append(e)
        for e in victims:
            self._remove(e)
        return len(victims)

    def clear_statistics(self) -> None:
        """``clear ip nat statistics``: hits, misses, expired translations, pool misses."""
        self.hits = self.misses = self.expired = 0
        self.pool_misses.clear()

    # ------------------------------------------------------------ show
    def show_translations(self, now: int | None = None, verbose: bool = False) -> str:
        """``show ip nat translations [verbose]`` (reference §1.6).

        Rows in creation order; the protocol and inside global share a 22-character
        field, the other columns are 18 characters plus a space (the header's layout).
        An empty table prints nothing (not even the header).  ``verbose`` adds
        ``create``/``use``/``left`` and ``flags``/``use_count`` lines.  The reference has
        no verbose sample; this is the later-12.x two-line form (the 12.0 command
        reference printed one line, ``create 00:00:02, use 00:00:00, flags: extended``).
        ``left`` is omitted for entries that never time out; flags are ``static``,
        ``extended`` or ``none``, plus ``timing out`` after a FIN/RST.
        """
        if not self._entries:
            return ""
        now = self._now if now is None else now
        cfg = self._config()
        out = [self._row("Pro", "Inside global", "Inside local", "Outside local", "Outside global")]
        for e in self._entries:
            out.append(self._row(*e.row()))
            if verbose:
                line = f"    create {format_nat_time(now - e.created)}, use {format_nat_time(now - e.last_used)}, "
                deadline = _deadline(cfg, e)
                if deadline is not None:
                    line += f"left {format_nat_time(deadline - now)}, "
                out.append(line)
                flags = "static" if e.static else ("extended" if e.extended else "none")
                if e.timing_out:
                    flags += ", timing out"
                out.append(f"    flags: {flags}, use_count: {e.use_count}")
        return "\n".join(out) + "\n"

    @staticmethod
    def _row(pro: str, ig: str, il: str, ol: str, og: str) -> str:
        return f"{pro} {ig}".ljust(22) + f" {il.ljust(18)} {ol.ljust(18)} {og}"

    def show_statistics(self) -> str:
        """``show ip nat statistics`` in the 12.x command-reference layout (reference §1.7).

        Open question 4 (§6) is settled as: ``Total translations:`` and one-line interface
        lists (names joined by ", "), no ``[Id: N]`` and no CEF line (both later additions).
        Hits count lookups that found an entry; Misses count flows a rule permitted that
        had no entry yet (creation attempts, failed ones included).  Packets no rule
        permits are not NAT candidates and count in neither (nor do they log debug lines,
        reference §3.6).
        """
        cfg = self._config()
        entries = self._entries
        total = len(entries)
        static = sum(1 for e in entries if e.static)
        extended = sum(1 for e in entries if e.extended)
        names = sorted(cfg.interfaces, key=interface_sort_key)
        outside = [n for n in names if cfg.interfaces[n].nat == "outside"]
        inside = [n for n in names if cfg.interfaces[n].nat == "inside"]
        out = [
            f"Total translations: {total} ({static} static, {total - static} dynamic; {extended} extended)",
            "Outside interfaces: " + ", ".join(outside),
            "Inside interfaces: " + ", ".join(inside),
            f"Hits: {self.hits}  Misses: {self.misses}",
            f"Expired translations: {self.expired}",
            "Dynamic mappings:",
        ]
        dynamic = [r for r in cfg.nat_rules if r.kind != "static" and r.direction == "inside"]
        if dynamic:
            out.append("-- Inside Source")
        for r in dynamic:
            what = "access-list" if r.kind == "list" else "route-map"
            where = f"interface {r.interface}" if r.interface is not None else f"pool {r.pool}"
            out.append(f"{what} {r.match} {where} refcount {self._refcount.get((r.kind, r.match), 0)}")
            pool = cfg.nat_pools.get(r.pool) if r.pool else None
            if pool is not None:
                size = int(pool.end) - int(pool.start) + 1
                used = len({e.inside_global for e in entries if e.pool == pool.name})
                pct = used * 100 // size if size > 0 else 0
                out += [
                    f"pool {pool.name}: netmask {pool.netmask}",
                    f"        start {pool.start} end {pool.end}",
                    f"        type generic, total addresses {max(size, 0)}, allocated {used} ({pct}%), "
                    f"misses {self.pool_misses.get(pool.name, 0)}",
                ]
        return "\n".join(out) + "\n"
