"""Global addresses and PAT ports held by dynamic translations.

PAT (``overload``, reference §4.8) keeps the inside port when it is free on
the global address, otherwise it takes the first free port of the same
group 0-511, 512-1023, 1024-65535 (the search skips port 0 for TCP and UDP);
an inside address and port that already hold a global port keep it for
every destination.  ICMP queries use the echo identifier as the port.  A
protocol without ports (GRE, ESP...) holds the global address per outside
address, for one inside address at a time.

Without ``overload`` an inside address owns a whole global address (a
binding) while it has entries.

Both allocators count the entries that hold a port or an address; the last
one released frees it.  Nothing here knows about entries: the table calls
``hold`` when it adds one and ``release`` when it removes one.
"""

from __future__ import annotations

from typing import NamedTuple

from emulator.wire.ipv4 import IPProto

__all__ = ["PORT_GROUPS", "PortKey", "PortUser", "GroupKey", "MappingKey", "BindingKey",
           "PortAllocator", "AddressBinder", "port_group"]

# PAT port groups (reference §4.8).
PORT_GROUPS = ((0, 511), (512, 1023), (1024, 65535))
_LOW, _MIDDLE, _HIGH = PORT_GROUPS

_ICMP = int(IPProto.ICMP)
_new = tuple.__new__      # builds a key from the tuple of its fields, without NamedTuple's own __new__


class PortKey(NamedTuple):
    """A global port in use: per protocol and global address; per outside address for portless protocols."""

    protocol: int
    address: bytes              # inside global
    port: int | None            # global port (ICMP identifier); None for a protocol without ports
    outside: bytes | None       # only for a protocol without ports: the outside address


class PortUser(NamedTuple):
    """The inside address and port a global port was given to."""

    protocol: int
    address: bytes              # inside global
    inside_local: bytes
    inside_port: int


class GroupKey(NamedTuple):
    protocol: int
    address: bytes
    first: int                  # the group's lowest port (0, 512 or 1024)


class MappingKey(NamedTuple):
    """A dynamic ``ip nat inside source`` rule as ``show ip nat statistics`` counts it."""

    kind: str                   # "list" or "route-map"
    match: str | None           # the access list or route-map


class BindingKey(NamedTuple):
    mapping: MappingKey
    inside_local: bytes


def port_group(port: int) -> tuple[int, int]:
    """The (first, last) port of the group ``port`` belongs to (one of :data:`PORT_GROUPS`)."""
    if 1024 <= port <= 65535:
        return _HIGH
    if 512 <= port < 1024:
        return _MIDDLE
    if 0 <= port < 512:
        return _LOW
    raise ValueError(f"port {port} out of range")


class Holder:
    """Who holds a port or an address, and how many entries use it."""

    __slots__ = ("owner", "refs")

    def __init__(self, owner: tuple[bytes, int | None]):
        self.owner = owner          # (inside local, inside port or None)
        self.refs = 0


class PortAllocator:
    """PAT ports of every global address.

    ``slots`` maps each port in use to its holder; ``assigned`` maps an inside
    address and port to the global port it holds; ``hints`` keeps, per group,
    a port below which every port is taken, so that the n-th allocation in a
    crowded group does not test the n-1 ports taken before it.
    """

    __slots__ = ("slots", "assigned", "hints")

    def __init__(self) -> None:
        self.slots: dict[PortKey, Holder] = {}
        self.assigned: dict[PortUser, int] = {}
        self.hints: dict[GroupKey, int] = {}

    def choose(self, proto: int, address: bytes, inside_local: bytes, inside_port: int) -> int | None:
        """The global port for an inside address and port on ``address``; None when its group is full."""
        # Lookups pass plain tuples: a NamedTuple key equals and hashes as the tuple of its fields.
        mine: int | None = self.assigned.get(
            (proto, address, inside_local, inside_port))     # type: ignore[call-overload]
        if mine is not None:
            return mine
        slots = self.slots
        if (proto, address, inside_port, None) not in slots:
            return inside_port
        lo, hi = port_group(inside_port)
        first = 1 if lo == 0 and proto != _ICMP else lo
        hint_key = _new(GroupKey, (proto, address, lo))
        start = max(first, self.hints.get(hint_key, first))
        for p in range(start, hi + 1):
            if (proto, address, p, None) not in slots:
                self.hints[hint_key] = p
                return p
        self.hints[hint_key] = hi + 1
        return None

    def portless_free(self, key: PortKey, inside_local: bytes) -> bool:
        """Whether a portless flow of ``inside_local`` may use ``key`` (free, or already its own)."""
        holder = self.slots.get(key)
        return holder is None or holder.owner == (inside_local, None)

    def hold(self, key: PortKey, inside_local: bytes, inside_port: int | None) -> None:
        holder = self.slots.get(key)
        if holder is None:
            holder = self.slots[key] = Holder((inside_local, inside_port))
            if key.port is not None and inside_port is not None:
                self.assigned[_new(PortUser, (key.protocol, key.address, inside_local, inside_port))] = key.port
        holder.refs += 1

    def release(self, key: PortKey) -> None:
        holder = self.slots.get(key)
        if holder is None:
            return
        holder.refs -= 1
        if holder.refs > 0:
            return
        del self.slots[key]
        if key.port is None:
            return
        lo, _ = port_group(key.port)
        hint_key = _new(GroupKey, (key.protocol, key.address, lo))
        if self.hints.get(hint_key, lo) > key.port:
            self.hints[hint_key] = key.port
        local, port = holder.owner
        if port is not None:
            self.assigned.pop(PortUser(key.protocol, key.address, local, port), None)


class AddressBinder:
    """Global addresses owned by one inside address each (dynamic NAT without ``overload``).

    ``owners`` maps a global address to its holder; ``bindings`` maps a rule and
    inside address to the global address it owns.
    """

    __slots__ = ("owners", "bindings")

    def __init__(self) -> None:
        self.owners: dict[bytes, Holder] = {}
        self.bindings: dict[BindingKey, bytes] = {}

    def bound(self, key: BindingKey) -> bytes | None:
        return self.bindings.get(key)

    def owned(self, address: bytes) -> bool:
        return address in self.owners

    def hold(self, address: bytes, key: BindingKey) -> None:
        holder = self.owners.get(address)
        if holder is None:
            holder = self.owners[address] = Holder((key.inside_local, None))
            self.bindings[key] = address
        holder.refs += 1

    def release(self, address: bytes, key: BindingKey) -> None:
        holder = self.owners.get(address)
        if holder is None:
            return
        holder.refs -= 1
        if holder.refs <= 0:
            del self.owners[address]
            self.bindings.pop(key, None)
