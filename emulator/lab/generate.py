"""A hub-and-spoke lab written out as files: configurations, hosts, access servers, the lab file.

The pattern is the dynamic-to-static IPsec design with NAT: one hub with a
dynamic crypto map only (it cannot initiate) and a wildcard pre-shared key;
N spokes that dial an access server over PPP, learn their address by IPCP
from a pool of one address per line, and name the hub as their peer; every
router does NAT overload with a route-map that exempts the LAN-to-LAN traffic.

Two plans, chosen by N:

- Up to nine spokes, one 2522 access server: the hub's leased line on its
  Serial0, the spokes' PPP lines on Serial1-9, the internet on its Ethernet0.
  Lines are 198.51.100.(4k)/30 (the server at .4k+1, spoke k at .4k+2); the
  hub's WAN 203.0.113.1/24, the server 203.0.113.2.
- Ten spokes or more, a provider network as a tree of leased lines: every
  provider router is a 2522, its Serial0 the line towards the hub, its
  Serial1-9 nine lines down. The ``core`` ends the hub's leased line on its
  Serial0 and holds the internet on its Ethernet0; below it, the ``LEVELS``
  levels, the deepest first: access servers ``as<i>`` (Serial1-9 the PPP
  lines of nine spokes), distribution routers ``dist<i>`` (nine access
  servers each), aggregation routers ``agg<i>`` (nine distribution routers
  each). Every level is there at any N (one router of a level may have one
  child), as a provider's access, distribution and aggregation layers are:
  every spoke is five leased lines from the hub, so that what a tunnel
  costs compares across sizes. Node i of a
  level (from 1) hangs off Serial((i-1) % 9 + 1) of node (i-1) // 9 + 1 of the
  level above, or off the core's Serial i at the top. No Ethernet inside the
  provider network: no ARP in the way of a spoke's first packets, and no
  segment whose broadcasts grow with N. Static routes: each router routes
  each child's contiguous range of spoke lines (summarised into CIDR
  blocks) to the child's serial port, and everything else up its Serial0.
  Addresses: spoke k's line, on access server a = (k-1) // 9 + 1, port
  l = (k-1) % 9 + 1, is the /30 at 198.19.0.0 + 64(a-1) + 4(l-1) (server +1,
  spoke +2); the line up from node i of level j (0 for the access servers)
  is the /30 at 198.18.0.0 + 16384j + 4(i-1) (the router above +1, node i
  +2). The hub's WAN 203.0.113.1/24, the core 203.0.113.2; the internet
  192.0.2.0/24.

LANs, both plans: the hub's is the first of 172.16.0.0/12 and spoke k's the
k-th, each a /24 (172.16.k.0/24 for k < 256) while N + 1 /24s fit in the
pool (N <= 4095), else the longest prefix that fits (/25, /26, ... down to
/28); the router is .1 of its LAN, the LAN's host .10. A plan that would
overflow a pool is refused with a ``GenerateError`` naming N and the limit.
In the tree plan the hub's crypto and NAT lists summarise the spokes' LANs
as 172.16.0.0/12 (one entry, as a hub of many spokes is configured).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, summarize_address_range
from pathlib import Path

from emulator.config.commands import TRANSFORMS
from emulator.device.platform import PLATFORMS

ACCESS_SERVER = "2522"
FIRST_LINE = 1                      # the single access server's Serial0 ends the hub's leased line
ONE_SERVER_SPOKES = len([i for i in PLATFORMS[ACCESS_SERVER].interfaces if i.startswith("Serial")]) - FIRST_LINE
HUB_WAN, SERVER_WAN = "203.0.113.1", "203.0.113.2"
ENCRYPTIONS = ("des", "3des")
HASHES = ("md5", "sha")
GROUPS = (1, 2, 5)

# The tree plan.
DOWN_PORTS = ONE_SERVER_SPOKES                     # a provider router's Serial1-9
LEVELS = ("as", "dist", "agg")                     # provider routers below the core, the deepest first
LINE_POOL = IPv4Network("198.19.0.0/16")           # spokes' lines: a /26 an access server
SERVER_BLOCK = 64
TREE_POOL = IPv4Network("198.18.0.0/16")           # lines between provider routers: a /18 a level
LEVEL_BLOCK = 16384
LAN_POOL = IPv4Network("172.16.0.0/12")
SHORTEST_LAN = 28                                  # a LAN holds at least .1 (router) and .10 (host)
MAX_SERVERS = min(DOWN_PORTS ** len(LEVELS), LINE_POOL.num_addresses // SERVER_BLOCK, LEVEL_BLOCK // 4)
MAX_SPOKES = min(MAX_SERVERS * DOWN_PORTS, 2 ** (SHORTEST_LAN - LAN_POOL.prefixlen) - 1)


class GenerateError(Exception):
    """Options that make no lab: names the option and why."""


@dataclass(frozen=True)
class Design:
    spokes: int = 3
    transforms: tuple[str, ...] = ("esp-3des", "esp-sha-hmac")
    encryption: str = "3des"
    hash: str = "sha"
    group: int = 2
    key: str = "spoke-psk-2024"
    seed: int = 1

    @property
    def tiered(self) -> bool:
        """More spokes than one access server terminates: the tree of provider routers."""
        return self.spokes > ONE_SERVER_SPOKES

    @property
    def servers(self) -> int:
        return -(-self.spokes // DOWN_PORTS)

    def levels(self) -> list[int]:
        """How many routers each level below the core holds, the access servers first (tree plan). Every
        level is there whatever N, so that every spoke is as many hops from the hub at any size."""
        counts = [self.servers]
        for _ in LEVELS[1:]:
            counts.append(-(-counts[-1] // DOWN_PORTS))
        return counts

    def check(self) -> None:
        if self.spokes < 1:
            raise GenerateError(f"--spokes {self.spokes}: at least 1")
        if self.spokes > MAX_SPOKES:
            raise GenerateError(
                f"--spokes {self.spokes}: the address plan holds at most {MAX_SPOKES} spokes ({MAX_SERVERS} "
                f"access servers of {DOWN_PORTS} lines in {len(LEVELS)} levels of {DOWN_PORTS} under the core, "
                f"a /26 of {LINE_POOL} each; LANs from {LAN_POOL} down to /{SHORTEST_LAN})")
        bad = [t for t in self.transforms if t not in TRANSFORMS]
        if bad or not any(t.startswith("esp-") for t in self.transforms):
            raise GenerateError(f"--transform {' '.join(self.transforms)}: an ESP transform set of "
                                f"{', '.join(TRANSFORMS)}" + (f" ({bad[0]!r} is none)" if bad else ""))
        if self.encryption not in ENCRYPTIONS or self.hash not in HASHES or self.group not in GROUPS:
            raise GenerateError(f"ISAKMP policy: --encryption {'/'.join(ENCRYPTIONS)}, --hash {'/'.join(HASHES)}, "
                                f"--group {'/'.join(map(str, GROUPS))}")
        if not self.key or " " in self.key:
            raise GenerateError("--key: one word")

    def lan_prefix(self) -> int:
        """The longest LAN prefix that gives the hub and every spoke a LAN of 172.16.0.0/12 (at most /24)."""
        needed = (self.spokes + 1).bit_length() - (1 if (self.spokes + 1) & self.spokes == 0 else 0)
        return max(24, LAN_POOL.prefixlen + needed)

    def lan(self, k: int) -> IPv4Network:
        """The hub's LAN (k = 0) or spoke k's."""
        prefix = self.lan_prefix()
        size = 2 ** (32 - prefix)
        return IPv4Network((int(LAN_POOL.network_address) + k * size, prefix))


def _host(net: IPv4Network, n: int) -> str:
    return str(net.network_address + n)


def _acl(net: IPv4Network) -> str:
    """``A.B.C.D WILDCARD`` as an access list writes a network."""
    return f"{net.network_address} {net.hostmask}"


def _line(d: Design, k: int) -> tuple[str, str]:
    """The access server's and the spoke's address on spoke k's line (a /30)."""
    if not d.tiered:
        return f"198.51.100.{4 * k + 1}", f"198.51.100.{4 * k + 2}"
    a, port = _server_of(k)
    base = int(LINE_POOL.network_address) + SERVER_BLOCK * (a - 1) + 4 * (port - 1)
    return str(IPv4Address(base + 1)), str(IPv4Address(base + 2))


def _server_of(k: int) -> tuple[int, int]:
    """Tree plan: spoke k's access server (from 1) and the serial port of its line."""
    a, line = divmod(k - 1, DOWN_PORTS)
    return a + 1, line + 1


def _uplink(level: int, i: int) -> tuple[str, str]:
    """Tree plan: the addresses of the line up from node i of a level: the router above's, node i's."""
    base = int(TREE_POOL.network_address) + LEVEL_BLOCK * level + 4 * (i - 1)
    return str(IPv4Address(base + 1)), str(IPv4Address(base + 2))


def remote_role(k: int) -> str:
    return "remote" if k == 1 else f"remote{k}"


HEADER = """version 12.2
service timestamps debug uptime
service timestamps log uptime
no service password-encryption
!
hostname {name}
!
ip subnet-zero
!"""
FOOTER = """line con 0
line aux 0
line vty 0 4
 password ww
 login
!
end
"""


def _policy(d: Design) -> list[str]:
    lines = ["crypto isakmp policy 10"]
    if d.encryption != "des":
        lines.append(f" encryption {d.encryption}")
    lines.append(f" hash {d.hash}")
    lines.append(" authentication pre-share")
    if d.group != 1:
        lines.append(f" group {d.group}")
    return lines


def _nat(local: IPv4Network, others: list[IPv4Network]) -> list[str]:
    acl = [f"access-list 101 permit ip {_acl(local)} {_acl(o)}" for o in others]
    acl += [f"access-list 101 deny ip {_acl(local)} any"]
    acl += [f"access-list 102 deny ip {_acl(local)} {_acl(o)}" for o in others]
    acl += [f"access-list 102 permit ip {_acl(local)} any"]
    return acl + ["route-map no-nat permit 10", " match ip address 102", "!"]


def hub_config(d: Design) -> str:
    lan = d.lan(0)
    others = [LAN_POOL] if d.tiered else [d.lan(k) for k in range(1, d.spokes + 1)]
    lines = [HEADER.format(name="hub"), *_policy(d), f"crypto isakmp key {d.key} address 0.0.0.0 0.0.0.0", "!",
             f"crypto ipsec transform-set vpn-ts {' '.join(d.transforms)}", "!",
             "crypto dynamic-map spokes 10", " set transform-set vpn-ts", " match address 101", "!",
             "crypto map vpn 10 ipsec-isakmp dynamic spokes", "!",
             "interface Ethernet0", f" ip address {_host(lan, 1)} {lan.netmask}", " ip nat inside", "!",
             "interface Serial0", f" ip address {HUB_WAN} 255.255.255.0", " ip nat outside", " crypto map vpn", "!",
             "ip nat inside source route-map no-nat interface Serial0 overload", "ip classless",
             "ip route 0.0.0.0 0.0.0.0 Serial0", "!", *_nat(lan, others)]
    return "\n".join(lines) + "\n" + FOOTER


def spoke_config(d: Design, k: int) -> str:
    lan = d.lan(k)
    lines = [HEADER.format(name=f"spoke{k}"), *_policy(d), f"crypto isakmp key {d.key} address {HUB_WAN}", "!",
             f"crypto ipsec transform-set vpn-ts {' '.join(d.transforms)}", "!",
             "crypto map vpn 10 ipsec-isakmp", f" set peer {HUB_WAN}", " set transform-set vpn-ts",
             " match address 101", "!",
             "interface Ethernet0", f" ip address {_host(lan, 1)} {lan.netmask}", " ip nat inside", "!",
             "interface Serial0", " ip address negotiated", " ip nat outside", " encapsulation ppp",
             " crypto map vpn", "!",
             "ip nat inside source route-map no-nat interface Serial0 overload", "ip classless",
             "ip route 0.0.0.0 0.0.0.0 Serial0", "!", *_nat(lan, [d.lan(0)])]
    return "\n".join(lines) + "\n" + FOOTER


def _ppp_lines(d: Design, spokes: range, port_of) -> list[str]:
    lines = []
    for k in spokes:
        mine, _ = _line(d, k)
        lines += [f"interface Serial{port_of(k)}", f" description PPP line to spoke{k}",
                  f" ip address {mine} 255.255.255.252", " encapsulation ppp",
                  f" peer default ip address pool SPOKE{k}", "!"]
    return lines


def _pools(d: Design, spokes: range) -> list[str]:
    return [f"ip local pool SPOKE{k} {_line(d, k)[1]}" for k in spokes]


def access_server_config(d: Design) -> str:
    """The one access server of the small plan."""
    lines = [HEADER.format(name="access-server"),
             "interface Ethernet0", " description the internet", " ip address 192.0.2.1 255.255.255.0", "!",
             "interface Serial0", " description leased line to the hub", f" ip address {SERVER_WAN} 255.255.255.0",
             "!", *_ppp_lines(d, range(1, d.spokes + 1), lambda k: FIRST_LINE + k - 1),
             *_pools(d, range(1, d.spokes + 1))]
    lines += ["ip classless", "!"]
    return "\n".join(lines) + "\n" + FOOTER


def _subtree_routes(d: Design, level: int, i: int, port: int) -> list[str]:
    """Routes to the spoke lines below node i of a level, through ``Serial<port>``."""
    width = DOWN_PORTS ** level
    first, last = (i - 1) * width + 1, min(d.servers, i * width)
    start = int(LINE_POOL.network_address) + SERVER_BLOCK * (first - 1)
    end = int(LINE_POOL.network_address) + SERVER_BLOCK * last - 1
    return [f"ip route {net.network_address} {net.netmask} Serial{port}"
            for net in summarize_address_range(IPv4Address(start), IPv4Address(end))]


def _children(d: Design, level: int, i: int) -> list[tuple[int, int]]:
    """The (node, port) pairs of the level below ``level`` that hang off its node i (``level`` one above the
    top level: the core)."""
    levels = d.levels()
    below = level - 1
    if level == len(levels):                          # the core: the top level's nodes on Serial1..
        return [(n, n) for n in range(1, levels[-1] + 1)]
    first = (i - 1) * DOWN_PORTS + 1
    return [(n, n - first + 1) for n in range(first, min(levels[below], first + DOWN_PORTS - 1) + 1)]


def core_config(d: Design) -> str:
    top = len(d.levels())
    children = _children(d, top, 1)
    lines = [HEADER.format(name="core"),
             "interface Ethernet0", " description the internet", " ip address 192.0.2.1 255.255.255.0", "!",
             "interface Serial0", " description leased line to the hub", f" ip address {SERVER_WAN} 255.255.255.0",
             "!"]
    lines += _down_interfaces(top - 1, children)
    lines += ["ip classless"]
    lines += [r for n, port in children for r in _subtree_routes(d, top - 1, n, port)]
    return "\n".join(lines + ["!"]) + "\n" + FOOTER


def _down_interfaces(level: int, children: list[tuple[int, int]]) -> list[str]:
    name = LEVELS[level]
    lines = []
    for n, port in children:
        mine, _ = _uplink(level, n)
        lines += [f"interface Serial{port}", f" description leased line to {name}{n}",
                  f" ip address {mine} 255.255.255.252", "!"]
    used = {port for _, port in children}
    lines += [f"interface Serial{p}\n shutdown\n!" for p in range(1, DOWN_PORTS + 1) if p not in used]
    return lines


def tree_router_config(d: Design, level: int, i: int) -> str:
    """Node i of a level above the access servers: its line up on Serial0, nine lines down."""
    _, mine = _uplink(level, i)
    children = _children(d, level, i)
    lines = [HEADER.format(name=f"{LEVELS[level]}{i}"),
             "interface Ethernet0", " shutdown", "!",
             "interface Serial0", " description leased line up", f" ip address {mine} 255.255.255.252", "!",
             *_down_interfaces(level - 1, children), "ip classless", "ip route 0.0.0.0 0.0.0.0 Serial0"]
    lines += [r for n, port in children for r in _subtree_routes(d, level - 1, n, port)]
    return "\n".join(lines + ["!"]) + "\n" + FOOTER


def tier_server_config(d: Design, a: int) -> str:
    """Access server ``as<a>`` (from 1) of the tree plan: its line up on Serial0, nine PPP lines."""
    _, mine = _uplink(0, a)
    first = (a - 1) * DOWN_PORTS + 1
    spokes = range(first, min(d.spokes, first + DOWN_PORTS - 1) + 1)
    lines = [HEADER.format(name=f"as{a}"), "interface Ethernet0", " shutdown", "!",
             "interface Serial0", " description leased line up", f" ip address {mine} 255.255.255.252", "!",
             *_ppp_lines(d, spokes, lambda k: _server_of(k)[1])]
    lines += [f"interface Serial{n}\n shutdown\n!" for n in range(len(spokes) + 1, DOWN_PORTS + 1)]
    lines += [*_pools(d, spokes), "ip classless", "ip route 0.0.0.0 0.0.0.0 Serial0", "!"]
    return "\n".join(lines) + "\n" + FOOTER


def host_config(name: str, lan: IPv4Network, host: int = 10) -> str:
    return "\n".join([HEADER.format(name=name), "no ip routing", "!", "interface Ethernet0",
                      f" ip address {_host(lan, host)} {lan.netmask}", "!",
                      f"ip default-gateway {_host(lan, 1)}", "!"]) + "\n" + FOOTER


SECRET = "extra_config: [enable secret lab]"
SERIAL = "bandwidth_kbps: 1544, delay_ms: 2"


def lab_file(d: Design) -> str:
    """The lab file: every device and link by name for one access server, ranges (``{i}``) beyond."""
    if d.tiered:
        return _tiered_lab_file(d)
    spokes = range(1, d.spokes + 1)
    lines = [_title(d), f"seed: {d.seed}", "devices:", f"  hub: {{config: hub.cfg, role: hub, {SECRET}}}"]
    lines += [f"  spoke{k}: {{config: spoke{k}.cfg, role: {remote_role(k)}, {SECRET}}}" for k in spokes]
    lines += [f"  access-server: {{config: access-server.cfg, role: isp, platform: \"{ACCESS_SERVER}\"}}",
              "  hub-host: {config: hub-host.cfg, role: hub_host}"]
    lines += [f"  spoke{k}-host: {{config: spoke{k}-host.cfg, role: {remote_role(k)}_host}}" for k in spokes]
    lines += ["  internet-host: {config: internet-host.cfg, role: internet_host}", "links:",
              f"  - {{serial: [hub Serial0, access-server Serial0], {SERIAL}}}"]
    lines += [f"  - {{serial: [spoke{k} Serial0, access-server Serial{FIRST_LINE + k - 1}], {SERIAL}}}"
              for k in spokes]
    lines += ["  - ethernet: [hub Ethernet0, hub-host Ethernet0]"]
    lines += [f"  - ethernet: [spoke{k} Ethernet0, spoke{k}-host Ethernet0]" for k in spokes]
    lines += ["  - ethernet: [access-server Ethernet0, internet-host Ethernet0]"]
    return "\n".join(lines) + "\n"


def _title(d: Design) -> str:
    return (f"# A hub-and-spoke lab of {d.spokes} spoke(s): python -m emulator lab hub-and-spoke "
            f"--spokes {d.spokes} --transform {' '.join(d.transforms)} --group {d.group}")


def _tiered_lab_file(d: Design) -> str:
    n, levels = d.spokes, d.levels()
    lines = [_title(d), f"seed: {d.seed}", "devices:", f"  hub: {{config: hub.cfg, role: hub, {SECRET}}}",
             f"  spoke1: {{config: spoke1.cfg, role: remote, {SECRET}}}",
             f"  spoke{{i}}: {{range: 2-{n}, config: \"spoke{{i}}.cfg\", role: \"remote{{i}}\", {SECRET}}}",
             f"  core: {{config: core.cfg, role: isp, platform: \"{ACCESS_SERVER}\"}}"]
    for level, count in enumerate(levels):
        name = LEVELS[level]
        role = "access" if level == 0 else name
        lines += [f"  {name}{{i}}: {{range: 1-{count}, config: \"{name}{{i}}.cfg\", role: \"{role}{{i}}\", "
                  f"platform: \"{ACCESS_SERVER}\"}}"]
    lines += ["  hub-host: {config: hub-host.cfg, role: hub_host}",
              "  spoke1-host: {config: spoke1-host.cfg, role: remote_host}",
              f"  spoke{{i}}-host: {{range: 2-{n}, config: \"spoke{{i}}-host.cfg\", role: \"remote{{i}}_host\"}}",
              "  internet-host: {config: internet-host.cfg, role: internet_host}",
              "links:",
              f"  - {{serial: [hub Serial0, core Serial0], {SERIAL}}}",
              f"  # spoke i dials line (i-1) % {DOWN_PORTS} + 1 of access server (i-1) // {DOWN_PORTS} + 1; node i of"
              f" a level hangs off line (i-1) % {DOWN_PORTS} + 1",
              f"  # of node (i-1) // {DOWN_PORTS} + 1 of the level above, the top level off the core's Serial i",
              f"  - {{range: 1-{n}, serial: [\"spoke{{i}} Serial0\", \"as{{(i-1)//{DOWN_PORTS}+1}} "
              f"Serial{{(i-1)%{DOWN_PORTS}+1}}\"], {SERIAL}}}"]
    for level, count in enumerate(levels):
        name = LEVELS[level]
        above = ("core Serial{i}" if level == len(levels) - 1 else
                 f"{LEVELS[level + 1]}{{(i-1)//{DOWN_PORTS}+1}} Serial{{(i-1)%{DOWN_PORTS}+1}}")
        lines += [f"  - {{range: 1-{count}, serial: [\"{name}{{i}} Serial0\", \"{above}\"], {SERIAL}}}"]
    lines += ["  - ethernet: [hub Ethernet0, hub-host Ethernet0]",
              f"  - {{range: 1-{n}, ethernet: [\"spoke{{i}} Ethernet0\", \"spoke{{i}}-host Ethernet0\"]}}",
              "  - ethernet: [core Ethernet0, internet-host Ethernet0]"]
    return "\n".join(lines) + "\n"


def lab_files(d: Design) -> dict[str, str]:
    """Every file of the lab, by name."""
    d.check()
    internet = IPv4Network("192.0.2.0/24")
    files = {"hub.cfg": hub_config(d), "hub-host.cfg": host_config("hub-host", d.lan(0)),
             "internet-host.cfg": host_config("internet-host", internet)}
    if d.tiered:
        files["core.cfg"] = core_config(d)
        for level, count in enumerate(d.levels()):
            for i in range(1, count + 1):
                files[f"{LEVELS[level]}{i}.cfg"] = (tier_server_config(d, i) if level == 0 else
                                                    tree_router_config(d, level, i))
    else:
        files["access-server.cfg"] = access_server_config(d)
    for k in range(1, d.spokes + 1):
        files[f"spoke{k}.cfg"] = spoke_config(d, k)
        files[f"spoke{k}-host.cfg"] = host_config(f"spoke{k}-host", d.lan(k))
    files["lab.yml"] = lab_file(d)
    return files


def write_lab(d: Design, out: str | Path) -> list[Path]:
    """Write the lab into ``out`` (created if missing; existing files of the same names replaced)."""
    files = lab_files(d)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in files.items():
        (out / name).write_text(text)
        written.append(out / name)
    return written
