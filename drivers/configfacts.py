"""What a router's ``show running-config`` says, as facts: interfaces, crypto, NAT, pools.

IOS writes sub-mode lines one space under their parent and leaves out what is
at its default; the facts here make the defaults explicit (an ISAKMP policy
with no ``hash`` line hashes with SHA), as an engineer reading the text would.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field

# IOS 12.2's ISAKMP policy defaults (Cisco IOS Security Command Reference, "crypto isakmp policy").
ISAKMP_DEFAULTS = {"encryption": "des", "hash": "sha", "authentication": "rsa-sig", "group": 1, "lifetime": 86400}
# IOS's global IPsec SA lifetimes when not configured ("crypto ipsec security-association lifetime").
IPSEC_DEFAULT_SECONDS = 3600
IPSEC_DEFAULT_KILOBYTES = 4608000
# The IV an ESP cipher shows in "show crypto ipsec sa" (block size: DES and 3DES 8 bytes, AES 16).
IV_SIZES = {"esp-des": 8, "esp-3des": 8, "esp-aes": 16, "esp-null": 0}
_SKIP = re.compile(r"^(Building configuration\.\.\.|Current configuration\s*:.*|Using \d+ out of \d+ bytes)$")


@dataclass
class Block:
    text: str
    children: list[str] = field(default_factory=list)


def blocks(text: str) -> list[Block]:
    """Top-level lines with their indented sub-mode lines (comments and banners left out)."""
    out: list[Block] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        if not line.strip() or line.strip().startswith("!") or _SKIP.match(line.strip()):
            continue
        if line.startswith(" ") and out:
            out[-1].children.append(" ".join(line.split()))
        else:
            out.append(Block(" ".join(line.split())))
    return out


@dataclass
class Interface:
    name: str
    address: str | None = None
    mask: str | None = None
    negotiated: bool = False
    nat: str | None = None                # inside | outside
    crypto_map: str | None = None
    encapsulation: str = "hdlc"           # the serial default; Ethernet shows none
    peer_pool: str | None = None          # peer default ip address pool NAME
    peer_address: str | None = None       # peer default ip address A.B.C.D
    shutdown: bool = False

    @property
    def network(self) -> str | None:
        if self.address is None or self.mask is None:
            return None
        return str(ipaddress.ip_interface(f"{self.address}/{self.mask}").network)


@dataclass
class MapEntry:
    name: str
    seq: int
    dynamic: str | None = None            # crypto map NAME SEQ ipsec-isakmp dynamic DYN
    peers: list[str] = field(default_factory=list)
    transform_sets: list[str] = field(default_factory=list)
    acl: str | None = None


@dataclass
class ConfigFacts:
    hostname: str = ""
    interfaces: dict[str, Interface] = field(default_factory=dict)
    policies: dict[int, dict] = field(default_factory=dict)
    keys: list[tuple[str, str, str | None]] = field(default_factory=list)   # key, address, mask
    transform_sets: dict[str, tuple[list[str], str]] = field(default_factory=dict)   # transforms, mode
    crypto_maps: list[MapEntry] = field(default_factory=list)
    dynamic_maps: list[MapEntry] = field(default_factory=list)
    acls: dict[str, list[str]] = field(default_factory=dict)
    nat_rules: list[dict] = field(default_factory=list)
    route_maps: dict[str, list[tuple[str, int, list[str]]]] = field(default_factory=dict)
    pools: dict[str, tuple[str, str]] = field(default_factory=dict)
    routes: list[str] = field(default_factory=list)
    ip_routing: bool = True
    default_gateway: str | None = None
    sa_lifetime_seconds: int = IPSEC_DEFAULT_SECONDS
    sa_lifetime_kilobytes: int = IPSEC_DEFAULT_KILOBYTES

    def interface_with_map(self, name: str) -> Interface | None:
        return next((i for i in self.interfaces.values() if i.crypto_map == name), None)

    def inside_interface(self) -> Interface | None:
        """The LAN: the first addressed interface with ``ip nat inside`` (else the first addressed Ethernet)."""
        inside = [i for i in self.interfaces.values() if i.nat == "inside" and i.address]
        if inside:
            return inside[0]
        return next((i for i in self.interfaces.values() if i.name.startswith("Ethernet") and i.address), None)

    def offered_addresses(self) -> dict[str, list[str]]:
        """Per interface, the addresses this router gives a PPP peer by IPCP."""
        out: dict[str, list[str]] = {}
        for iface in self.interfaces.values():
            if iface.peer_address:
                out[iface.name] = [iface.peer_address]
            elif iface.peer_pool is not None:
                out[iface.name] = pool_addresses(self.pools.get(iface.peer_pool))
        return out


def pool_addresses(pool: tuple[str, str] | None, limit: int = 256) -> list[str]:
    if pool is None:
        return []
    start, end = (int(ipaddress.ip_address(a)) for a in pool)
    return [str(ipaddress.ip_address(n)) for n in range(start, min(end, start + limit - 1) + 1)]


def _policy(children: list[str]) -> dict:
    policy = dict(ISAKMP_DEFAULTS)
    for line in children:
        word, _, rest = line.partition(" ")
        if word in ("encr", "encryption"):
            policy["encryption"] = rest
        elif word in ("hash", "authentication"):
            policy[word] = rest
        elif word in ("group", "lifetime") and rest.isdigit():
            policy[word] = int(rest)
    return policy


def _map_entry(name: str, seq: int, children: list[str], dynamic: str | None = None) -> MapEntry:
    entry = MapEntry(name, seq, dynamic)
    for line in children:
        parts = line.split()
        if parts[:2] == ["set", "peer"] and len(parts) > 2:
            entry.peers.append(parts[2])
        elif parts[:2] == ["set", "transform-set"]:
            entry.transform_sets += parts[2:]
        elif parts[:2] == ["match", "address"] and len(parts) > 2:
            entry.acl = parts[2]
    return entry


def _interface(block: Block) -> Interface:
    iface = Interface(block.text.split()[1])
    for line in block.children:
        parts = line.split()
        if parts[:2] == ["ip", "address"] and len(parts) >= 4:
            iface.address, iface.mask = parts[2], parts[3]
        elif parts[:3] == ["ip", "address", "negotiated"]:
            iface.negotiated = True
        elif parts[:2] == ["ip", "nat"] and len(parts) == 3:
            iface.nat = parts[2]
        elif parts[:2] == ["crypto", "map"] and len(parts) == 3:
            iface.crypto_map = parts[2]
        elif parts[:1] == ["encapsulation"] and len(parts) > 1:
            iface.encapsulation = parts[1].lower()
        elif parts[:4] == ["peer", "default", "ip", "address"] and len(parts) > 4:
            if parts[4] == "pool":
                iface.peer_pool = parts[5] if len(parts) > 5 else "default"
            else:
                iface.peer_address = parts[4]
        elif parts == ["shutdown"]:
            iface.shutdown = True
    return iface


def _crypto(facts: ConfigFacts, parts: list[str], block: Block) -> None:
    if parts[:3] == ["crypto", "isakmp", "policy"] and len(parts) > 3:
        facts.policies[int(parts[3])] = _policy(block.children)
    elif parts[:3] == ["crypto", "isakmp", "key"] and len(parts) >= 6:
        facts.keys.append((parts[3], parts[5], parts[6] if len(parts) > 6 else None))
    elif parts[:3] == ["crypto", "ipsec", "transform-set"] and len(parts) > 4:
        mode = next((c.split()[1] for c in block.children if c.startswith("mode ")), "tunnel")
        facts.transform_sets[parts[3]] = (parts[4:], mode)
    elif parts[:2] == ["crypto", "dynamic-map"] and len(parts) > 3:
        facts.dynamic_maps.append(_map_entry(parts[2], int(parts[3]), block.children))
    elif parts[:2] == ["crypto", "map"] and len(parts) > 4 and parts[4] == "ipsec-isakmp":
        dynamic = parts[6] if len(parts) > 6 and parts[5] == "dynamic" else None
        facts.crypto_maps.append(_map_entry(parts[2], int(parts[3]), block.children, dynamic))
    elif parts[:4] == ["crypto", "ipsec", "security-association", "lifetime"] and len(parts) > 5:
        if parts[4] == "seconds":
            facts.sa_lifetime_seconds = int(parts[5])
        elif parts[4] == "kilobytes":
            facts.sa_lifetime_kilobytes = int(parts[5])


def _ip(facts: ConfigFacts, parts: list[str], block: Block) -> None:
    if parts[:4] == ["ip", "nat", "inside", "source"] and len(parts) > 6:
        kind, name = parts[4], parts[5]
        interface = parts[7] if parts[6] == "interface" and len(parts) > 7 else None
        facts.nat_rules.append({"kind": kind, "name": name, "interface": interface,
                                "overload": parts[-1] == "overload", "line": block.text})
    elif parts[:3] == ["ip", "local", "pool"] and len(parts) > 4:
        facts.pools[parts[3]] = (parts[4], parts[5] if len(parts) > 5 else parts[4])
    elif parts[:2] == ["ip", "route"]:
        facts.routes.append(block.text)
    elif parts[:2] == ["ip", "default-gateway"] and len(parts) > 2:
        facts.default_gateway = parts[2]


def read_config(text: str) -> ConfigFacts:
    """The facts of one running configuration."""
    facts = ConfigFacts()
    for block in blocks(text):
        parts = block.text.split()
        head = parts[0]
        if head == "hostname" and len(parts) > 1:
            facts.hostname = parts[1]
        elif head == "interface" and len(parts) > 1:
            iface = _interface(block)
            facts.interfaces[iface.name] = iface
        elif head == "crypto":
            _crypto(facts, parts, block)
        elif head == "ip":
            _ip(facts, parts, block)
        elif head == "access-list" and len(parts) > 2:
            facts.acls.setdefault(parts[1], []).append(block.text)
        elif head == "route-map" and len(parts) >= 4:
            matches = [c.split()[3] for c in block.children if c.startswith("match ip address ") and len(c.split()) > 3]
            facts.route_maps.setdefault(parts[1], []).append((parts[2], int(parts[3]), matches))
        elif parts[:3] == ["no", "ip", "routing"]:
            facts.ip_routing = False
    return facts
