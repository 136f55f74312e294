"""The typed configuration model of one IOS device.

Fields hold what the configuration states. ``None`` means "not stated" where
IOS would print nothing; defaults follow IOS 12.2 where IOS applies one.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from ipaddress import IPv4Address
from operator import attrgetter
from typing import Any, Callable, Generic, Hashable, TypeVar

T = TypeVar("T")


class KeyIndex(Generic[T]):
    """The keys of a list's items, for constant-time "is it stated already?" checks.

    ``keys_of(items)`` brings the index up to date first: items appended since
    the last look are added; a list that is another object or got shorter is
    indexed anew. An item replaced in place is not noticed, so the lists indexed
    here change by appending or by assigning a new list.
    """

    __slots__ = ("key", "_items", "_count", "_keys")

    def __init__(self, key: Callable[[T], Hashable]):
        self.key = key
        self._items: list[T] | None = None
        self._count = 0
        self._keys: set[Hashable] = set()

    def keys_of(self, items: list[T]) -> set[Hashable]:
        if items is not self._items or len(items) < self._count:
            self._items, self._count, self._keys = items, 0, set()
        if len(items) > self._count:
            self._keys.update(map(self.key, items[self._count:]))
            self._count = len(items)
        return self._keys


@dataclass
class TimestampService:
    facility: str                      # debug | log
    format: str = "uptime"             # uptime | datetime
    options: tuple[str, ...] = ()      # msec localtime show-timezone year


@dataclass
class Interface:
    name: str
    description: str | None = None
    address: IPv4Address | None = None
    mask: IPv4Address | None = None
    secondary: list[tuple[IPv4Address, IPv4Address]] = field(default_factory=list)
    negotiated: bool = False           # ip address negotiated
    directed_broadcast: bool | None = None
    nat: str | None = None             # inside | outside
    mop_enabled: bool | None = None
    encapsulation: str = "hdlc"        # hdlc (the serial default) | ppp | arpa
    mroute_cache: bool | None = None
    route_cache: bool | None = None
    crypto_map: str | None = None
    shutdown: bool = False
    bandwidth: int | None = None       # kbit/s
    delay: int | None = None           # tens of microseconds, as IOS counts it
    clock_rate: int | None = None
    peer_pool: str | None = None       # peer default ip address pool NAME
    peer_address: IPv4Address | None = None  # peer default ip address A.B.C.D
    peer_neighbor_route: bool = True
    keepalive: int | None = 10         # None: no keepalive
    dialer_group: int | None = None
    mtu: int | None = None             # mtu N: the interface MTU (None: the hardware's, 1500 here)
    ip_mtu: int | None = None          # ip mtu N (None: the interface MTU)
    stated: bool = field(default=False, compare=False)  # named by the configuration, not only hardware


@dataclass
class IsakmpPolicy:
    priority: int
    encryption: str = "des"            # des | 3des | aes [bits]
    key_length: int | None = None      # AES only
    hash: str = "sha"                  # IOS default: Secure Hash Standard
    authentication: str = "rsa-sig"    # IOS default
    group: int = 1
    lifetime: int = 86400


@dataclass
class IsakmpKey:
    key: str
    address: IPv4Address
    mask: IPv4Address | None = None


@dataclass
class TransformSet:
    name: str
    transforms: list[str]
    mode: str = "tunnel"


@dataclass
class CryptoMapEntry:
    """A static crypto map entry, a dynamic-map reference, or a dynamic-map entry."""

    name: str
    seq: int
    kind: str = "ipsec-isakmp"         # ipsec-isakmp | ipsec-manual | dynamic (for dynamic-map sets)
    dynamic_map: str | None = None     # crypto map NAME SEQ ipsec-isakmp dynamic DYN
    peers: list[IPv4Address] = field(default_factory=list)
    transform_sets: list[str] = field(default_factory=list)
    match_address: str | None = None
    pfs: str | None = None             # group1 | group2 | group5
    lifetime_seconds: int | None = None
    lifetime_kilobytes: int | None = None


@dataclass(frozen=True)
class AddressMatch:
    """``any``, ``host A`` or ``A WILDCARD``."""

    address: IPv4Address
    wildcard: IPv4Address

    def render(self) -> str:
        if int(self.wildcard) == 0xFFFFFFFF:
            return "any"
        if int(self.wildcard) == 0:
            return f"host {self.address}"
        return f"{self.address} {self.wildcard}"


@dataclass(frozen=True)
class PortMatch:
    op: str                            # eq | gt | lt | neq | range
    ports: tuple[int, ...]


@dataclass
class AccessListEntry:
    action: str                        # permit | deny
    protocol: str | None               # None for standard lists; ip | icmp | tcp | udp | esp | ... | number
    source: AddressMatch
    destination: AddressMatch | None = None
    source_port: PortMatch | None = None
    destination_port: PortMatch | None = None
    icmp_type: str | None = None
    established: bool = False
    log: bool = False
    remark: str | None = None          # a remark line instead of an entry

    def key(self) -> tuple[Any, ...]:
        """All the entry's fields, as a hashable value: equal entries have equal keys."""
        return _ENTRY_FIELDS(self)


# Every field, in order, as the dataclass's == compares them.
_ENTRY_FIELDS = attrgetter(*(f.name for f in fields(AccessListEntry)))


@dataclass
class AccessList:
    name: str                          # number or name
    kind: str                          # standard | extended
    named: bool = False
    entries: list[AccessListEntry] = field(default_factory=list)
    _index: KeyIndex[AccessListEntry] = field(default_factory=lambda: KeyIndex(AccessListEntry.key),
                                              init=False, repr=False, compare=False)

    def has_entry(self, entry: AccessListEntry) -> bool:
        """Whether an entry equal to ``entry`` is in the list, in constant time."""
        return entry.key() in self._index.keys_of(self.entries)


@dataclass
class RouteMapEntry:
    name: str
    action: str
    seq: int
    match_ip_address: list[str] = field(default_factory=list)


@dataclass
class NatRule:
    """``ip nat inside source ...``: list/route-map with interface or pool, or static."""

    direction: str = "inside"
    kind: str = "list"                 # list | route-map | static
    match: str | None = None           # ACL or route-map name
    interface: str | None = None
    pool: str | None = None
    overload: bool = False
    local: IPv4Address | None = None   # static
    global_: IPv4Address | None = None


@dataclass
class NatPool:
    name: str
    start: IPv4Address
    end: IPv4Address
    netmask: IPv4Address


@dataclass
class StaticRoute:
    prefix: IPv4Address
    mask: IPv4Address
    interface: str | None = None
    next_hop: IPv4Address | None = None
    distance: int | None = None


@dataclass
class LocalPool:
    name: str
    start: IPv4Address
    end: IPv4Address | None = None


@dataclass
class DialerList:
    number: int
    protocol: str
    action: str                        # permit | deny | list N


@dataclass
class Line:
    kind: str                          # con | aux | vty
    first: int
    last: int | None = None
    transport_input: list[str] | None = None
    password: str | None = None
    login: str | None = None           # "" for plain login, "local"
    exec_timeout: tuple[int, int] | None = None


@dataclass
class User:
    name: str
    privilege: int | None = None
    password: str = ""
    secret: bool = False


@dataclass
class DeviceConfig:
    version: str | None = None
    timestamps: list[TimestampService] = field(default_factory=list)
    timestamps_off: set[str] = field(default_factory=set)     # facilities turned off with "no service timestamps"
    password_encryption: bool | None = None
    hostname: str = "Router"
    enable_secret: str | None = None
    enable_password: str | None = None
    users: list[User] = field(default_factory=list)
    login_block: tuple[int, int, int] | None = None     # login block-for SECONDS attempts N within SECONDS
    logging_buffered: tuple[int, str] | None = None     # logging buffered SIZE LEVEL (None: buffer logging off)
    login_delay: int | None = None                      # login delay SECONDS
    ike_in_negotiation_limit: int | None = None         # crypto call admission limit ike in-negotiation-sa N
    subnet_zero: bool | None = None
    ip_routing: bool = True
    domain_lookup: bool | None = None
    domain_name: str | None = None
    default_gateway: IPv4Address | None = None
    isakmp_policies: dict[int, IsakmpPolicy] = field(default_factory=dict)
    isakmp_keys: list[IsakmpKey] = field(default_factory=list)
    sa_lifetime_seconds: int | None = None
    sa_lifetime_kilobytes: int | None = None
    transform_sets: dict[str, TransformSet] = field(default_factory=dict)
    dynamic_maps: dict[tuple[str, int], CryptoMapEntry] = field(default_factory=dict)
    crypto_maps: dict[tuple[str, int], CryptoMapEntry] = field(default_factory=dict)
    interfaces: dict[str, Interface] = field(default_factory=dict)
    local_pools: dict[str, LocalPool] = field(default_factory=dict)
    nat_pools: dict[str, NatPool] = field(default_factory=dict)
    nat_rules: list[NatRule] = field(default_factory=list)
    nat_timeouts: dict[str, int | None] = field(default_factory=dict)
    classless: bool | None = None
    static_routes: list[StaticRoute] = field(default_factory=list)
    http_server: bool | None = None
    access_lists: dict[str, AccessList] = field(default_factory=dict)
    dialer_lists: list[DialerList] = field(default_factory=list)
    route_maps: dict[tuple[str, int], RouteMapEntry] = field(default_factory=dict)
    lines: list[Line] = field(default_factory=list)
    _indexes: dict[str, KeyIndex[Any]] = field(default_factory=dict, init=False, repr=False, compare=False)

    def statement_keys(self, attribute: str) -> set[Hashable]:
        """The keys (see ``STATEMENT_KEYS``) of the statements in list ``attribute``."""
        index = self._indexes.get(attribute)
        if index is None:
            index = self._indexes[attribute] = KeyIndex(STATEMENT_KEYS[attribute])
        return index.keys_of(getattr(self, attribute))

    def interface(self, name: str) -> Interface:
        if name not in self.interfaces:
            self.interfaces[name] = Interface(name)
        return self.interfaces[name]


def nat_rule_key(rule: NatRule) -> tuple[str, Any]:
    return (rule.kind, rule.match) if rule.kind != "static" else (rule.kind, rule.local)


# What identifies a statement of a list: a new statement with the same key replaces the old one.
STATEMENT_KEYS: dict[str, Callable[[Any], Hashable]] = {
    "users": attrgetter("name"),
    "isakmp_keys": attrgetter("address", "mask"),
    "nat_rules": nat_rule_key,
    "static_routes": attrgetter("prefix", "mask", "interface", "next_hop"),
    "dialer_lists": attrgetter("number", "protocol"),
}
