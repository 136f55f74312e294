"""The scenario of a lab of this design, derived from its routers' configurations.

Which router is the hub (a dynamic crypto map bound to a crypto map on an
interface), which are remotes (a static crypto map whose peer is the hub's
address on that interface), their LANs, transform sets, ISAKMP policies (IOS's
defaults made explicit), keys and the addresses they are bound to, NAT rules,
and the address the access server gives each remote by IPCP. The hub is the
reference for what all remotes share (policy, transforms): each remote is
checked against it.

A lab that is not this design stops here with sentences naming what is missing.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from .configfacts import ISAKMP_DEFAULTS, IV_SIZES, ConfigFacts, MapEntry, read_config
from .scenario import ScenarioError

REMOTE_ROLE = re.compile(r"^remote\d*$")
HOST_ROLE = re.compile(r"^(hub|remote\d*|internet)_host$")


class DesignError(ScenarioError):
    """The lab is not this design: the message names what is missing, one sentence per problem."""


@dataclass
class Device:
    """One device of the lab as the derivation sees it: its role, name and running configuration."""

    role: str
    name: str
    text: str
    source: str                       # where the text came from, for the report
    facts: ConfigFacts = field(init=False)

    def __post_init__(self) -> None:
        self.facts = read_config(self.text)


@dataclass
class Derived:
    data: dict[str, Any]
    sources: dict[str, str]


def remote_roles(roles: list[str]) -> list[str]:
    """The remote roles, in order: remote, remote2, remote3, ..."""
    found = [r for r in roles if REMOTE_ROLE.match(r)]
    return sorted(found, key=lambda r: int(r[6:] or 1))


def _hub_entry(facts: ConfigFacts) -> tuple[MapEntry, Any] | None:
    """The crypto map entry that references a dynamic map, with the interface it is bound to."""
    for entry in facts.crypto_maps:
        if entry.dynamic:
            iface = facts.interface_with_map(entry.name)
            if iface is not None:
                return entry, iface
    return None


def _static_entries(facts: ConfigFacts) -> list[tuple[MapEntry, Any]]:
    out = []
    for entry in facts.crypto_maps:
        iface = facts.interface_with_map(entry.name)
        if not entry.dynamic and entry.peers and iface is not None:
            out.append((entry, iface))
    return out


def _mask_covers(address: str, key_address: str, mask: str | None) -> bool:
    if mask is None:
        return address == key_address
    try:
        net = ipaddress.ip_network(f"{key_address}/{mask}", strict=False)
        return ipaddress.ip_address(address) in net
    except ValueError:
        return False


class _Builder:
    def __init__(self, devices: list[Device], links: dict[tuple[str, str], tuple[str, str]] | None,
                 observe: Callable[[str, str], str | None] | None):
        self.devices = devices
        self.links = links or {}
        self.observe = observe
        self.data: dict[str, Any] = {}
        self.sources: dict[str, str] = {}
        self.problems: list[str] = []

    def put(self, key: str, value: Any, source: str) -> None:
        node = self.data
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
        self.sources[key] = source

    # ---------------------------------------------------------------- roles
    def classify(self) -> tuple[Device, list[Device]]:
        routers = [d for d in self.devices if not HOST_ROLE.match(d.role)]
        hubs = [d for d in routers if _hub_entry(d.facts) is not None]
        if not hubs:
            raise DesignError("this lab is not the hub-and-spoke design of Document 14131: no router has a "
                              "dynamic crypto map bound to a crypto map on an interface (the hub's "
                              "'crypto map NAME SEQ ipsec-isakmp dynamic DYNMAP' and 'crypto map NAME' on its WAN)")
        if len(hubs) > 1:
            names = " and ".join(f"{d.name} ({d.role})" for d in hubs)
            raise DesignError(f"this lab has two hubs: {names} both bind a dynamic crypto map to an interface; "
                              "the design has one hub")
        hub = hubs[0]
        if hub.role != "hub":
            owner = next((d for d in self.devices if d.role == "hub"), None)
            said = f"the lab gives the role hub to {owner.name}" if owner else "no device has the role hub"
            raise DesignError(f"{said}; the device configured as the hub (a dynamic crypto map on its WAN) is "
                              f"{hub.name}, which has the role {hub.role}")
        _, hub_wan = _hub_entry(hub.facts)  # type: ignore[misc]
        remotes = []
        for dev in routers:
            if dev is hub:
                continue
            entries = _static_entries(dev.facts)
            if not entries:
                if REMOTE_ROLE.match(dev.role):
                    self.problems.append(
                        f"{dev.name} has the role {dev.role} but no crypto map entry with 'set peer' bound to an "
                        "interface: a remote names the hub as its peer")
                continue
            to_hub = [(e, i) for e, i in entries if hub_wan.address in e.peers]
            if not to_hub:
                peers = ", ".join(sorted({p for e, _ in entries for p in e.peers}))
                self.problems.append(
                    f"{dev.name}'s crypto map names the peer {peers}, which matches no hub: the hub {hub.name} "
                    f"has its crypto map on {hub_wan.name}, {hub_wan.address}")
                continue
            if not REMOTE_ROLE.match(dev.role):
                self.problems.append(f"{dev.name} is configured as a remote (its crypto map's peer is the hub "
                                     f"{hub_wan.address}) but has the role {dev.role}; give it the role remote, "
                                     "remote2, ...")
                continue
            remotes.append(dev)
        if not remotes and not self.problems:
            self.problems.append(f"no remote: no router has a crypto map whose peer is the hub {hub.name}'s "
                                 f"{hub_wan.address}")
        if self.problems:
            raise DesignError("; ".join(self.problems))
        order = remote_roles([r.role for r in remotes])
        remotes.sort(key=lambda d: order.index(d.role))
        return hub, remotes

    # ---------------------------------------------------------------- values
    def lan(self, prefix: str, dev: Device) -> None:
        lan = dev.facts.inside_interface()
        where = f"{dev.source}"
        if lan is None:
            self.problems.append(f"{dev.name} has no LAN: no addressed interface with 'ip nat inside'")
            return
        self.put(f"{prefix}.lan_interface", lan.name, where)
        self.put(f"{prefix}.lan_address", lan.address, where)
        self.put(f"{prefix}.lan_mask", lan.mask, where)
        self.put(f"{prefix}.lan_network", lan.network, where)

    def nat(self, prefix: str, dev: Device) -> None:
        rule = next((r for r in dev.facts.nat_rules if r["kind"] == "route-map"), None)
        if rule is None:
            rule = next(iter(dev.facts.nat_rules), None)
        if rule is None:
            self.put(f"{prefix}.nat_route_map", None, f"{dev.source} (no 'ip nat inside source')")
            self.put(f"{prefix}.nat_acl", None, f"{dev.source} (no 'ip nat inside source')")
            return
        if rule["kind"] == "route-map":
            self.put(f"{prefix}.nat_route_map", rule["name"], dev.source)
            entries = dev.facts.route_maps.get(rule["name"], [])
            acl = next((m[0] for action, _, m in entries if action == "permit" and m), None)
            self.put(f"{prefix}.nat_acl", acl, dev.source)
        else:
            self.put(f"{prefix}.nat_route_map", None, dev.source)
            self.put(f"{prefix}.nat_acl", rule["name"], dev.source)

    def hub(self, dev: Device) -> tuple[Any, MapEntry]:
        entry, wan = _hub_entry(dev.facts)  # type: ignore[misc]
        src = dev.source
        self.put("hub.role", "hub", src)
        self.put("hub.hostname", dev.facts.hostname or dev.name, src)
        self.put("hub.wan_interface", wan.name, src)
        self.put("hub.wan_address", wan.address, src)
        self.put("hub.wan_mask", wan.mask, src)
        self.put("hub.wan_encapsulation", wan.encapsulation.upper(), src)
        self.put("hub.crypto_map", entry.name, src)
        self.put("hub.crypto_map_seq", entry.seq, src)
        dyn = sorted((d for d in dev.facts.dynamic_maps if d.name == entry.dynamic), key=lambda d: d.seq)
        if not dyn:
            raise DesignError(f"{dev.name}'s crypto map {entry.name} {entry.seq} references the dynamic map "
                              f"{entry.dynamic}, which is not configured")
        self.put("hub.dynamic_map", dyn[0].name, src)
        self.put("hub.dynamic_map_seq", dyn[0].seq, src)
        self.put("hub.crypto_acl", dyn[0].acl, src)
        self.put("hub.transform_set", dyn[0].transform_sets[0] if dyn[0].transform_sets else None, src)
        self.lan("hub", dev)
        self.nat("hub", dev)
        return wan, dyn[0]

    def policy(self, dev: Device) -> None:
        """The hub's ISAKMP policy (its lowest priority with pre-shared keys), defaults made explicit."""
        if not dev.facts.policies:
            self.problems.append(f"{dev.name} (the hub) has no 'crypto isakmp policy'")
            return
        number = min((n for n, p in dev.facts.policies.items() if p["authentication"] == "pre-share"),
                     default=min(dev.facts.policies))
        policy = dev.facts.policies[number]
        self.put("isakmp.policy", number, dev.source)
        shown = _policy_lines(dev.text, number)
        for name in ("encryption", "hash", "authentication", "group", "lifetime"):
            written = any(line.split()[0] in ((name, "encr") if name == "encryption" else (name,)) for line in shown)
            source = dev.source if written else f"{dev.source} (IOS default {ISAKMP_DEFAULTS[name]}: not printed)"
            self.put(f"isakmp.{name}", policy[name], source)

    def ipsec(self, dev: Device, dyn: MapEntry) -> None:
        name = dyn.transform_sets[0] if dyn.transform_sets else None
        if name is None or name not in dev.facts.transform_sets:
            self.problems.append(f"{dev.name}'s dynamic map {dyn.name} {dyn.seq} names no configured transform set")
            return
        transforms, mode = dev.facts.transform_sets[name]
        src = dev.source
        self.put("ipsec.transform_set", name, src)
        self.put("ipsec.transforms", list(transforms), src)
        self.put("ipsec.mode", mode.capitalize(), src if mode != "tunnel" else f"{src} (IOS default tunnel mode)")
        cipher = next((t for t in transforms if t in IV_SIZES), "esp-des")
        self.put("ipsec.iv_size", IV_SIZES[cipher], f"{src} ({cipher})")
        for unit, value, default in (("seconds", dev.facts.sa_lifetime_seconds, 3600),
                                     ("kilobytes", dev.facts.sa_lifetime_kilobytes, 4608000)):
            note = "" if value != default else " (IOS default: not printed)"
            self.put(f"ipsec.lifetime_{unit}", value, src + note)

    def remote(self, dev: Device, hub: Device, hub_wan: Any, access: list[Device]) -> None:
        prefix = f"remotes.{dev.role}"
        entry, wan = next((e, i) for e, i in _static_entries(dev.facts) if hub_wan.address in e.peers)
        src = dev.source
        self.put(f"{prefix}.role", dev.role, src)
        self.put(f"{prefix}.hostname", dev.facts.hostname or dev.name, src)
        self.put(f"{prefix}.wan_interface", wan.name, src)
        self.put(f"{prefix}.wan_encapsulation", wan.encapsulation.upper(), src)
        self.put(f"{prefix}.crypto_map", entry.name, src)
        self.put(f"{prefix}.crypto_map_seq", entry.seq, src)
        self.put(f"{prefix}.peer", hub_wan.address, src)
        self.put(f"{prefix}.crypto_acl", entry.acl, src)
        self.put(f"{prefix}.transform_set", entry.transform_sets[0] if entry.transform_sets else None, src)
        key = next((k for k in dev.facts.keys if _mask_covers(hub_wan.address, k[1], k[2])), None)
        self.put(f"{prefix}.isakmp_key", key[0] if key else None, src)
        self.put(f"{prefix}.isakmp_key_address", key[1] if key else hub_wan.address, src)
        self.lan(prefix, dev)
        self.nat(prefix, dev)
        address, where = self.negotiated(dev, wan, access)
        if not wan.negotiated and wan.address:
            address, where = wan.address, f"{src} (a fixed address, not IPCP)"
        self.put(f"{prefix}.negotiated_address", address, where)

    def negotiated(self, dev: Device, wan: Any, access: list[Device]) -> tuple[str | None, str]:
        """The address IPCP gives the remote: the access server's offer on the line it is wired to, its only
        offer, or else what the remote shows (checked to be one the access server offers)."""
        far = self.links.get((dev.name, wan.name))
        for server in access:
            offers = server.facts.offered_addresses()
            if far and far[0] == server.name:
                line = offers.get(far[1], [])
                iface = server.facts.interfaces.get(far[1])
                how = (f"pool {iface.peer_pool}" if iface and iface.peer_pool is not None
                       else "peer default ip address")
                if len(line) == 1:
                    return line[0], f"{server.source} ({far[1]}: {how})"
                if not line:
                    return None, f"{server.source}: {far[1]}, the line to {dev.name}, offers no address by IPCP"
        every = [a for server in access for addrs in server.facts.offered_addresses().values() for a in addrs]
        if len(every) == 1 and not self.links:
            return every[0], f"{access[0].source} (its only IPCP address)"
        if self.observe is not None:
            seen = self.observe(dev.role, wan.name)
            if seen:
                ok = not every or seen in every
                note = "" if not access else (" (one the access server offers)" if ok else
                                              " (NOT one the access server offers)")
                return seen, f"{dev.name} show ip interface brief{note}"
        return None, f"not derivable: the access server offers {'no address' if not every else 'several'} " \
                     f"and {dev.name} shows none"

    def hosts(self) -> None:
        for dev in self.devices:
            if HOST_ROLE.match(dev.role):
                iface = next((i for i in dev.facts.interfaces.values() if i.address), None)
                if iface is not None:
                    self.put(f"hosts.{dev.role}", iface.address, dev.source)

    def hub_key(self, hub: Device, remotes: list[Device]) -> None:
        addresses = [self.data["remotes"][r.role].get("negotiated_address") for r in remotes]
        known = [a for a in addresses if a]
        key = next((k for k in hub.facts.keys if known and all(_mask_covers(a, k[1], k[2]) for a in known)), None)
        if key is None:
            key = next((k for k in hub.facts.keys if k[1] == "0.0.0.0"), None) or next(iter(hub.facts.keys), None)
        src = hub.source
        self.put("hub.isakmp_key", key[0] if key else None, src)
        self.put("hub.isakmp_key_address", key[1] if key else None, src)
        self.put("hub.isakmp_key_mask", key[2] if key else None, src)


def _policy_lines(text: str, number: int) -> list[str]:
    from .configfacts import blocks
    block = next((b for b in blocks(text) if b.text == f"crypto isakmp policy {number}"), None)
    return block.children if block else []


def derive(devices: list[Device], links: dict[tuple[str, str], tuple[str, str]] | None = None,
           observe: Callable[[str, str], str | None] | None = None) -> Derived:
    """The scenario the devices' configurations describe; DesignError when they are not this design.

    ``links`` maps (device, interface) to the far end (emulated labs know their wiring); ``observe(role,
    interface)`` reads the address a remote shows, when the configurations cannot tell it.
    """
    b = _Builder(devices, links, observe)
    hub, remotes = b.classify()
    hub_wan, dyn = b.hub(hub)
    b.policy(hub)
    b.ipsec(hub, dyn)
    # Access servers: the other routers that give PPP peers addresses (a pool, or a peer default address).
    access = [d for d in devices if d not in remotes and d is not hub and not HOST_ROLE.match(d.role)
              and (d.facts.pools or d.facts.offered_addresses())]
    for dev in remotes:
        b.remote(dev, hub, hub_wan, access)
    b.hub_key(hub, remotes)
    b.hosts()
    if b.problems:
        raise DesignError("; ".join(b.problems))
    return Derived(b.data, b.sources)
