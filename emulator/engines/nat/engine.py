"""Inside-source NAT as IOS 12.2 does it: static, dynamic pools, PAT (overload).

Sans-I/O.  The router owns one :class:`NatEngine` and calls it from its
forwarding pipeline (reference §4.7, NAT order of operations):

* ``inside_to_outside(packet, in_iface, out_iface, now)`` after routing, for a
  packet that arrived on an ``ip nat inside`` interface and leaves through an
  ``ip nat outside`` one, before the crypto map check;
* ``outside_to_inside(packet, in_iface, now)`` for a packet that arrived on an
  ``ip nat outside`` interface (after decryption), before routing it;
* ``handle_timer(now)`` at ``get_timer()`` (the engine contract of
  ``emulator.sim.binding``; ``expire`` and ``next_expiry`` are the same).

Times are integer nanoseconds of lab time.
Deadlines come from :mod:`~emulator.engines.nat.timeouts`: an entry is alive
while ``now < deadline``, at its deadline it is gone, whichever of the packet
path and the timer sees it first.

Both packet calls return a :class:`NatResult`: translated bytes, the packet
untouched, or a drop with a reason.  Packets the router sends itself are not
handed to the engine, so they are never translated.

Translation entries (reference §4.8): a plain ACL without ``overload`` builds
*simple* entries (addresses only); ``overload`` or a route-map builds
*extended* entries with protocol and all four addresses and ports.  Global
ports and addresses are given out as :mod:`~emulator.engines.nat.ports`
describes.  With ``interface IF`` the global address is the interface's
current address, asked from ``interface_address(IF)`` when a translation is
created (an address learnt later by IPCP is used; entries made with an
older address stay until they time out or are cleared).

The engine holds no IOS text: ``emulator.cli.nat_show`` renders the table,
the statistics and the ``debug ip nat`` lines from what it exposes.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from typing import Callable, Iterable

from emulator.config.acl_syntax import PROTOCOLS
from emulator.config.model import DeviceConfig, NatRule
from emulator.engines.acl import AclEngine, Flow
from emulator.engines.nat.create import create_bound, create_overloaded, create_static_child
from emulator.engines.nat.fragments import FragmentKey, HeldFragments
from emulator.engines.nat.ports import MappingKey
from emulator.engines.nat.result import DROP, TRANSLATED, UNTOUCHED, NatResult, untouched
from emulator.engines.nat.rewrite import rewrite, rewrite_error
from emulator.engines.nat.table import NatEntry, NatTable
from emulator.engines.nat.timeouts import TimeoutKind, after_use, deadline
from emulator.wire.errors import DecodeError
from emulator.wire.flow import IPv4Flow, read_flow, read_quoted_flow
from emulator.wire.icmp import ERROR_TYPES
from emulator.wire.ipv4 import IPProto

__all__ = ["NatEngine", "address_bytes"]

# Plain ints for the per-packet comparisons (an IntEnum compares more slowly).
_ICMP = int(IPProto.ICMP)
_TCP = int(IPProto.TCP)
_ICMP_ERRORS = frozenset(int(t) for t in ERROR_TYPES)
_SYN_TIMEOUT = TimeoutKind.SYN
_TCP_TIMEOUT = TimeoutKind.TCP

ConfigSource = DeviceConfig | Callable[[], DeviceConfig]


def address_bytes(value: object) -> bytes | None:
    """4 packed bytes from an IPv4Address/str/int/bytes/IPv4Interface; None for none or 0.0.0.0."""
    if value is None:
        return None
    value = getattr(value, "ip", value)
    if isinstance(value, IPv4Address):
        packed = value.packed
        return None if packed == b"\0\0\0\0" else packed
    if isinstance(value, (bytes, bytearray)):
        packed = bytes(value)
        if len(packed) != 4:
            return None
    elif isinstance(value, (str, int)):
        try:
            packed = IPv4Address(value).packed
        except ValueError:
            return None
    else:
        return None
    return None if packed == b"\0\0\0\0" else packed


def _ports(f: IPv4Flow) -> tuple[int | None, int | None]:
    """The flow's ports as NAT uses them: TCP/UDP ports, or the ICMP query identifier for both."""
    if f.protocol == _ICMP:
        return f.icmp_id, f.icmp_id
    return f.sport, f.dport


class NatEngine:
    """The NAT translation table and statistics of one router.

    ``config``: the ``DeviceConfig`` or a callable returning the current one.
    ``interface_address(name)``: the interface's current primary address (an
    ``IPv4Address``, text, int or None when it has none).  ``acl``: the router's
    :class:`AclEngine`, so NAT's ACL evaluations show in ``show access-lists``.
    ``now``: creation time (ns) of the entries of ``ip nat inside source static``.

    Statistics: ``hits`` (packets that found an entry), ``misses`` (flows a rule
    permitted that had no entry yet, failed creations included), ``expired``
    and ``pool_misses`` per pool.
    """

    def __init__(self, config: ConfigSource, interface_address: Callable[[str], object],
                 acl: AclEngine | None = None, now: int = 0):
        self._config: Callable[[], DeviceConfig] = config if callable(config) else (lambda: config)
        self._address = interface_address
        self.acl = acl if acl is not None else AclEngine(self._config)
        self.table = NatTable()
        self._frags = HeldFragments()
        self.pool_misses: dict[str, int] = {}
        self.hits = 0
        self.misses = 0
        self.expired = 0
        self._rules_seen: list[NatRule] | None = None
        self._rules_len = -1
        self._sync_static(self._config(), now)

    @property
    def config(self) -> DeviceConfig:
        return self._config()

    @property
    def entries(self) -> list[NatEntry]:
        """The translations in creation order."""
        return list(self.table.entries)

    def deadline(self, entry: NatEntry) -> int | None:
        """When ``entry`` times out under the current configuration; None if it never does."""
        return deadline(self._config(), entry)

    def refcount(self, kind: str, match: str | None) -> int:
        """Entries built by the dynamic rule ``kind`` (``list``/``route-map``) ``match``."""
        return self.table.refcounts.get(MappingKey(kind, match), 0)

    # ------------------------------------------------------------ static entries
    def _sync_static(self, cfg: DeviceConfig, now: int) -> None:
        """Keep one static entry per ``ip nat inside source static`` (checked when the rule list changes)."""
        rules = cfg.nat_rules
        self._rules_seen, self._rules_len = rules, len(rules)
        want: dict[tuple[bytes, bytes], None] = {}
        for r in rules:
            if r.kind == "static" and r.direction == "inside":
                local, glob = address_bytes(r.local), address_bytes(r.global_)
                if local and glob:
                    want[(local, glob)] = None
        for e in [e for e in self.table if e.static and e.protocol is None]:
            if (e.inside_local, e.inside_global) in want:
                del want[(e.inside_local, e.inside_global)]
            else:
                self.table.remove(e)
        for local, glob in want:
            self.table.add(NatEntry(None, local, glob, static=True, now=now))

    def _current_config(self, now: int) -> DeviceConfig:
        """The configuration, with the static translations following any change of its NAT rules."""
        cfg = self._config()
        if cfg.nat_rules is not self._rules_seen or len(cfg.nat_rules) != self._rules_len:
            self._sync_static(cfg, now)
        return cfg

    # ------------------------------------------------------------ entry life
    def _alive(self, cfg: DeviceConfig, e: NatEntry, now: int) -> bool:
        """False (and the entry removed, counted as expired) from its deadline on."""
        when = deadline(cfg, e)
        if when is None or now < when:
            return True
        self.table.remove(e)
        self.expired += 1
        return False

    def _use(self, e: NatEntry, proto: int, flags: int | None, now: int, answered: bool = False) -> None:
        """A packet used ``e``: its last use, packet count and TCP timeout kind follow.

        The expiry queue hears of it only when the kind changed or time went back
        (a later use is picked up when the entry reaches the top of its heap).
        """
        e.last_used = now
        e.packets += 1
        old = e.timeout_kind
        if old is None:
            return
        kind = old
        if proto == _TCP and flags is not None:
            kind, e.timing_out = after_use(kind, e.timing_out, proto, flags)
        if answered and kind is _SYN_TIMEOUT:
            kind = _TCP_TIMEOUT  # the far end answered
        if kind is not old:
            e.timeout_kind = kind
            self.table.used(e, old)
        elif now < e.expiry_key:
            self.table.used(e, old)

    # ------------------------------------------------------------ packets
    def inside_to_outside(self, packet: bytes, in_iface: str, out_iface: str, now: int, *,
                          fast: bool | None = None) -> NatResult:
        """Translate a packet routed from an ``ip nat inside`` to an ``ip nat outside`` interface.

        ``fast`` is for the debug tag only (default: fast-switched unless the outside
        interface has ``no ip route-cache``; the packet that builds a translation is
        process-switched).
        """
        cfg = self._current_config(now)
        ifs = cfg.interfaces
        i, o = ifs.get(in_iface), ifs.get(out_iface)
        if i is None or i.nat != "inside" or o is None or o.nat != "outside":
            return NatResult(UNTOUCHED, packet, "not an inside-to-outside path")
        try:
            f = read_flow(packet)
        except DecodeError as err:
            return NatResult(DROP, packet, str(err))
        proto, src, dst, sport, dport, itype, _, icmp_id, flags, ident, fo, mf, ihl, total = f
        if fast is None:
            fast = o.route_cache is not False
        if fo:
            return self._fragment(cfg, packet, f, now, True, fast)
        if proto == _ICMP:
            if itype in _ICMP_ERRORS:
                return self._icmp_error(cfg, packet, f, True, fast, now)
            sport = dport = icmp_id
        table = self.table
        created = False
        e = table.by_inside.get((proto, src, sport, dst, dport))        # type: ignore[call-overload]
        if e is None or not self._alive(cfg, e, now):
            e = table.by_local.get(src)
            if e is not None and not self._alive(cfg, e, now):
                e = None
            if e is not None:
                if e.static and sport is not None:
                    e = create_static_child(self.table, e, proto, sport, dst, dport, sport, dport, flags, now)
            else:
                rule = self._permitting_rule(cfg, f)
                if rule is None:
                    return NatResult(UNTOUCHED, packet, "no NAT rule permits the flow")
                self.misses += 1
                made = self._create(cfg, rule, f, sport, dport, now)
                if isinstance(made, str):
                    return NatResult(DROP, packet, made)
                e, created, fast = made, True, False
        self.hits += not created
        self._use(e, proto, flags, now)
        new_port = sport if e.protocol is None or e.inside_global_port is None else e.inside_global_port
        out = rewrite(packet, total, ihl, proto, 0, True, e.inside_global, sport, new_port)
        if mf:  # remember the datagram for its other fragments
            self._frags.remember(FragmentKey(True, proto, src, dst, ident), e.inside_global, now)
        return NatResult(TRANSLATED, out, "", e, created,
                         (True, proto, src, sport, dst, dport, e.inside_global, ident, fast))

    def outside_to_inside(self, packet: bytes, in_iface: str, now: int, *,
                          fast: bool | None = None) -> NatResult:
        """Translate the destination of a packet that arrived on an ``ip nat outside`` interface.

        ``fast`` is for the debug tag only (default: fast-switched, ``NAT*``).
        """
        cfg = self._config()                 # _current_config(now), inline: asked of every packet in
        if cfg.nat_rules is not self._rules_seen or len(cfg.nat_rules) != self._rules_len:
            self._sync_static(cfg, now)
        i = cfg.interfaces.get(in_iface)
        if i is None or i.nat != "outside":
            return NatResult(UNTOUCHED, packet, "not an outside interface")
        try:
            f = read_flow(packet)
        except DecodeError as err:
            return NatResult(DROP, packet, str(err))
        proto, src, dst, sport, dport, itype, _, icmp_id, flags, ident, fo, mf, ihl, total = f
        if fast is None:
            fast = True
        if fo:
            return self._fragment(cfg, packet, f, now, False, fast)
        if proto == _ICMP:
            if itype in _ICMP_ERRORS:
                return self._icmp_error(cfg, packet, f, False, fast, now)
            sport = dport = icmp_id
        table = self.table
        e = table.by_outside.get((proto, dst, dport, src, sport))       # type: ignore[call-overload]
        if e is None or not self._alive(cfg, e, now):
            e = table.by_global.get(dst)
            if e is None or not self._alive(cfg, e, now):
                return untouched(packet, "no translation")
            if e.static and sport is not None:
                e = create_static_child(self.table, e, proto, dport, src, sport, dport, sport, flags, now)
        self.hits += 1
        self._use(e, proto, flags, now, answered=True)
        new_port = dport if e.protocol is None or e.inside_local_port is None else e.inside_local_port
        out = rewrite(packet, total, ihl, proto, 0, False, e.inside_local, dport, new_port)
        if mf:
            self._frags.remember(FragmentKey(False, proto, src, dst, ident), e.inside_local, now)
        return NatResult(TRANSLATED, out, "", e, False,
                         (False, proto, src, sport, dst, dport, e.inside_local, ident, fast))

    # ------------------------------------------------------------ helpers of the packet paths
    def _permitting_rule(self, cfg: DeviceConfig, f: IPv4Flow) -> NatRule | None:
        """The first dynamic ``ip nat inside source`` rule whose ACL/route-map permits the flow
        (counted in the ACL's match counters)."""
        flow = Flow.of(f)
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

    def _candidates(self, cfg: DeviceConfig, rule: NatRule) -> Iterable[bytes] | str:
        """Global addresses a rule may use, or an error string."""
        if rule.interface is not None:
            addr = address_bytes(self._address(rule.interface))
            if addr is None:
                return f"interface {rule.interface} has no address"
            return [addr]
        pool = cfg.nat_pools.get(rule.pool) if rule.pool else None
        if pool is None:
            return f"NAT pool {rule.pool} is not defined"
        start, end = int(pool.start), int(pool.end)
        return (a.to_bytes(4, "big") for a in range(start, end + 1))

    def _pool_miss(self, rule: NatRule) -> None:
        if rule.pool:
            self.pool_misses[rule.pool] = self.pool_misses.get(rule.pool, 0) + 1

    def _create(self, cfg: DeviceConfig, rule: NatRule, f: IPv4Flow, sport: int | None, dport: int | None,
                now: int) -> NatEntry | str:
        """Build the entry for a flow a rule permits; an error string when it cannot."""
        candidates = self._candidates(cfg, rule)
        if isinstance(candidates, str):
            return candidates
        create = create_overloaded if rule.overload else create_bound
        made = create(self.table, rule, candidates, f, sport, dport, now)
        if made is not None:
            return made
        self._pool_miss(rule)
        if rule.overload:
            return f"NAT pool {rule.pool}: no free address or port" if rule.pool else \
                f"no free port on {rule.interface}"
        return f"NAT pool {rule.pool} exhausted" if rule.pool else f"address of {rule.interface} already in use"

    def _fragment(self, cfg: DeviceConfig, packet: bytes, f: IPv4Flow, now: int, outbound: bool,
                  fast: bool) -> NatResult:
        """A non-initial fragment: translated like the first fragment of its datagram."""
        proto, src, dst = f.protocol, f.src, f.dst
        new = self._frags.lookup(FragmentKey(outbound, proto, src, dst, f.identification), now)
        entry = None
        if new is None:
            entry = self.table.by_local.get(src) if outbound else self.table.by_global.get(dst)
            if entry is not None and self._alive(cfg, entry, now):
                new = entry.inside_global if outbound else entry.inside_local
            elif not outbound:
                return NatResult(UNTOUCHED, packet, "no translation")
            elif self._permitting_rule(cfg, f):
                return NatResult(DROP, packet, "non-initial fragment of a datagram with no translation")
            else:
                return NatResult(UNTOUCHED, packet, "no NAT rule permits the flow")
        self.hits += 1
        out = rewrite(packet, f.total_length, f.header_length, proto, f.fragment_offset, outbound, new, None, None)
        return NatResult(TRANSLATED, out, "", entry, False,
                         (outbound, proto, src, None, dst, None, new, f.identification, fast))

    def _icmp_error(self, cfg: DeviceConfig, packet: bytes, f: IPv4Flow, outbound: bool, fast: bool,
                    now: int) -> NatResult:
        """An ICMP error about a translated flow: the outer address and the quoted datagram."""
        total, ihl = f.total_length, f.header_length
        try:
            inner = read_quoted_flow(packet if total == len(packet) else packet[:total], ihl + 8)
        except DecodeError:
            return NatResult(UNTOUCHED, packet, "icmp error without a usable quoted datagram")
        iproto, isrc, idst = inner.protocol, inner.src, inner.dst
        isport, idport = _ports(inner)
        table = self.table
        if outbound:
            # An inside host reports on a datagram that came in: it was sent to the inside local.
            e = table.by_inside.get((iproto, idst, idport, isrc, isport))      # type: ignore[call-overload]
            if e is None or not self._alive(cfg, e, now):
                e = table.by_local.get(idst)
            if e is None or f.src != e.inside_local or not self._alive(cfg, e, now):
                return NatResult(UNTOUCHED, packet, "icmp error about an untranslated flow")
            new, port = e.inside_global, (e.inside_global_port if e.protocol is not None else None)
        else:
            # An outside host reports on a datagram we sent: it came from the inside global.
            e = table.by_outside.get((iproto, isrc, isport, idst, idport))     # type: ignore[call-overload]
            if e is None or not self._alive(cfg, e, now):
                e = table.by_global.get(isrc)
            if e is None or f.dst != e.inside_global or not self._alive(cfg, e, now):
                return NatResult(UNTOUCHED, packet, "no translation")
            new, port = e.inside_local, (e.inside_local_port if e.protocol is not None else None)
        self.hits += 1
        self._use(e, _ICMP, None, now)
        out = rewrite_error(packet, total, ihl, inner, outbound, new, port)
        return NatResult(TRANSLATED, out, "", e, False,
                         (outbound, _ICMP, f.src, None, f.dst, None, new, f.identification, fast))

    # ------------------------------------------------------------ timers
    def expire(self, now: int) -> int:
        """Remove dynamic entries whose deadline is ``now`` or earlier; returns how many."""
        due = self.table.pop_due(self._config(), now)
        self.expired += len(due)
        self._frags.expire(now)
        return len(due)

    def next_expiry(self) -> int | None:
        """The earliest deadline of an entry (for the simulator's timer); None if none will time out."""
        return self.table.first_deadline(self._config())

    # The engine contract of ``emulator.sim.binding``.
    def get_timer(self) -> int | None:
        return self.table.first_deadline(self._config())

    def handle_timer(self, now: int) -> None:
        self.expire(now)

    # ------------------------------------------------------------ clearing
    def _clear(self, victims: list[NatEntry]) -> int:
        for e in victims:
            self.table.remove(e)
        return len(victims)

    def clear_all(self) -> int:
        """``clear ip nat translation *``: every dynamic entry (statics stay)."""
        return self._clear([e for e in self.table if not e.static])

    def clear_inside(self, global_ip: object, local_ip: object, outside_local: object = None,
                     outside_global: object = None) -> int:
        """``clear ip nat translation inside GLOBAL LOCAL [outside LOCAL GLOBAL]``: simple
        dynamic entries only (IOS command reference; extended ones need the protocol form)."""
        if outside_local is not None or outside_global is not None:
            return 0  # simple entries of inside-source NAT carry no outside addresses
        g, loc = address_bytes(global_ip), address_bytes(local_ip)
        return self._clear([e for e in self.table if not e.static and e.protocol is None
                            and e.inside_global == g and e.inside_local == loc])

    def clear_extended(self, protocol: str | int, global_ip: object, global_port: int, local_ip: object,
                       local_port: int, outside_local: object = None, outside_local_port: int | None = None,
                       outside_global: object = None, outside_global_port: int | None = None) -> int:
        """``clear ip nat translation {tcp|udp} inside GLOBAL GPORT LOCAL LPORT
        [outside LOCAL LPORT GLOBAL GPORT]``: matching extended dynamic entries."""
        if isinstance(protocol, str):
            proto = int(protocol) if protocol.isdigit() else PROTOCOLS.get(protocol.lower())
        else:
            proto = protocol
        inside = (address_bytes(global_ip), global_port, address_bytes(local_ip), local_port)
        ol, og = address_bytes(outside_local), address_bytes(outside_global)
        return self._clear([
            e for e in self.table
            if not e.static and e.protocol is not None and e.protocol == proto
            and (e.inside_global, e.inside_global_port, e.inside_local, e.inside_local_port) == inside
            and (outside_local is None or (e.outside_local, e.outside_local_port) == (ol, outside_local_port))
            and (outside_global is None or (e.outside_global, e.outside_global_port) == (og, outside_global_port))])

    def clear_statistics(self) -> None:
        """``clear ip nat statistics``: hits, misses, expired translations, pool misses."""
        self.hits = self.misses = self.expired = 0
        self.pool_misses.clear()
