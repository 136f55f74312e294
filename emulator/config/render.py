"""Render the model back as IOS writes its running configuration."""

from __future__ import annotations

from emulator.config.acl_syntax import config_entry
from emulator.config.model import CryptoMapEntry, DeviceConfig, Interface

INTERFACE_ORDER = ("Loopback", "Tunnel", "Ethernet", "FastEthernet", "Serial", "BRI", "Async",
                   "Dialer", "Virtual-Template", "Null")


def interface_sort_key(name: str) -> tuple[int, list[int]]:
    kind = name.rstrip("0123456789/.")
    nums = [int(n) for n in name[len(kind):].replace(".", "/").split("/") if n]
    order = INTERFACE_ORDER.index(kind) if kind in INTERFACE_ORDER else len(INTERFACE_ORDER)
    return order, nums


def _flag(value: bool | None, text: str) -> list[str]:
    if value is None:
        return []
    return [f" {text}" if value else f" no {text}"]


def render_config(cfg: DeviceConfig, software_version: str = "12.2") -> str:
    """The configuration body, from ``!`` after the header to ``end``."""
    out = _header(cfg, software_version)
    out += _credentials(cfg)
    out += _ip_globals(cfg)
    out += _crypto(cfg)
    for name in sorted(cfg.interfaces, key=interface_sort_key):
        out += _interface(cfg.interfaces[name]) + ["!"]
    out += _pools_and_nat(cfg)
    out += _routing(cfg)
    out += _access_lists(cfg)
    out += _lines(cfg)
    out += ["!", "end"]
    return "\n".join(out) + "\n"


def _header(cfg: DeviceConfig, software_version: str) -> list[str]:
    out = ["!", f"version {cfg.version or software_version}"]
    for ts in cfg.timestamps:
        out.append(f"service timestamps {ts.facility} {ts.format}" + "".join(" " + o for o in ts.options))
    # A default turned off shows as its negation, as IOS prints it.
    out += [f"no service timestamps {facility} uptime" for facility in sorted(cfg.timestamps_off)]
    if cfg.password_encryption is not None:
        out.append(("" if cfg.password_encryption else "no ") + "service password-encryption")
    return out + ["!", f"hostname {cfg.hostname}", "!"]


def _credentials(cfg: DeviceConfig) -> list[str]:
    # 12.2 keeps ``logging buffered`` just above the enable secret, always with its size and level.
    out = []
    if cfg.logging_buffered is not None:
        out.append("logging buffered {} {}".format(*cfg.logging_buffered))
    if cfg.enable_secret is not None:
        out.append(f"enable secret {cfg.enable_secret}")
    if cfg.enable_password is not None:
        out.append(f"enable password {cfg.enable_password}")
    for user in cfg.users:
        priv = f" privilege {user.privilege}" if user.privilege is not None else ""
        out.append(f"username {user.name}{priv} {'secret' if user.secret else 'password'} {user.password}")
    if cfg.enable_secret or cfg.enable_password or cfg.users or cfg.logging_buffered:
        out.append("!")
    if cfg.login_block is not None:
        out.append("login block-for {} attempts {} within {}".format(*cfg.login_block))
    if cfg.login_delay is not None:
        out.append(f"login delay {cfg.login_delay}")
    if cfg.login_block is not None or cfg.login_delay is not None:
        out.append("!")
    return out


def _ip_globals(cfg: DeviceConfig) -> list[str]:
    out = []
    if cfg.subnet_zero is not None:
        out.append(("" if cfg.subnet_zero else "no ") + "ip subnet-zero")
    if not cfg.ip_routing:
        out.append("no ip routing")
    if cfg.domain_lookup is not None:
        out.append(("" if cfg.domain_lookup else "no ") + "ip domain-lookup")
    if cfg.domain_name:
        out.append(f"ip domain-name {cfg.domain_name}")
    out.append("!")
    return out


def _pools_and_nat(cfg: DeviceConfig) -> list[str]:
    out = []
    for pool in cfg.local_pools.values():
        end = f" {pool.end}" if pool.end is not None else ""
        out.append(f"ip local pool {pool.name} {pool.start}{end}")
    for nat_pool in cfg.nat_pools.values():
        out.append(f"ip nat pool {nat_pool.name} {nat_pool.start} {nat_pool.end} netmask {nat_pool.netmask}")
    for rule in cfg.nat_rules:
        if rule.kind == "static":
            out.append(f"ip nat inside source static {rule.local} {rule.global_}")
            continue
        where = f"interface {rule.interface}" if rule.interface else f"pool {rule.pool}"
        out.append(f"ip nat inside source {rule.kind} {rule.match} {where}" + (" overload" if rule.overload else ""))
    for which, seconds in cfg.nat_timeouts.items():
        out.append(f"ip nat translation {which} {'never' if seconds is None else seconds}")
    return out


def _routing(cfg: DeviceConfig) -> list[str]:
    out = []
    if cfg.default_gateway is not None:
        out.append(f"ip default-gateway {cfg.default_gateway}")
    if cfg.classless is not None:
        out.append(("" if cfg.classless else "no ") + "ip classless")
    for route in cfg.static_routes:
        via = route.interface or str(route.next_hop)
        dist = f" {route.distance}" if route.distance is not None else ""
        out.append(f"ip route {route.prefix} {route.mask} {via}{dist}")
    if cfg.http_server is not None:
        out.append(("" if cfg.http_server else "no ") + "ip http server")
    out.append("!")
    return out


def _access_lists(cfg: DeviceConfig) -> list[str]:
    """Named lists, numbered lists, dialer lists and route maps, then ``!``."""
    out = []
    for acl in cfg.access_lists.values():
        if acl.named:
            out.append(f"ip access-list {acl.kind} {acl.name}")
            out += [f" {config_entry(e)}" for e in acl.entries]
    for acl in cfg.access_lists.values():
        if not acl.named:
            out += [f"access-list {acl.name} {config_entry(e)}" for e in acl.entries]
    for dl in cfg.dialer_lists:
        out.append(f"dialer-list {dl.number} protocol {dl.protocol} {dl.action}")
    for rm in cfg.route_maps.values():
        out.append(f"route-map {rm.name} {rm.action} {rm.seq}")
        if rm.match_ip_address:
            out.append(" match ip address " + " ".join(rm.match_ip_address))
    out.append("!")
    return out


def _lines(cfg: DeviceConfig) -> list[str]:
    out = []
    for line in cfg.lines:
        last = f" {line.last}" if line.last is not None else ""
        out.append(f"line {line.kind} {line.first}{last}")
        if line.exec_timeout is not None:
            out.append(f" exec-timeout {line.exec_timeout[0]} {line.exec_timeout[1]}")
        if line.password is not None:
            out.append(f" password {line.password}")
        if line.login is not None:
            out.append(" login" + (f" {line.login}" if line.login else ""))
        if line.transport_input is not None:
            out.append(" transport input " + " ".join(line.transport_input))
    return out


def _crypto(cfg: DeviceConfig) -> list[str]:
    out = []
    if cfg.ike_in_negotiation_limit is not None:
        out += [f"crypto call admission limit ike in-negotiation-sa {cfg.ike_in_negotiation_limit}", "!"]
    out += _isakmp(cfg)
    if out:
        out.append("!")
    out += _ipsec(cfg)
    for entry in cfg.dynamic_maps.values():
        out.append(f"crypto dynamic-map {entry.name} {entry.seq}")
        out += _map_body(entry)
        out.append("!")
    for entry in cfg.crypto_maps.values():
        if entry.dynamic_map:
            out.append(f"crypto map {entry.name} {entry.seq} ipsec-isakmp dynamic {entry.dynamic_map} ")
        else:
            out.append(f"crypto map {entry.name} {entry.seq} {entry.kind}")
            out += _map_body(entry)
        out.append("!")
    return out


def _isakmp(cfg: DeviceConfig) -> list[str]:
    """ISAKMP policies (only what differs from the IOS defaults) and pre-shared keys."""
    out: list[str] = []
    for pol in cfg.isakmp_policies.values():
        out.append(f"crypto isakmp policy {pol.priority}")
        if pol.encryption != "des":
            out.append(f" encr {pol.encryption}" + (f" {pol.key_length}" if pol.key_length else ""))
        if pol.hash != "sha":
            out.append(f" hash {pol.hash}")
        if pol.authentication != "rsa-sig":
            out.append(f" authentication {pol.authentication}")
        if pol.group != 1:
            out.append(f" group {pol.group}")
        if pol.lifetime != 86400:
            out.append(f" lifetime {pol.lifetime}")
    for key in cfg.isakmp_keys:
        mask = f" {key.mask}" if key.mask is not None else ""
        out.append(f"crypto isakmp key {key.key} address {key.address}{mask}")
    return out


def _ipsec(cfg: DeviceConfig) -> list[str]:
    """Global SA lifetimes and transform sets."""
    out = []
    if cfg.sa_lifetime_seconds is not None:
        out.append(f"crypto ipsec security-association lifetime seconds {cfg.sa_lifetime_seconds}")
    if cfg.sa_lifetime_kilobytes is not None:
        out.append(f"crypto ipsec security-association lifetime kilobytes {cfg.sa_lifetime_kilobytes}")
    for ts in cfg.transform_sets.values():
        # IOS ends the transform list with a space.
        out.append(f"crypto ipsec transform-set {ts.name} {' '.join(ts.transforms)} ")
        if ts.mode != "tunnel":
            out.append(f" mode {ts.mode}")
    if cfg.transform_sets:
        out.append("!")
    return out


def _map_body(entry: CryptoMapEntry) -> list[str]:
    out = [f" set peer {p}" for p in entry.peers]
    if entry.lifetime_seconds is not None:
        out.append(f" set security-association lifetime seconds {entry.lifetime_seconds}")
    if entry.lifetime_kilobytes is not None:
        out.append(f" set security-association lifetime kilobytes {entry.lifetime_kilobytes}")
    if entry.transform_sets:
        out.append(" set transform-set " + "".join(t + " " for t in entry.transform_sets))
    if entry.pfs:
        out.append(f" set pfs {entry.pfs}")
    if entry.match_address:
        out.append(f" match address {entry.match_address}")
    return out


def _interface(iface: Interface) -> list[str]:
    out = [f"interface {iface.name}"]
    if iface.description:
        out.append(f" description {iface.description}")
    if iface.mtu is not None:
        out.append(f" mtu {iface.mtu}")
    if iface.bandwidth is not None:
        out.append(f" bandwidth {iface.bandwidth}")
    if iface.delay is not None:
        out.append(f" delay {iface.delay}")
    out += _interface_address(iface)
    if iface.ip_mtu is not None:
        out.append(f" ip mtu {iface.ip_mtu}")
    out += _flag(iface.directed_broadcast, "ip directed-broadcast")
    if iface.nat:
        out.append(f" ip nat {iface.nat}")
    if iface.encapsulation not in ("hdlc", "arpa"):
        out.append(f" encapsulation {iface.encapsulation}")
    out += _flag(iface.mroute_cache, "ip mroute-cache")
    out += _flag(iface.route_cache, "ip route-cache")
    if iface.keepalive is None:
        out.append(" no keepalive")
    elif iface.keepalive != 10:
        out.append(f" keepalive {iface.keepalive}")
    out += _flag(iface.mop_enabled, "mop enabled")
    if iface.shutdown:
        out.append(" shutdown")
    if iface.dialer_group is not None:
        out.append(f" dialer-group {iface.dialer_group}")
    if iface.clock_rate is not None:
        out.append(f" clock rate {iface.clock_rate}")
    out += _peer_default(iface)
    if not iface.peer_neighbor_route:
        out.append(" no peer neighbor-route")
    if iface.crypto_map:
        out.append(f" crypto map {iface.crypto_map}")
    return out


def _interface_address(iface: Interface) -> list[str]:
    if iface.negotiated:
        return [" ip address negotiated"]
    if iface.address is not None:
        primary = f" ip address {iface.address} {iface.mask}"
        return [primary] + [f" ip address {a} {m} secondary" for a, m in iface.secondary]
    return [" no ip address"]


def _peer_default(iface: Interface) -> list[str]:
    if iface.peer_pool is not None:
        return [" peer default ip address pool" + (f" {iface.peer_pool}" if iface.peer_pool != "default" else "")]
    if iface.peer_address is not None:
        return [f" peer default ip address {iface.peer_address}"]
    return []


def running_config(cfg: DeviceConfig, software_version: str = "12.2") -> str:
    """``show running-config`` output."""
    body = render_config(cfg, software_version)
    return f"Building configuration...\n\nCurrent configuration : {len(body.encode())} bytes\n{body}"


def interface_config(cfg: DeviceConfig, name: str, software_version: str = "12.2") -> str:
    """``show running-config interface NAME``: the interface's section, sized as IOS sizes it."""
    body = "!\n" + "\n".join(_interface(cfg.interfaces[name])) + "\nend\n"
    return f"Building configuration...\n\nCurrent configuration : {len(body.encode())} bytes\n{body}"
