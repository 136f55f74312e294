"""The translation table: entries and every index over them, kept consistent in one place.

An entry is added with :meth:`NatTable.add` and leaves with
:meth:`NatTable.remove` (or :meth:`NatTable.pop_due` when it times out);
those are the only code that touches the indexes, the global ports and
addresses the entry holds, the rule reference counts, a static entry's
children and the expiry queue.

Indexes (all O(1) per packet):

* ``by_inside``: extended entries by :class:`InsideKey`, the flow as an inside
  host sends it;
* ``by_outside``: extended entries by :class:`OutsideKey`, the flow as the
  answer arrives from outside;
* ``by_local`` / ``by_global``: simple (address-only) entries by inside local
  and inside global address.

Lookups may pass plain tuples of the key's fields: a ``NamedTuple`` equals
and hashes as the tuple of its fields.
"""

from __future__ import annotations

from typing import Iterator, NamedTuple

from emulator.config.model import DeviceConfig
from emulator.engines.nat.ports import AddressBinder, BindingKey, MappingKey, PortAllocator, PortKey
from emulator.engines.nat.timeouts import ExpiryQueue, TimeoutKind

__all__ = ["InsideKey", "OutsideKey", "NatEntry", "NatTable"]

_new = tuple.__new__      # builds a key from the tuple of its fields, without NamedTuple's own __new__


class InsideKey(NamedTuple):
    """An extended entry as the inside host's packets name it (source first)."""

    protocol: int
    inside_local: bytes
    inside_port: int | None
    outside: bytes | None
    outside_port: int | None


class OutsideKey(NamedTuple):
    """An extended entry as the answers from outside name it (destination first)."""

    protocol: int
    inside_global: bytes
    global_port: int | None
    outside: bytes | None
    outside_port: int | None


class NatEntry:
    """One translation.  Addresses are packed 4-byte values.

    ``protocol`` is None for a simple (address-only) entry.  ``timeout_kind`` is
    the ``ip nat translation`` kind that times the entry out, None for statics.
    ``use_count`` counts the extended entries made under a static entry (its
    ``children``).  ``mapping`` and ``pool`` name the rule that built a dynamic
    entry; ``port_key`` / ``addr_key`` and ``binding_key`` what it holds.
    """

    __slots__ = ("protocol", "inside_local", "inside_local_port", "inside_global", "inside_global_port",
                 "outside_local", "outside_local_port", "outside_global", "outside_global_port",
                 "static", "created", "last_used", "timeout_kind", "timing_out", "mapping", "pool",
                 "parent", "children", "use_count", "packets", "in_key", "out_key", "port_key", "addr_key",
                 "binding_key", "expiry_seq", "expiry_key")

    def __init__(self, protocol: int | None, inside_local: bytes, inside_global: bytes, *,
                 inside_local_port: int | None = None, inside_global_port: int | None = None,
                 outside: bytes | None = None, outside_local_port: int | None = None,
                 outside_global_port: int | None = None, static: bool = False, now: int = 0,
                 timeout_kind: TimeoutKind | None = None, mapping: MappingKey | None = None,
                 pool: str | None = None, parent: NatEntry | None = None):
        self.protocol = protocol
        self.inside_local = inside_local
        self.inside_local_port = inside_local_port
        self.inside_global = inside_global
        self.inside_global_port = inside_global_port
        self.outside_local: bytes | None = outside
        self.outside_global: bytes | None = outside
        self.outside_local_port = outside_local_port
        self.outside_global_port = outside_global_port
        self.static = static
        self.created = self.last_used = now
        self.timeout_kind = timeout_kind
        self.timing_out = False
        self.mapping = mapping
        self.pool = pool
        self.parent = parent
        self.children: dict[NatEntry, None] | None = None      # made with the first child
        self.use_count = 0
        self.packets = 0
        self.in_key: InsideKey | None = None
        self.out_key: OutsideKey | None = None
        self.port_key: PortKey | None = None
        self.addr_key: bytes | None = None
        self.binding_key: BindingKey | None = None
        self.expiry_seq = 0
        self.expiry_key = 0

    @property
    def extended(self) -> bool:
        return self.protocol is not None

    @property
    def dynamic(self) -> bool:
        return not self.static

    def __repr__(self) -> str:
        def a(addr: bytes | None, port: int | None) -> str:
            text = ".".join(map(str, addr)) if addr is not None else "-"
            return text if port is None else f"{text}:{port}"
        return (f"NatEntry(proto={self.protocol}, local={a(self.inside_local, self.inside_local_port)}, "
                f"global={a(self.inside_global, self.inside_global_port)}, "
                f"outside={a(self.outside_local, self.outside_local_port)}, static={self.static})")


class NatTable:
    """The entries of one router, in creation order, with their indexes (see the module docstring)."""

    __slots__ = ("entries", "by_inside", "by_outside", "by_local", "by_global", "refcounts",
                 "ports", "addresses", "expiry", "_mappings")

    def __init__(self) -> None:
        self.entries: dict[NatEntry, None] = {}          # insertion ordered
        self.by_inside: dict[InsideKey, NatEntry] = {}
        self.by_outside: dict[OutsideKey, NatEntry] = {}
        self.by_local: dict[bytes, NatEntry] = {}
        self.by_global: dict[bytes, NatEntry] = {}
        self.refcounts: dict[MappingKey, int] = {}
        self.ports = PortAllocator()
        self.addresses = AddressBinder()
        self.expiry: ExpiryQueue[NatEntry] = ExpiryQueue()
        self._mappings: dict[tuple[str, str | None], MappingKey] = {}

    def __len__(self) -> int:
        return len(self.entries)

    def __iter__(self) -> Iterator[NatEntry]:
        return iter(self.entries)

    def __contains__(self, entry: object) -> bool:
        return entry in self.entries

    def mapping(self, kind: str, match: str | None) -> MappingKey:
        """The key of a dynamic rule, one object shared by all the entries it builds."""
        key = (kind, match)
        mapping = self._mappings.get(key)
        if mapping is None:
            mapping = self._mappings[key] = MappingKey(kind, match)
        return mapping

    def add(self, e: NatEntry) -> None:
        """Enter ``e`` in every index and hold what it uses."""
        self.entries[e] = None
        if e.protocol is None:
            self.by_local[e.inside_local] = e
            self.by_global[e.inside_global] = e
        else:
            e.in_key = _new(InsideKey, (e.protocol, e.inside_local, e.inside_local_port, e.outside_local,
                                        e.outside_local_port))
            e.out_key = _new(OutsideKey, (e.protocol, e.inside_global, e.inside_global_port, e.outside_global,
                                          e.outside_global_port))
            self.by_inside[e.in_key] = e
            self.by_outside[e.out_key] = e
        if e.port_key is not None:
            self.ports.hold(e.port_key, e.inside_local, e.inside_local_port)
        if e.addr_key is not None and e.binding_key is not None:
            self.addresses.hold(e.addr_key, e.binding_key)
        if e.mapping is not None:
            self.refcounts[e.mapping] = self.refcounts.get(e.mapping, 0) + 1
        parent = e.parent
        if parent is not None:
            if parent.children is None:
                parent.children = {}
            parent.children[e] = None
            parent.use_count += 1
        self.expiry.add(e)

    def remove(self, e: NatEntry) -> None:
        """Take ``e`` out of every index and release what it held (a static entry's children go too)."""
        if e not in self.entries:
            return
        del self.entries[e]
        if e.protocol is None:
            if self.by_local.get(e.inside_local) is e:
                del self.by_local[e.inside_local]
            if self.by_global.get(e.inside_global) is e:
                del self.by_global[e.inside_global]
        else:
            if e.in_key is not None and self.by_inside.get(e.in_key) is e:
                del self.by_inside[e.in_key]
            if e.out_key is not None and self.by_outside.get(e.out_key) is e:
                del self.by_outside[e.out_key]
        if e.port_key is not None:
            self.ports.release(e.port_key)
        if e.addr_key is not None and e.binding_key is not None:
            self.addresses.release(e.addr_key, e.binding_key)
        if e.mapping is not None:
            self.refcounts[e.mapping] -= 1
        parent = e.parent
        if parent is not None:
            if parent.children is not None:
                parent.children.pop(e, None)
            parent.use_count -= 1
        self.expiry.discard(e)
        if e.children:
            for child in list(e.children):
                self.remove(child)

    def used(self, e: NatEntry, old_kind: TimeoutKind | None) -> None:
        """Tell the expiry queue that ``e`` was used (its last use or kind changed)."""
        self.expiry.used(e, old_kind)

    def first_deadline(self, cfg: DeviceConfig) -> int | None:
        return self.expiry.first_deadline(cfg)

    def pop_due(self, cfg: DeviceConfig, now: int) -> list[NatEntry]:
        """Remove and return the entries whose deadline is ``now`` or earlier."""
        due = self.expiry.pop_due(cfg, now)
        for e in due:
            self.remove(e)
        return due
