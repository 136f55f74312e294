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
- Ten spokes or more, a provider network in tiers, as a dial-up provider
  builds one: the hub's leased line ends on a ``core`` router (2514:
  Serial0 to the hub, Ethernet1 the internet, Ethernet0 a backbone segment);
  the backbone joins up to ``MAX_DISTRIBUTION`` distribution routers
  ``dist<d>`` (2514: Ethernet0 on the backbone, Ethernet1 on their own access
  segment); each access segment holds up to ``SERVERS_PER_SEGMENT`` access
  servers ``as<a>`` (2522: Ethernet0 on the segment, all ten serial ports
  PPP lines). No Ethernet segment has more than ``SERVERS_PER_SEGMENT`` + 1
  ports whatever N, so a broadcast costs a bounded fan-out. Static routes
  summarise each tier: the core routes each distribution's /21 of lines to
  it, a distribution each access server's /26 to that server; everything
  else follows a default route towards the core.
  Addresses: the backbone 198.18.0.0/24 (core .1, dist<d> .(d+1)), access
  segment d 198.18.d.0/24 (dist<d> .1, its s-th server .(s+1)); the lines
  come from 198.19.0.0/16: distribution d (from 0) owns 198.19.(8d).0/21,
  its s-th server (from 0) the /26 at offset 64s, that server's Serial<l> the
  /30 at offset 4l (server +1, spoke +2). The hub's WAN 203.0.113.1/24, the
  core 203.0.113.2; the internet 192.0.2.0/24.

LANs, both plans: the hub's is the first of 172.16.0.0/12 and spoke k's the
k-th, each a /24 (172.16.k.0/24 for k < 256) while N + 1 /24s fit in the
pool (N <= 4095), else the longest prefix that fits (/25, /26, ... down to
/28); the router is .1 of its LAN, the LAN's host .10. A plan that would
overflow a pool is refused with a ``GenerateError`` naming N and the limit.
In the tiered plan the hub's crypto and NAT lists summarise the spokes' LANs
as 172.16.0.0/12 (one entry, as a hub of many spokes is configured).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network
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

# The tiered plan.
ROUTER = "2514"                                    # core and distribution routers: two Ethernets, two serials
LINES_PER_SERVER = len([i for i in PLATFORMS[ACCESS_SERVER].interfaces if i.startswith("Serial")])
SERVERS_PER_SEGMENT = 32
MAX_DISTRIBUTION = 32                              # 198.19.0.0/16 holds 32 /21s of lines
LINE_POOL = IPv4Network("198.19.0.0/16")
BACKBONE = "198.18.0"
SERVER_BLOCK = 64                                  # addresses of one server's ten /30s, rounded to a /26
DIST_BLOCK = SERVER_BLOCK * SERVERS_PER_SEGMENT    # a /21
LAN_POOL = IPv4Network("172.16.0.0/12")
SHORTEST_LAN = 28                                  # a LAN holds at least .1 (router) and .10 (host)
MAX_SPOKES = min(MAX_DISTRIBUTION * SERVERS_PER_SEGMENT * LINES_PER_SERVER,
                 2 ** (SHORTEST_LAN - LAN_POOL.prefixlen) - 1)


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
        """More spokes than one access server terminates: the tiered provider network."""
        return self.spokes > ONE_SERVER_SPOKES

    @property
    def servers(self) -> int:
        return -(-self.spokes // LINES_PER_SERVER) if self.tiered else 1

    @property
    def distributions(self) -> int:
        return -(-self.servers // SERVERS_PER_SEGMENT) if self.tiered else 0

    def check(self) -> None:
        if self.spokes < 1:
            raise GenerateError(f"--spokes {self.spokes}: at least 1")
        if self.spokes > MAX_SPOKES:
            raise GenerateError(
                f"--spokes {self.spokes}: the address plan holds at most {MAX_SPOKES} spokes ("
                f"{MAX_DISTRIBUTION} distribution routers x {SERVERS_PER_SEGMENT} access servers x "
                f"{LINES_PER_SERVER} lines, their /30s from {LINE_POOL}; LANs from {LAN_POOL} down to "
                f"/{SHORTEST_LAN})")
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
    i = k - 1
    dist, rest = divmod(i, SERVERS_PER_SEGMENT * LINES_PER_SERVER)
    server, line = divmod(rest, LINES_PER_SERVER)
    base = IPv4Address(int(LINE_POOL.network_address) + dist * DIST_BLOCK + server * SERVER_BLOCK + 4 * line)
    return str(base + 1), str(base + 2)


def _server_of(k: int) -> tuple[int, int]:
    """Tiered plan: spoke k's access server (numbered from 1) and the serial port of its line."""
    a, line = divmod(k - 1, LINES_PER_SERVER)
    return a + 1, line


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


def _dist_block(dist: int) -> IPv4Network:
    return IPv4Network((int(LINE_POOL.network_address) + dist * DIST_BLOCK, 32 - (DIST_BLOCK.bit_length() - 1)))


def _server_block(dist: int, s: int) -> IPv4Network:
    base = int(LINE_POOL.network_address) + dist * DIST_BLOCK + s * SERVER_BLOCK
    return IPv4Network((base, 32 - (SERVER_BLOCK.bit_length() - 1)))


def core_config(d: Design) -> str:
    lines = [HEADER.format(name="core"),
             "interface Ethernet0", " description backbone", f" ip address {BACKBONE}.1 255.255.255.0", "!",
             "interface Ethernet1", " description the internet", " ip address 192.0.2.1 255.255.255.0", "!",
             "interface Serial0", " description leased line to the hub", f" ip address {SERVER_WAN} 255.255.255.0",
             "!", "interface Serial1", " shutdown", "!", "ip classless"]
    lines += [f"ip route {b.network_address} {b.netmask} {BACKBONE}.{dist + 2}"
              for dist in range(d.distributions) for b in [_dist_block(dist)]]
    return "\n".join(lines + ["!"]) + "\n" + FOOTER


def distribution_config(d: Design, dist: int) -> str:
    """Distribution router ``dist<dist+1>``: the backbone on Ethernet0, its access segment on Ethernet1."""
    servers = range(dist * SERVERS_PER_SEGMENT, min(d.servers, (dist + 1) * SERVERS_PER_SEGMENT))
    segment = f"198.18.{dist + 1}"
    lines = [HEADER.format(name=f"dist{dist + 1}"),
             "interface Ethernet0", " description backbone", f" ip address {BACKBONE}.{dist + 2} 255.255.255.0",
             "!", "interface Ethernet1", " description access servers",
             f" ip address {segment}.1 255.255.255.0", "!",
             "interface Serial0", " shutdown", "!", "interface Serial1", " shutdown", "!", "ip classless",
             f"ip route 0.0.0.0 0.0.0.0 {BACKBONE}.1"]
    lines += [f"ip route {b.network_address} {b.netmask} {segment}.{a - servers.start + 2}"
              for a in servers for b in [_server_block(dist, a - servers.start)]]
    return "\n".join(lines + ["!"]) + "\n" + FOOTER


def tier_server_config(d: Design, a: int) -> str:
    """Access server ``as<a>`` (from 1) of the tiered plan: its segment on Ethernet0, ten PPP lines."""
    dist, s = divmod(a - 1, SERVERS_PER_SEGMENT)
    segment = f"198.18.{dist + 1}"
    first = (a - 1) * LINES_PER_SERVER + 1
    spokes = range(first, min(d.spokes, first + LINES_PER_SERVER - 1) + 1)
    lines = [HEADER.format(name=f"as{a}"),
             "interface Ethernet0", " description access segment", f" ip address {segment}.{s + 2} 255.255.255.0",
             "!", *_ppp_lines(d, spokes, lambda k: _server_of(k)[1])]
    lines += [f"interface Serial{n}\n shutdown\n!" for n in range(len(spokes), LINES_PER_SERVER)]
    lines += [*_pools(d, spokes), "ip classless", f"ip route 0.0.0.0 0.0.0.0 {segment}.1", "!"]
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
    n, lines_per = d.spokes, LINES_PER_SERVER
    lines = [_title(d), f"seed: {d.seed}", "devices:", f"  hub: {{config: hub.cfg, role: hub, {SECRET}}}",
             f"  spoke1: {{config: spoke1.cfg, role: remote, {SECRET}}}",
             f"  spoke{{i}}: {{range: 2-{n}, config: \"spoke{{i}}.cfg\", role: \"remote{{i}}\", {SECRET}}}",
             f"  core: {{config: core.cfg, role: isp, platform: \"{ROUTER}\"}}",
             f"  dist{{i}}: {{range: 1-{d.distributions}, config: \"dist{{i}}.cfg\", role: \"dist{{i}}\", "
             f"platform: \"{ROUTER}\"}}",
             f"  as{{i}}: {{range: 1-{d.servers}, config: \"as{{i}}.cfg\", role: \"access{{i}}\", "
             f"platform: \"{ACCESS_SERVER}\"}}",
             "  hub-host: {config: hub-host.cfg, role: hub_host}",
             "  spoke1-host: {config: spoke1-host.cfg, role: remote_host}",
             f"  spoke{{i}}-host: {{range: 2-{n}, config: \"spoke{{i}}-host.cfg\", role: \"remote{{i}}_host\"}}",
             "  internet-host: {config: internet-host.cfg, role: internet_host}",
             "links:",
             f"  - {{serial: [hub Serial0, core Serial0], {SERIAL}}}",
             f"  # spoke i dials line (i-1) % {lines_per} of access server (i-1) // {lines_per} + 1",
             f"  - {{range: 1-{n}, serial: [\"spoke{{i}} Serial0\", \"as{{(i-1)//{lines_per}+1}} "
             f"Serial{{(i-1)%{lines_per}}}\"], {SERIAL}}}",
             f"  - ethernet: [core Ethernet0, {{range: 1-{d.distributions}, port: \"dist{{i}} Ethernet0\"}}]"]
    for dist in range(d.distributions):
        first = dist * SERVERS_PER_SEGMENT + 1
        last = min(d.servers, first + SERVERS_PER_SEGMENT - 1)
        lines += [f"  - ethernet: [dist{dist + 1} Ethernet1, {{range: {first}-{last}, port: \"as{{i}} Ethernet0\"}}]"]
    lines += ["  - ethernet: [hub Ethernet0, hub-host Ethernet0]",
              f"  - {{range: 1-{n}, ethernet: [\"spoke{{i}} Ethernet0\", \"spoke{{i}}-host Ethernet0\"]}}",
              "  - ethernet: [core Ethernet1, internet-host Ethernet0]"]
    return "\n".join(lines) + "\n"


def lab_files(d: Design) -> dict[str, str]:
    """Every file of the lab, by name."""
    d.check()
    internet = IPv4Network("192.0.2.0/24")
    files = {"hub.cfg": hub_config(d), "hub-host.cfg": host_config("hub-host", d.lan(0)),
             "internet-host.cfg": host_config("internet-host", internet)}
    if d.tiered:
        files["core.cfg"] = core_config(d)
        for dist in range(d.distributions):
            files[f"dist{dist + 1}.cfg"] = distribution_config(d, dist)
        for a in range(1, d.servers + 1):
            files[f"as{a}.cfg"] = tier_server_config(d, a)
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
