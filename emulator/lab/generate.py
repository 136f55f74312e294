"""A hub-and-spoke lab written out as files: configurations, hosts, an access server, the lab file.

The pattern is the dynamic-to-static IPsec design with NAT: one hub with a
dynamic crypto map only (it cannot initiate) and a wildcard pre-shared key;
N spokes that dial the access server over PPP, learn their address by IPCP
from a pool of one address per line, and name the hub as their peer; every
router does NAT overload with a route-map that exempts the LAN-to-LAN traffic.
The access server is a 2522 (nine PPP lines beside the hub's leased line).

Addresses: hub LAN 172.16.0.0/24, spoke k's LAN 172.16.k.0/24, hub WAN
203.0.113.1/24, spoke k's line 198.51.100.(4k+0)/30 with the spoke at .(4k+2),
the internet 192.0.2.0/24.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from emulator.config.commands import TRANSFORMS
from emulator.device.platform import PLATFORMS

ACCESS_SERVER = "2522"
FIRST_LINE = 1                      # the access server's Serial0 ends the hub's leased line
MAX_SPOKES = len([i for i in PLATFORMS[ACCESS_SERVER].interfaces if i.startswith("Serial")]) - FIRST_LINE
HUB_WAN, SERVER_WAN = "203.0.113.1", "203.0.113.2"
ENCRYPTIONS = ("des", "3des")
HASHES = ("md5", "sha")
GROUPS = (1, 2, 5)


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

    def check(self) -> None:
        if not 1 <= self.spokes <= MAX_SPOKES:
            raise GenerateError(f"--spokes {self.spokes}: between 1 and {MAX_SPOKES} (the {ACCESS_SERVER} access "
                                f"server has {MAX_SPOKES} serial lines beside the hub's)")
        bad = [t for t in self.transforms if t not in TRANSFORMS]
        if bad or not any(t.startswith("esp-") for t in self.transforms):
            raise GenerateError(f"--transform {' '.join(self.transforms)}: an ESP transform set of "
                                f"{', '.join(TRANSFORMS)}" + (f" ({bad[0]!r} is none)" if bad else ""))
        if self.encryption not in ENCRYPTIONS or self.hash not in HASHES or self.group not in GROUPS:
            raise GenerateError(f"ISAKMP policy: --encryption {'/'.join(ENCRYPTIONS)}, --hash {'/'.join(HASHES)}, "
                                f"--group {'/'.join(map(str, GROUPS))}")
        if not self.key or " " in self.key:
            raise GenerateError("--key: one word")


def _lan(k: int) -> str:
    return f"172.16.{k}"


def _line(k: int) -> tuple[str, str]:
    """The access server's and the spoke's address on spoke k's line (a /30)."""
    return f"198.51.100.{4 * k + 1}", f"198.51.100.{4 * k + 2}"


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


def _nat(local: str, others: list[str]) -> list[str]:
    acl = [f"access-list 101 permit ip {local}.0 0.0.0.255 {o}.0 0.0.0.255" for o in others]
    acl += [f"access-list 101 deny ip {local}.0 0.0.0.255 any"]
    acl += [f"access-list 102 deny ip {local}.0 0.0.0.255 {o}.0 0.0.0.255" for o in others]
    acl += [f"access-list 102 permit ip {local}.0 0.0.0.255 any"]
    return acl + ["route-map no-nat permit 10", " match ip address 102", "!"]


def hub_config(d: Design) -> str:
    lines = [HEADER.format(name="hub"), *_policy(d), f"crypto isakmp key {d.key} address 0.0.0.0 0.0.0.0", "!",
             f"crypto ipsec transform-set vpn-ts {' '.join(d.transforms)}", "!",
             "crypto dynamic-map spokes 10", " set transform-set vpn-ts", " match address 101", "!",
             "crypto map vpn 10 ipsec-isakmp dynamic spokes", "!",
             "interface Ethernet0", f" ip address {_lan(0)}.1 255.255.255.0", " ip nat inside", "!",
             "interface Serial0", f" ip address {HUB_WAN} 255.255.255.0", " ip nat outside", " crypto map vpn", "!",
             "ip nat inside source route-map no-nat interface Serial0 overload", "ip classless",
             "ip route 0.0.0.0 0.0.0.0 Serial0", "!",
             *_nat(_lan(0), [_lan(k) for k in range(1, d.spokes + 1)])]
    return "\n".join(lines) + "\n" + FOOTER


def spoke_config(d: Design, k: int) -> str:
    lines = [HEADER.format(name=f"spoke{k}"), *_policy(d), f"crypto isakmp key {d.key} address {HUB_WAN}", "!",
             f"crypto ipsec transform-set vpn-ts {' '.join(d.transforms)}", "!",
             "crypto map vpn 10 ipsec-isakmp", f" set peer {HUB_WAN}", " set transform-set vpn-ts",
             " match address 101", "!",
             "interface Ethernet0", f" ip address {_lan(k)}.1 255.255.255.0", " ip nat inside", "!",
             "interface Serial0", " ip address negotiated", " ip nat outside", " encapsulation ppp",
             " crypto map vpn", "!",
             "ip nat inside source route-map no-nat interface Serial0 overload", "ip classless",
             "ip route 0.0.0.0 0.0.0.0 Serial0", "!", *_nat(_lan(k), [_lan(0)])]
    return "\n".join(lines) + "\n" + FOOTER


def access_server_config(d: Design) -> str:
    lines = [HEADER.format(name="access-server"),
             "interface Ethernet0", " description the internet", " ip address 192.0.2.1 255.255.255.0", "!",
             "interface Serial0", " description leased line to the hub", f" ip address {SERVER_WAN} 255.255.255.0",
             "!"]
    for k in range(1, d.spokes + 1):
        mine, _ = _line(k)
        lines += [f"interface Serial{FIRST_LINE + k - 1}", f" description PPP line to spoke{k}",
                  f" ip address {mine} 255.255.255.252", " encapsulation ppp",
                  f" peer default ip address pool SPOKE{k}", "!"]
    lines += [f"ip local pool SPOKE{k} {_line(k)[1]}" for k in range(1, d.spokes + 1)]
    lines += ["ip classless", "!"]
    return "\n".join(lines) + "\n" + FOOTER


def host_config(name: str, address: str, gateway: str) -> str:
    return "\n".join([HEADER.format(name=name), "no ip routing", "!", "interface Ethernet0",
                      f" ip address {address} 255.255.255.0", "!", f"ip default-gateway {gateway}", "!"]) + \
        "\n" + FOOTER


def lab_file(d: Design) -> str:
    spokes = range(1, d.spokes + 1)
    lines = [f"# A hub-and-spoke lab of {d.spokes} spoke(s): python -m emulator lab hub-and-spoke "
             f"--spokes {d.spokes} --transform {' '.join(d.transforms)} --group {d.group}",
             f"seed: {d.seed}", "devices:",
             "  hub: {config: hub.cfg, role: hub, extra_config: [enable secret lab]}"]
    lines += [f"  spoke{k}: {{config: spoke{k}.cfg, role: {remote_role(k)}, extra_config: [enable secret lab]}}"
              for k in spokes]
    lines += [f"  access-server: {{config: access-server.cfg, role: isp, platform: \"{ACCESS_SERVER}\"}}",
              "  hub-host: {config: hub-host.cfg, role: hub_host}"]
    lines += [f"  spoke{k}-host: {{config: spoke{k}-host.cfg, role: {remote_role(k)}_host}}" for k in spokes]
    lines += ["  internet-host: {config: internet-host.cfg, role: internet_host}", "links:",
              "  - serial: [hub Serial0, access-server Serial0]", "    bandwidth_kbps: 1544", "    delay_ms: 2"]
    for k in spokes:
        lines += [f"  - serial: [spoke{k} Serial0, access-server Serial{FIRST_LINE + k - 1}]",
                  "    bandwidth_kbps: 1544", "    delay_ms: 2"]
    lines += ["  - ethernet: [hub Ethernet0, hub-host Ethernet0]"]
    lines += [f"  - ethernet: [spoke{k} Ethernet0, spoke{k}-host Ethernet0]" for k in spokes]
    lines += ["  - ethernet: [access-server Ethernet0, internet-host Ethernet0]"]
    return "\n".join(lines) + "\n"


def write_lab(d: Design, out: str | Path) -> list[Path]:
    """Write the lab into ``out`` (created if missing; existing files of the same names replaced)."""
    d.check()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {"hub.cfg": hub_config(d), "access-server.cfg": access_server_config(d),
             "hub-host.cfg": host_config("hub-host", f"{_lan(0)}.10", f"{_lan(0)}.1"),
             "internet-host.cfg": host_config("internet-host", "192.0.2.10", "192.0.2.1")}
    for k in range(1, d.spokes + 1):
        files[f"spoke{k}.cfg"] = spoke_config(d, k)
        files[f"spoke{k}-host.cfg"] = host_config(f"spoke{k}-host", f"{_lan(k)}.10", f"{_lan(k)}.1")
    files["lab.yml"] = lab_file(d)
    written = []
    for name, text in files.items():
        (out / name).write_text(text)
        written.append(out / name)
    return written
