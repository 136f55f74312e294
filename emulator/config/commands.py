"""Configuration-mode commands: their grammar and what each does to the model."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any, Callable, Hashable, TypeVar

from emulator.config import acl_syntax  # noqa: F401  (registers the access-list entry types)
from emulator.config.grammar import CommandError, Grammar, Token, is_number, tokenize
from emulator.config.model import (
    STATEMENT_KEYS,
    AccessList,
    CryptoMapEntry,
    DeviceConfig,
    DialerList,
    Interface,
    IsakmpKey,
    IsakmpPolicy,
    Line,
    LocalPool,
    NatPool,
    NatRule,
    RouteMapEntry,
    StaticRoute,
    TimestampService,
    TransformSet,
    User,
    nat_rule_key,
)
from emulator.config.secrets import md5_crypt, salt_for

GLOBAL = "config"
INTERFACE = "config-if"
ISAKMP = "config-isakmp"
TRANSFORM = "cfg-crypto-trans"
CRYPTO_MAP = "config-crypto-map"
DYNAMIC_MAP = "config-crypto-map "  # same prompt as a crypto map, other commands
ROUTE_MAP = "config-route-map"
LINE = "config-line"
EXT_NACL = "config-ext-nacl"
STD_NACL = "config-std-nacl"

# Physical interfaces must exist in the hardware; these kinds are created on demand.
VIRTUAL_INTERFACES = ("Loopback", "Tunnel", "Dialer", "Virtual-Template", "Null")


@dataclass
class ConfigContext:
    """Where configuration lines land: the model, the current mode and its object."""

    model: DeviceConfig
    hardware: set[str] | None = None   # interface names the device has; None: any
    mode: str = GLOBAL
    target: Any = None
    on_change: Callable[[str, Any], None] | None = None  # told of interface changes
    booting: bool = False              # loading a startup configuration

    def prompt_mode(self) -> str:
        return self.mode.strip()


class ConfigApplyError(Exception):
    """An action refused a line that parsed (IOS prints its own message)."""

    def __init__(self, message: str, column: int | None = None):
        super().__init__(message)
        self.column = column


GRAMMARS: dict[str, Grammar] = {m: Grammar(m) for m in (
    GLOBAL, INTERFACE, ISAKMP, TRANSFORM, CRYPTO_MAP, DYNAMIC_MAP, ROUTE_MAP, LINE, EXT_NACL, STD_NACL)}


def command(mode: str, *specs: str):
    def register(fn):
        for spec in specs:
            GRAMMARS[mode].add(spec, fn)
        return fn
    return register


def _kw(args: dict, word: str) -> bool:
    return word in args.get("_keywords", ())


# ---------------------------------------------------------------- on/off statements

def _switch(mode: str, spec: str, attribute: str) -> None:
    """A statement that is on as written and off with ``no``, kept in one model attribute."""
    def action(ctx, args, neg):
        target = ctx.model if mode == GLOBAL else ctx.target
        setattr(target, attribute, not neg)
    GRAMMARS[mode].add(spec, action)


for _spec, _attribute in (("service password-encryption", "password_encryption"),
                          ("ip subnet-zero", "subnet_zero"), ("ip classless", "classless"),
                          ("ip routing", "ip_routing"), ("ip domain-lookup", "domain_lookup"),
                          ("ip http server", "http_server")):
    _switch(GLOBAL, _spec, _attribute)
for _spec, _attribute in (("ip directed-broadcast", "directed_broadcast"), ("mop enabled", "mop_enabled"),
                          ("ip mroute-cache", "mroute_cache"), ("ip route-cache", "route_cache"),
                          ("peer neighbor-route", "peer_neighbor_route")):
    _switch(INTERFACE, _spec, _attribute)


# ---------------------------------------------------------------- keeping the model's order

K = TypeVar("K")
V = TypeVar("V")


def _restate(model: DeviceConfig, attribute: str, key: Hashable, new: Any | None) -> None:
    """Drop the statements of list ``attribute`` whose key (``STATEMENT_KEYS``) is ``key``, then
    append ``new`` unless it is None. A list that loses statements is replaced by a new list, so
    that whoever watches it sees the change; the key check keeps loading linear."""
    items = getattr(model, attribute)
    if key in model.statement_keys(attribute):
        key_of = STATEMENT_KEYS[attribute]
        items = [item for item in items if key_of(item) != key]
        setattr(model, attribute, items)
    if new is not None:
        items.append(new)


def _by_key(item: tuple[Any, Any]) -> Any:
    return item[0]


def _insert_sorted(table: dict[K, V], key: K, value: V, order: Callable[[tuple[K, V]], Any]) -> dict[K, V]:
    """``table`` with the new ``key`` added where ``order`` sorts it: in place when it sorts last (as
    configurations mostly list things), else as a new, sorted dict."""
    if table and order((key, value)) < order(next(reversed(table.items()))):
        table[key] = value
        return dict(sorted(table.items(), key=order))
    table[key] = value
    return table


# ---------------------------------------------------------------- global

@command(GLOBAL, "version <v:line>")
def _version(ctx, args, neg):
    ctx.model.version = None if neg else args["v"]


# After ``datetime`` IOS takes its options in any order, each at most once.
_DATETIME_OPTIONS = ("msec", "localtime", "show-timezone", "year")
_TIMESTAMP_SPECS = ["service timestamps [<facility:debug|log>] [uptime]"] + [
    "service timestamps [<facility:debug|log>] datetime" + "".join(" " + o for o in order)
    for n in range(len(_DATETIME_OPTIONS) + 1)
    for order in itertools.permutations(_DATETIME_OPTIONS, n)]


@command(GLOBAL, *_TIMESTAMP_SPECS)
def _timestamps(ctx, args, neg):
    facility = args.get("facility", "debug")
    ctx.model.timestamps = [t for t in ctx.model.timestamps if t.facility != facility]
    if neg:
        ctx.model.timestamps_off.add(facility)
        return
    ctx.model.timestamps_off.discard(facility)
    options = tuple(k for k in _DATETIME_OPTIONS if _kw(args, k))
    fmt = "datetime" if _kw(args, "datetime") else "uptime"
    ctx.model.timestamps.append(TimestampService(facility, fmt, options))
    ctx.model.timestamps.sort(key=lambda t: t.facility)


@command(GLOBAL, "hostname <name:word>")
def _hostname(ctx, args, neg):
    ctx.model.hostname = "Router" if neg else args["name"]


@command(GLOBAL, "enable secret <pw:line>", "enable password <pw:line>")
def _enable(ctx, args, neg):
    value = None if neg else args.get("pw")
    if _kw(args, "secret"):
        ctx.model.enable_secret = None if value is None else _type5(value, f"{ctx.model.hostname}/enable")
    else:
        ctx.model.enable_password = value


def _typed(value: str) -> str:
    """A password as IOS keeps it, with its type: ``0 TEXT`` (clear) or ``7 HEX`` (obfuscated)."""
    return value if value[:2] in ("0 ", "7 ") else f"0 {value}"


def _type5(value: str, context: str) -> str:
    """A secret as IOS keeps it: ``5 $1$salt$hash`` (clear text given plain or as ``0 TEXT`` is hashed)."""
    kind, _, rest = value.partition(" ")
    if kind == "5" and rest:
        return value
    clear = rest if kind == "0" and rest else value
    return f"5 {md5_crypt(clear, salt_for(clear, context))}"


@command(GLOBAL, "username <name:word> [privilege <priv:0-15>] <kind:password|secret> <pw:line>")
def _username(ctx, args, neg):
    user = None
    if not neg:
        secret = args["kind"] == "secret"
        value = _type5(args["pw"], f"{ctx.model.hostname}/{args['name']}") if secret else _typed(args["pw"])
        user = User(args["name"], args.get("priv"), value, secret)
    _restate(ctx.model, "users", args["name"], user)


def software_version(model) -> tuple[int, int]:
    """(major, minor) of the configuration's ``version`` line; 12.2, the emulated software, without one."""
    found = re.match(r"\s*(\d+)\.(\d+)", model.version or "")
    return (int(found.group(1)), int(found.group(2))) if found else (12, 2)


def _since(ctx, release: tuple[int, int], word: int) -> None:
    """Refuse a command the configuration's IOS release does not have: the caret under word ``word``.

    IOS trains are not told apart: a command of 12.3(4)T is taken from ``version 12.3`` on.
    """
    if software_version(ctx.model) < release:
        raise ConfigApplyError("invalid", column=word)


@command(GLOBAL, "login block-for <block:1-65535> attempts <tries:1-65535> within <within:1-65535>")
def _login_block_for(ctx, args, neg):
    _since(ctx, (12, 3), 0)
    ctx.model.login_block = None if neg else (args["block"], args["tries"], args["within"])


@command(GLOBAL, "login delay <seconds:1-10>")
def _login_delay(ctx, args, neg):
    _since(ctx, (12, 3), 0)
    ctx.model.login_delay = None if neg else args["seconds"]


@command(GLOBAL, "crypto call admission limit ike in-negotiation-sa <n:10-99999>")
def _ike_in_negotiation(ctx, args, neg):
    _since(ctx, (12, 3), 1)
    ctx.model.ike_in_negotiation_limit = None if neg else args["n"]


# Syslog severities, most severe first: a level takes its own messages and the more severe ones.
LOG_LEVELS = ("emergencies", "alerts", "critical", "errors", "warnings", "notifications", "informational",
              "debugging")
DEFAULT_LOG_BUFFER = 4096      # bytes, what ``logging buffered`` alone gives on a 2500
_LEVEL_NAMES = "|".join(LOG_LEVELS)


@command(GLOBAL, f"logging buffered [<size:4096-2147483647>] [<level:{_LEVEL_NAMES}>]",
         "logging buffered [<size:4096-2147483647>] <number:0-7>")
def _logging_buffered(ctx, args, neg):
    if neg:
        ctx.model.logging_buffered = None
        return
    level = LOG_LEVELS[args["number"]] if "number" in args else args.get("level", "debugging")
    ctx.model.logging_buffered = (args.get("size", DEFAULT_LOG_BUFFER), level)


@command(GLOBAL, "ip domain-name <name:word>")
def _domain_name(ctx, args, neg):
    ctx.model.domain_name = None if neg else args["name"]


@command(GLOBAL, "ip default-gateway <gw:ip>")
def _default_gateway(ctx, args, neg):
    ctx.model.default_gateway = None if neg else args["gw"]


@command(GLOBAL, "ip route <prefix:ip> <mask:mask> <via:if> [<distance:1-255>]",
         "ip route <prefix:ip> <mask:mask> <hop:ip> [<distance:1-255>]")
def _route(ctx, args, neg):
    route = StaticRoute(args["prefix"], args["mask"], args.get("via"), args.get("hop"), args.get("distance"))
    _check_mask(args["mask"])
    key = (route.prefix, route.mask, route.interface, route.next_hop)
    _restate(ctx.model, "static_routes", key, None if neg else route)


@command(GLOBAL, "ip local pool <name:word> <start:ip> [<end:ip>]")
def _local_pool(ctx, args, neg):
    if neg:
        ctx.model.local_pools.pop(args["name"], None)
        return
    end = args.get("end")
    if end is not None and int(end) < int(args["start"]):
        raise ConfigApplyError("%Bad IP range")
    ctx.model.local_pools[args["name"]] = LocalPool(args["name"], args["start"], end)


@command(GLOBAL, "ip nat pool <name:word> <start:ip> <end:ip> netmask <mask:mask>")
def _nat_pool(ctx, args, neg):
    if neg:
        ctx.model.nat_pools.pop(args["name"], None)
    else:
        ctx.model.nat_pools[args["name"]] = NatPool(args["name"], args["start"], args["end"], args["mask"])


@command(GLOBAL,
         "ip nat inside source list <match:word> interface <iface:if> [overload]",
         "ip nat inside source route-map <match:word> interface <iface:if> [overload]",
         "ip nat inside source list <match:word> pool <pool:word> [overload]",
         "ip nat inside source route-map <match:word> pool <pool:word> [overload]",
         "ip nat inside source static <local:ip> <global:ip>")
def _nat_rule(ctx, args, neg):
    if "local" in args:
        rule = NatRule(kind="static", local=args["local"], global_=args["global"])
    else:
        rule = NatRule(kind="route-map" if _kw(args, "route-map") else "list", match=args["match"],
                       interface=args.get("iface"), pool=args.get("pool"), overload=_kw(args, "overload"))
    _restate(ctx.model, "nat_rules", nat_rule_key(rule), None if neg else rule)


_NAT_TIMEOUTS = "timeout|udp-timeout|tcp-timeout|icmp-timeout|finrst-timeout|syn-timeout|dns-timeout"


@command(GLOBAL, f"ip nat translation <which:{_NAT_TIMEOUTS}> <seconds:0-2147483>",
         f"ip nat translation <which:{_NAT_TIMEOUTS}> never")
def _nat_timeout(ctx, args, neg):
    which = args["which"]
    if neg:
        ctx.model.nat_timeouts.pop(which, None)
    else:
        ctx.model.nat_timeouts[which] = args.get("seconds")  # None: never


@command(GLOBAL, "crypto isakmp policy <prio:1-10000>")
def _isakmp_policy(ctx, args, neg):
    prio = args["prio"]
    if neg:
        ctx.model.isakmp_policies.pop(prio, None)
        return None
    policy = ctx.model.isakmp_policies.get(prio)
    if policy is None:
        policy = IsakmpPolicy(prio)
        ctx.model.isakmp_policies = _insert_sorted(ctx.model.isakmp_policies, prio, policy, _by_key)
    return ISAKMP, policy


@command(GLOBAL, "crypto isakmp key <key:word> address <addr:ip> [<mask:mask>]")
def _isakmp_key(ctx, args, neg):
    mask = args.get("mask")
    if mask is not None and int(mask) == 0xFFFFFFFF:
        mask = None  # a host mask is the same as none
    psk = None if neg else IsakmpKey(args["key"], args["addr"], mask)
    _restate(ctx.model, "isakmp_keys", (args["addr"], mask), psk)


@command(GLOBAL, "crypto ipsec security-association lifetime <unit:seconds|kilobytes> <value:120-86400>",
         "crypto ipsec security-association lifetime kilobytes <kb:2560-536870912>")
def _global_lifetime(ctx, args, neg):
    if args.get("unit") == "seconds":
        ctx.model.sa_lifetime_seconds = None if neg else args["value"]
    else:
        ctx.model.sa_lifetime_kilobytes = None if neg else args.get("kb", args.get("value"))


TRANSFORMS = ("ah-md5-hmac", "ah-sha-hmac", "esp-des", "esp-3des", "esp-aes", "esp-null",
              "esp-md5-hmac", "esp-sha-hmac", "comp-lzs")
_T = "|".join(TRANSFORMS)


@command(GLOBAL, f"crypto ipsec transform-set <name:word> <t1:{_T}> [<t2:{_T}>] [<t3:{_T}>]")
def _transform_set(ctx, args, neg):
    name = args["name"]
    if neg:
        ctx.model.transform_sets.pop(name, None)
        return None
    transforms = [args[k] for k in ("t1", "t2", "t3") if k in args]
    _check_transforms(transforms)
    existing = ctx.model.transform_sets.get(name)
    tset = TransformSet(name, transforms, existing.mode if existing else "tunnel")
    ctx.model.transform_sets[name] = tset
    return TRANSFORM, tset


def _check_transforms(transforms: list[str]) -> None:
    kinds = {"ah": 0, "esp-enc": 0, "esp-auth": 0, "comp": 0}
    for t in transforms:
        k = ("ah" if t.startswith("ah-") else "comp" if t.startswith("comp")
             else "esp-auth" if t.endswith("-hmac") else "esp-enc")
        kinds[k] += 1
    if any(v > 1 for v in kinds.values()):
        raise ConfigApplyError("ERROR: transform set with more than one transform of a kind is invalid")


@command(GLOBAL, "crypto dynamic-map <name:word> <seq:1-65535>")
def _dynamic_map(ctx, args, neg):
    key = (args["name"], args["seq"])
    if neg:
        ctx.model.dynamic_maps.pop(key, None)
        return None
    entry = ctx.model.dynamic_maps.get(key)
    if entry is None:
        entry = CryptoMapEntry(args["name"], args["seq"], kind="dynamic")
        ctx.model.dynamic_maps = _insert_sorted(ctx.model.dynamic_maps, key, entry, _by_key)
    return DYNAMIC_MAP, entry


@command(GLOBAL, "crypto map <name:word> <seq:1-65535> ipsec-isakmp [dynamic <dyn:word>]",
         "crypto map <name:word> <seq:1-65535>")
def _crypto_map(ctx, args, neg):
    key = (args["name"], args["seq"])
    if neg:
        ctx.model.crypto_maps.pop(key, None)
        return None
    entry = ctx.model.crypto_maps.get(key)
    if entry is None:
        entry = CryptoMapEntry(args["name"], args["seq"], dynamic_map=args.get("dyn"))
        ctx.model.crypto_maps = _insert_sorted(ctx.model.crypto_maps, key, entry, _by_key)
    elif "dyn" in args:
        entry.dynamic_map = args["dyn"]
    if entry.dynamic_map:
        return None  # a dynamic-map reference has no sub-mode of its own
    return CRYPTO_MAP, entry


@command(GLOBAL, "interface <iface:if>")
def _interface(ctx, args, neg):
    name = args["iface"]
    if ctx.hardware is not None and name not in ctx.hardware and not name.startswith(VIRTUAL_INTERFACES):
        raise ConfigApplyError("invalid", column=-1)
    if neg:
        if not name.startswith(VIRTUAL_INTERFACES):
            raise ConfigApplyError("% Removal of physical interfaces is not permitted")
        ctx.model.interfaces.pop(name, None)
        return None
    iface = ctx.model.interface(name)
    if not iface.stated:
        iface.stated = True
        if ctx.booting:
            iface.shutdown = False  # a startup configuration names the interfaces it brings up
    return INTERFACE, iface


@command(GLOBAL, "access-list <num:1-99> <action:permit|deny> <entry:std-entry>",
         "access-list <num:1-99> remark <text:line>",
         "access-list <num:100-199> <action:permit|deny> <entry:ext-entry>",
         "access-list <num:100-199> remark <text:line>")
def _numbered_acl(ctx, args, neg):
    name = str(args["num"])
    if neg:
        ctx.model.access_lists.pop(name, None)
        return
    kind = "standard" if args["num"] < 100 else "extended"
    acl = ctx.model.access_lists.get(name)
    if acl is None:
        acl = AccessList(name, kind)
        ctx.model.access_lists = _insert_sorted(ctx.model.access_lists, name, acl, _acl_order)
    _append_entry(acl, args)


def _acl_order(item: tuple[str, AccessList]) -> tuple[bool, int, str]:
    """Numbered lists first, by number; then named lists, by name."""
    acl = item[1]
    return (acl.named, int(acl.name) if not acl.named else 0, acl.name)


def _append_entry(acl: AccessList, args: dict) -> None:
    from emulator.config.acl_syntax import ANY
    from emulator.config.model import AccessListEntry
    if "text" in args:
        acl.entries.append(AccessListEntry("remark", None, ANY, remark=args["text"]))
        return
    entry = args["entry"]
    entry.action = args["action"]
    if not acl.has_entry(entry):  # IOS ignores an entry that is already in the list
        acl.entries.append(entry)


@command(GLOBAL, "ip access-list <kind:standard|extended> <name:word>")
def _named_acl(ctx, args, neg):
    name = args["name"]
    if neg:
        ctx.model.access_lists.pop(name, None)
        return None
    acl = ctx.model.access_lists.get(name)
    if acl is None:
        acl = AccessList(name, args["kind"], named=not is_number(name))
        ctx.model.access_lists = _insert_sorted(ctx.model.access_lists, name, acl, _acl_order)
    elif acl.kind != args["kind"]:
        raise ConfigApplyError(f"% A named {acl.kind} IP access list with this name already exists")
    return (EXT_NACL if acl.kind == "extended" else STD_NACL), acl


@command(GLOBAL, "dialer-list <num:1-10> protocol <proto:ip|ipx|appletalk|bridge|clns|decnet> <action:permit|deny>",
         "dialer-list <num:1-10> protocol <proto:ip|ipx|appletalk|bridge|clns|decnet> list <acl:word>")
def _dialer_list(ctx, args, neg):
    dialer = None
    if not neg:
        action = args.get("action") or f"list {args['acl']}"
        dialer = DialerList(args["num"], args["proto"], action)
    _restate(ctx.model, "dialer_lists", (args["num"], args["proto"]), dialer)


@command(GLOBAL, "route-map <name:word> [<action:permit|deny>] [<seq:0-65535>]")
def _route_map(ctx, args, neg):
    name = args["name"]
    if neg:
        for key in [k for k in ctx.model.route_maps if k[0] == name and ("seq" not in args or k[1] == args["seq"])]:
            del ctx.model.route_maps[key]
        return None
    seq = args.get("seq", 10)
    entry = ctx.model.route_maps.get((name, seq))
    if entry is None:
        entry = RouteMapEntry(name, args.get("action", "permit"), seq)
        ctx.model.route_maps = _insert_sorted(ctx.model.route_maps, (name, seq), entry, _by_key)
    elif "action" in args:
        entry.action = args["action"]
    return ROUTE_MAP, entry


@command(GLOBAL, "line <kind:con|aux|vty> <first:0-15> [<last:0-15>]")
def _line(ctx, args, neg):
    kind, first, last = args["kind"], args["first"], args.get("last")
    if kind in ("con", "aux") and last is not None:
        raise ConfigApplyError("invalid", column=-1)
    for line in ctx.model.lines:
        if (line.kind, line.first, line.last) == (kind, first, last):
            return LINE, line
    line = Line(kind, first, last)
    ctx.model.lines.append(line)
    order = {"con": 0, "aux": 1, "vty": 2}
    ctx.model.lines.sort(key=lambda entry: (order[entry.kind], entry.first))
    return LINE, line


# ---------------------------------------------------------------- interface

def _iface(ctx) -> Interface:
    return ctx.target


def _changed(ctx, what: str) -> None:
    if ctx.on_change:
        ctx.on_change(what, ctx.target)


@command(INTERFACE, "ip address <addr:ip> <mask:mask> [secondary]", "ip address negotiated")
def _if_address(ctx, args, neg):
    iface = _iface(ctx)
    if neg:
        if _kw(args, "secondary"):
            iface.secondary = [s for s in iface.secondary if s[0] != args.get("addr")]
        else:
            iface.address = iface.mask = None
            iface.negotiated = False
            iface.secondary = []
    elif _kw(args, "negotiated"):
        iface.address = iface.mask = None
        iface.negotiated = True
    else:
        _check_mask(args["mask"])
        if _kw(args, "secondary"):
            iface.secondary.append((args["addr"], args["mask"]))
        else:
            iface.address, iface.mask, iface.negotiated = args["addr"], args["mask"], False
    _changed(ctx, "address")


def _check_mask(mask: IPv4Address) -> None:
    value = int(mask)
    inverted = ~value & 0xFFFFFFFF
    if inverted & (inverted + 1):
        raise ConfigApplyError(f"Bad mask 0x{value:X} for address")


@command(INTERFACE, "ip nat <side:inside|outside>")
def _if_nat(ctx, args, neg):
    iface = _iface(ctx)
    if not neg:
        iface.nat = args["side"]
    elif iface.nat == args["side"]:
        iface.nat = None


@command(INTERFACE, "encapsulation <encap:ppp|hdlc|arpa>")
def _if_encap(ctx, args, neg):
    iface = _iface(ctx)
    serial = iface.name.startswith("Serial")
    encap = args["encap"]
    if serial and encap == "arpa" or not serial and encap != "arpa":
        raise ConfigApplyError("invalid", column=-1)
    iface.encapsulation = ("hdlc" if serial else "arpa") if neg else encap
    _changed(ctx, "encapsulation")


@command(INTERFACE, "crypto map <name:word>")
def _if_crypto_map(ctx, args, neg):
    _iface(ctx).crypto_map = None if neg else args["name"]
    _changed(ctx, "crypto map")


@command(INTERFACE, "shutdown")
def _if_shutdown(ctx, args, neg):
    _iface(ctx).shutdown = not neg
    _changed(ctx, "shutdown")


@command(INTERFACE, "description <text:line>")
def _if_description(ctx, args, neg):
    _iface(ctx).description = None if neg else args["text"]


@command(INTERFACE, "bandwidth <kbps:1-10000000>")
def _if_bandwidth(ctx, args, neg):
    _iface(ctx).bandwidth = None if neg else args["kbps"]


@command(INTERFACE, "delay <tens:1-16777215>")
def _if_delay(ctx, args, neg):
    _iface(ctx).delay = None if neg else args["tens"]


@command(INTERFACE, "clock rate <bps:300-8000000>")
def _if_clock(ctx, args, neg):
    if not _iface(ctx).name.startswith("Serial"):
        raise ConfigApplyError("invalid", column=-1)
    _iface(ctx).clock_rate = None if neg else args["bps"]


@command(INTERFACE, "peer default ip address pool [<pool:word>]", "peer default ip address <addr:ip>")
def _if_peer_default(ctx, args, neg):
    iface = _iface(ctx)
    iface.peer_pool = iface.peer_address = None
    if not neg:
        if _kw(args, "pool"):
            iface.peer_pool = args.get("pool", "default")
        else:
            iface.peer_address = args["addr"]


@command(INTERFACE, "keepalive [<period:0-32767>]")
def _if_keepalive(ctx, args, neg):
    period = args.get("period", 10)
    _iface(ctx).keepalive = None if neg or period == 0 else period
    _changed(ctx, "keepalive")


# Interface MTUs (Cisco IOS Interface Command Reference, "mtu" and "ip mtu"). IOS offers ``ip mtu``
# <68-MTU>: a larger value is invalid input. "If the current IP MTU value is the same as the MTU value
# and you change the MTU value, the IP MTU value will be modified automatically to match the new MTU.
# However, the reverse is not true" (ibid.): an ip mtu equal to the old MTU follows it, and one that
# a lowered MTU would leave above it goes too (the IP MTU is then the MTU).
DEFAULT_MTU = 1500     # Ethernet and serial interfaces of the 2500


@command(INTERFACE, "mtu <bytes:64-18000>")
def _if_mtu(ctx, args, neg):
    iface = _iface(ctx)
    old = iface.mtu or DEFAULT_MTU
    iface.mtu = None if neg or args["bytes"] == DEFAULT_MTU else args["bytes"]
    if iface.ip_mtu is not None and (iface.ip_mtu == old or iface.ip_mtu >= (iface.mtu or DEFAULT_MTU)):
        iface.ip_mtu = None


@command(INTERFACE, "ip mtu <bytes:68-18000>")
def _if_ip_mtu(ctx, args, neg):
    iface = _iface(ctx)
    mtu = iface.mtu or DEFAULT_MTU
    if neg:
        iface.ip_mtu = None
        return
    if args["bytes"] > mtu:
        raise ConfigApplyError("invalid", column=2)
    iface.ip_mtu = None if args["bytes"] == mtu else args["bytes"]


@command(INTERFACE, "dialer-group <group:1-10>")
def _if_dialer_group(ctx, args, neg):
    _iface(ctx).dialer_group = None if neg else args["group"]


# ---------------------------------------------------------------- isakmp policy

@command(ISAKMP, "encryption <alg:des|3des>", "encryption aes [<bits:128|192|256>]")
def _pol_encryption(ctx, args, neg):
    policy: IsakmpPolicy = ctx.target
    if neg:
        policy.encryption, policy.key_length = "des", None
    elif _kw(args, "aes"):
        policy.encryption, policy.key_length = "aes", int(args.get("bits", 128))
    else:
        policy.encryption, policy.key_length = args["alg"], None


@command(ISAKMP, "hash <alg:md5|sha>")
def _pol_hash(ctx, args, neg):
    ctx.target.hash = "sha" if neg else args["alg"]


@command(ISAKMP, "authentication <method:pre-share|rsa-sig|rsa-encr>")
def _pol_auth(ctx, args, neg):
    ctx.target.authentication = "rsa-sig" if neg else args["method"]


@command(ISAKMP, "group <g:1|2|5>")
def _pol_group(ctx, args, neg):
    ctx.target.group = 1 if neg else int(args["g"])


@command(ISAKMP, "lifetime <seconds:60-86400>")
def _pol_lifetime(ctx, args, neg):
    ctx.target.lifetime = 86400 if neg else args["seconds"]


# ---------------------------------------------------------------- transform set

@command(TRANSFORM, "mode <mode:tunnel|transport>")
def _ts_mode(ctx, args, neg):
    ctx.target.mode = "tunnel" if neg else args["mode"]


# ---------------------------------------------------------------- crypto maps

def _map_commands(mode: str) -> None:
    @command(mode, "set peer <peer:ip>")
    def _set_peer(ctx, args, neg):
        entry: CryptoMapEntry = ctx.target
        if neg:
            entry.peers = [p for p in entry.peers if p != args.get("peer")] if "peer" in args else []
        elif args["peer"] not in entry.peers:
            entry.peers.append(args["peer"])

    @command(mode, "set transform-set <t1:word> [<t2:word>] [<t3:word>] [<t4:word>] [<t5:word>] [<t6:word>]")
    def _set_transform(ctx, args, neg):
        names = [args[k] for k in ("t1", "t2", "t3", "t4", "t5", "t6") if k in args]
        ctx.target.transform_sets = [] if neg else names

    @command(mode, "match address <acl:word>")
    def _match(ctx, args, neg):
        ctx.target.match_address = None if neg else args["acl"]

    @command(mode, "set pfs [<group:group1|group2|group5>]")
    def _pfs(ctx, args, neg):
        ctx.target.pfs = None if neg else args.get("group", "group1")

    @command(mode, "set security-association lifetime seconds <s:120-86400>",
             "set security-association lifetime kilobytes <kb:2560-536870912>")
    def _lifetime(ctx, args, neg):
        if _kw(args, "seconds"):
            ctx.target.lifetime_seconds = None if neg else args.get("s")
        else:
            ctx.target.lifetime_kilobytes = None if neg else args.get("kb")


_map_commands(CRYPTO_MAP)
_map_commands(DYNAMIC_MAP)


# ---------------------------------------------------------------- route-map, named ACLs, lines

@command(ROUTE_MAP, "match ip address <a1:word> [<a2:word>] [<a3:word>] [<a4:word>]")
def _rm_match(ctx, args, neg):
    names = [args[k] for k in ("a1", "a2", "a3", "a4") if k in args]
    entry: RouteMapEntry = ctx.target
    if neg:
        entry.match_ip_address = [n for n in entry.match_ip_address if n not in names] if names else []
    else:
        entry.match_ip_address += [n for n in names if n not in entry.match_ip_address]


@command(EXT_NACL, "<action:permit|deny> <entry:ext-entry>", "remark <text:line>")
@command(STD_NACL, "<action:permit|deny> <entry:std-entry>", "remark <text:line>")
def _nacl_entry(ctx, args, neg):
    acl: AccessList = ctx.target
    if neg:
        if "entry" in args:
            entry = args["entry"]
            entry.action = args["action"]
            acl.entries = [e for e in acl.entries if e != entry]
        return
    _append_entry(acl, args)


@command(LINE, "transport input <t1:none|telnet|ssh|all> [<t2:telnet|ssh>]")
def _line_transport(ctx, args, neg):
    ctx.target.transport_input = None if neg else [args[k] for k in ("t1", "t2") if k in args]


@command(LINE, "password <pw:line>")
def _line_password(ctx, args, neg):
    ctx.target.password = None if neg else args["pw"]


@command(LINE, "login [local]")
def _line_login(ctx, args, neg):
    ctx.target.login = None if neg else ("local" if _kw(args, "local") else "")


@command(LINE, "exec-timeout <m:0-35791> [<s:0-2147483>]")
def _line_timeout(ctx, args, neg):
    ctx.target.exec_timeout = None if neg else (args["m"], args.get("s", 0))


# ---------------------------------------------------------------- leaving modes

END = "end"
EXIT = "exit"


def _leave(word: str):
    def action(ctx, args, neg):
        if neg:
            raise ConfigApplyError("invalid", column=-1)
        if word == END or ctx.mode == GLOBAL:
            ctx.mode, ctx.target = GLOBAL, None
            raise LeaveConfig(word)
        return GLOBAL, None
    return action


class LeaveConfig(Exception):
    """``end`` (or ``exit`` at global level): configuration mode ends."""


for _grammar in GRAMMARS.values():
    _grammar.add("end", _leave(END))
    _grammar.add("exit", _leave(EXIT))


# ---------------------------------------------------------------- applying a line

PARENT = {m: GLOBAL for m in GRAMMARS if m != GLOBAL}


def apply_line(ctx: ConfigContext, line: str) -> None:
    """Apply one configuration line in the current mode, falling back to the parent.

    Raises CommandError (the IOS error for the line), ConfigApplyError, or
    LeaveConfig for ``end`` and a global-level ``exit``.
    """
    tokens = tokenize(line)
    negate = bool(tokens) and tokens[0].text.lower() == "no" and len(tokens) > 1
    body = line[tokens[1].start:] if negate else line
    offset = tokens[1].start if negate else 0
    body_tokens = [Token(t.text, t.start - offset) for t in tokens[1:]] if negate else tokens
    errors: list[CommandError] = []
    mode = ctx.mode
    while True:
        try:
            node, args = GRAMMARS[mode].parse(body, partial=negate, tokens=body_tokens)
        except CommandError as err:
            err = CommandError(err.kind, line, err.column + offset)
            errors.append(err)
            if mode in PARENT:
                mode = PARENT[mode]
                continue
            raise _furthest(errors) from None
        action = node.action
        if action is None:  # parse() returns only nodes that end a command
            raise CommandError("incomplete", line, len(line))
        saved = ctx.mode, ctx.target
        if mode != ctx.mode:
            ctx.mode, ctx.target = mode, None
        try:
            result = action(ctx, args, negate)
        except ConfigApplyError as err:
            ctx.mode, ctx.target = saved
            if str(err) == "invalid" and err.column is not None:     # the word the caret goes under
                word = err.column + (1 if negate else 0)
                raise CommandError("invalid", line, tokens[min(word, len(tokens) - 1)].start) from None
            if str(err) == "invalid":
                raise CommandError("invalid", line, _column_of_last_arg(line)) from None
            raise
        if result is not None:
            ctx.mode, ctx.target = result
        return


def _furthest(errors: list[CommandError]) -> CommandError:
    """The error IOS shows: from the mode whose parse got furthest along the line."""
    return max(errors, key=lambda e: (e.kind != "invalid", e.column))


def _column_of_last_arg(line: str) -> int:
    tokens = tokenize(line)
    return tokens[-1].start if tokens else 0
