"""Building a translation for a new flow: a dynamic one a rule permits, or one under a static entry.

``overload`` (PAT) takes the first candidate global address with a free port
(see :mod:`~emulator.engines.nat.ports`); without it the inside address binds
a whole global address.  A route-map rule builds extended entries either way,
a plain access list without ``overload`` simple (address-only) ones.  Both
functions return None when no candidate address (or port) is free; the
table holds what the new entry uses from the moment it is added.
"""

from __future__ import annotations

from typing import Iterable

from emulator.config.model import NatRule
from emulator.engines.nat.ports import BindingKey, PortKey
from emulator.engines.nat.table import NatEntry, NatTable
from emulator.engines.nat.timeouts import TimeoutKind, kind_for
from emulator.wire.flow import IPv4Flow
from emulator.wire.ipv4 import IPProto

__all__ = ["create_overloaded", "create_bound", "create_static_child"]

_ICMP = int(IPProto.ICMP)
_new = tuple.__new__      # builds a key from the tuple of its fields, without NamedTuple's own __new__


def create_overloaded(table: NatTable, rule: NatRule, candidates: Iterable[bytes], f: IPv4Flow,
                      sport: int | None, dport: int | None, now: int) -> NatEntry | None:
    """PAT: the first candidate address with a free port (a portless flow: free for this host)."""
    proto, src, dst = f.protocol, f.src, f.dst
    mapping = table.mapping(rule.kind, rule.match)
    for ig in candidates:
        if ig in table.by_global or ig in table.addresses.owners:
            continue  # held by a static or a one-to-one translation
        if sport is None:
            key = PortKey(proto, ig, None, dst)
            if not table.ports.portless_free(key, src):
                continue
            igp = None
        else:
            igp = table.ports.choose(proto, ig, src, sport)
            if igp is None:
                continue
            key = _new(PortKey, (proto, ig, igp, None))
        e = NatEntry(proto, src, ig, inside_local_port=sport, inside_global_port=igp,
                     outside=dst, outside_local_port=sport if proto == _ICMP else dport,
                     outside_global_port=igp if proto == _ICMP else dport, now=now,
                     timeout_kind=kind_for(proto, dport, f.tcp_flags), mapping=mapping, pool=rule.pool)
        e.port_key = key
        table.add(e)
        return e
    return None


def create_bound(table: NatTable, rule: NatRule, candidates: Iterable[bytes], f: IPv4Flow,
                 sport: int | None, dport: int | None, now: int) -> NatEntry | None:
    """One-to-one: the inside address owns a global address while it has entries."""
    proto, src = f.protocol, f.src
    mapping = table.mapping(rule.kind, rule.match)
    bkey = BindingKey(mapping, src)
    ig = table.addresses.bound(bkey)
    if ig is None:
        ig = next((c for c in candidates if not table.addresses.owned(c) and c not in table.by_global), None)
        if ig is None:
            return None
    if rule.kind == "route-map":
        e = NatEntry(proto, src, ig, inside_local_port=sport, inside_global_port=sport,
                     outside=f.dst, outside_local_port=sport if proto == _ICMP else dport,
                     outside_global_port=sport if proto == _ICMP else dport, now=now,
                     timeout_kind=kind_for(proto, dport, f.tcp_flags), mapping=mapping, pool=rule.pool)
    else:
        e = NatEntry(None, src, ig, now=now, timeout_kind=TimeoutKind.TIMEOUT, mapping=mapping, pool=rule.pool)
    e.addr_key, e.binding_key = ig, bkey
    table.add(e)
    return e


def create_static_child(table: NatTable, parent: NatEntry, proto: int, ilp: int | None, outside: bytes,
                        olp: int | None, igp: int | None, ogp: int | None, flags: int | None, now: int) -> NatEntry:
    """An extended entry for one flow through a static translation (IOS lists these)."""
    if proto == _ICMP:
        olp = ogp = ilp
    e = NatEntry(proto, parent.inside_local, parent.inside_global, inside_local_port=ilp,
                 inside_global_port=igp, outside=outside, outside_local_port=olp,
                 outside_global_port=ogp, now=now, parent=parent, timeout_kind=kind_for(proto, olp, flags))
    table.add(e)
    return e
