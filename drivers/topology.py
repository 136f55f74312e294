"""The lab the report speaks of, as a model and as an SVG drawing.

From a lab file: its devices by role, their interfaces (names, addresses, encapsulation read from the
configurations), its links. From an inventory (real routers): the devices by role, and what their
``show running-config`` in the run's transcripts says of their interfaces; links between them are not
known, so each router's outside interface is drawn to the provider network between them. Either way
the run's transcripts add what the routers showed (an address learnt by IPCP, the tunnel once up).
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from emulator.config.loader import load_config

# Columns left to right: the remote side, the provider in between, the hub side.
_COLUMNS = {"remote_host": 0, "remote": 1, "isp": 2, "internet_host": 2, "hub": 3, "hub_host": 4}
PROVIDER = "provider network"


@dataclass
class Port:
    name: str
    address: str = ""          # "99.99.99.1/24", "negotiated (IPCP)", "100.100.100.1/32 (IPCP)" once learnt
    encapsulation: str = ""    # ppp, hdlc, ethernet
    nat: str = ""              # inside | outside
    crypto_map: str = ""


@dataclass
class Node:
    name: str
    role: str
    ports: dict[str, Port] = field(default_factory=dict)
    note: str = ""             # management address of an inventory device
    cloud: bool = False


@dataclass
class Link:
    kind: str                  # serial | ethernet | provider
    ends: list[tuple[str, str]]  # (device, interface); interface "" for a cloud
    detail: str = ""           # bandwidth, delay


@dataclass
class Topology:
    source: str
    nodes: dict[str, Node] = field(default_factory=dict)
    links: list[Link] = field(default_factory=list)
    tunnels: list[tuple[str, str, str]] = field(default_factory=list)   # hub, remote, what shows it up
    notes: list[str] = field(default_factory=list)

    def order(self) -> list[str]:
        """Device names left to right, as the drawing places them."""
        return [n.name for n in sorted(self.nodes.values(), key=lambda n: (column(n.role), n.name))]


def column(role: str) -> int:
    role = role or ""
    if role in _COLUMNS:
        return _COLUMNS[role]
    if "host" in role:
        return 4 if role.startswith("hub") else 0 if role.startswith(("remote", "spoke", "branch")) else 2
    if role.startswith("hub"):
        return 3
    if role.startswith(("remote", "spoke", "branch")):
        return 1
    return 2


def _ports_from_config(text: str) -> dict[str, Port]:
    cfg, _ = load_config(text, "<running-config>")
    ports = {}
    for name, iface in cfg.interfaces.items():
        if not iface.stated:
            continue
        if iface.negotiated:
            address = "negotiated (IPCP)"
        elif iface.address is not None and iface.mask is not None:
            prefix = bin(int(iface.mask)).count("1")
            address = f"{iface.address}/{prefix}"
        else:
            address = ""
        ethernet = iface.encapsulation == "arpa" or "Ethernet" in name
        encapsulation = "ethernet" if ethernet else iface.encapsulation
        ports[name] = Port(name, address, encapsulation, iface.nat or "", iface.crypto_map or "")
    return ports


def from_lab(path: Path) -> Topology:
    """The topology of a lab file (devices, configurations, links)."""
    from emulator.lab.labfile import load_lab, read_text
    spec = load_lab(path)
    topo = Topology(f"lab file {path}")
    for name, dev in spec.devices.items():
        try:
            text = read_text(dev.config_path) + "\n" + "\n".join(dev.extra_config)
            ports = _ports_from_config(text)
        except (OSError, ValueError) as err:
            ports = {}
            topo.notes.append(f"{name}: configuration unreadable ({err})")
        topo.nodes[name] = Node(name, dev.role or "", ports)
    for link in spec.links:
        detail = (f"{link.bandwidth_bps // 1000} kbit/s, {link.delay_ns / 1e6:g} ms" if link.kind == "serial" else "")
        topo.links.append(Link(link.kind, list(link.ports), detail))
        for device, iface in link.ports:
            node = topo.nodes.get(device)
            if node is not None and iface not in node.ports:
                node.ports[iface] = Port(iface, "", "ethernet" if link.kind == "ethernet" else "hdlc")
    return topo


def from_inventory(path: Path) -> Topology:
    """The devices of an inventory by role; their links are not in it."""
    from drivers.inventory import load_inventory
    topo = Topology(f"inventory {path}")
    inventory = load_inventory(path, environ=_AnyValue())
    for name, dev in inventory.devices.items():
        topo.nodes[name] = Node(name, dev.role, note=f"{dev.transport} {dev.host}:{dev.port}")
    topo.notes.append("The inventory names the devices, not the links: each router's outside interface is drawn "
                      "to the provider network between them.")
    return topo


class _AnyValue(dict):
    """An environment where every variable is set: the drawing needs no password."""

    def __missing__(self, key: str) -> str:
        return "-"

    def get(self, key, default=None):
        return self[key]

    def __contains__(self, key: object) -> bool:
        return True


_ADDRESS = re.compile(r"Internet address is (\d+\.\d+\.\d+\.\d+/\d+)")


def add_transcripts(topo: Topology, exchanges: Iterable[tuple[str, str, str]]) -> None:
    """What the routers showed during the run: interfaces from ``show running-config`` (devices the lab file
    does not describe), addresses learnt by IPCP from ``show interfaces``, the tunnel once up."""
    latest_config: dict[str, str] = {}
    tunnel_up: dict[str, str] = {}
    for device, command, output in exchanges:
        node = topo.nodes.get(device)
        if node is None:
            continue
        words = command.split()
        if words[:2] == ["show", "running-config"] and "interface" in output:
            latest_config[device] = output
        elif words[:2] == ["show", "interfaces"] and len(words) == 3:
            _learn_address(node, words[2], output)
        elif words[:3] == ["show", "crypto", "isakmp"] and "QM_IDLE" in output:
            tunnel_up[device] = "phase 1 SA in QM_IDLE"
        elif words[:3] == ["show", "crypto", "ipsec"] and re.search(r"current outbound spi: 0x0*[1-9a-fA-F]", output):
            tunnel_up[device] = "ESP SAs installed"
    for device, text in latest_config.items():
        node = topo.nodes[device]
        if not node.ports:
            try:
                node.ports = _ports_from_config(text)
            except ValueError:
                continue
    if not any(link.kind != "provider" for link in topo.links):
        _provider_links(topo)
    hubs = [n.name for n in topo.nodes.values() if n.role.startswith("hub") and "host" not in n.role]
    remotes = [n.name for n in topo.nodes.values() if column(n.role) == 1]
    for remote in remotes:
        for hub in hubs:
            shown = tunnel_up.get(remote) or tunnel_up.get(hub)
            if shown:
                topo.tunnels.append((hub, remote, shown))


def _learn_address(node: Node, iface: str, output: str) -> None:
    port = node.ports.get(iface)
    found = _ADDRESS.search(output)
    if port is not None and found and port.address.startswith("negotiated"):
        port.address = f"{found.group(1)} (IPCP)"


def _provider_links(topo: Topology) -> None:
    routers = [n for n in topo.nodes.values() if column(n.role) in (1, 3)]
    if not routers:
        return
    topo.nodes[PROVIDER] = Node(PROVIDER, "isp", cloud=True, note="not in the inventory")
    for node in routers:
        outside = [p.name for p in node.ports.values() if p.nat == "outside" or p.crypto_map]
        topo.links.append(Link("provider", [(node.name, outside[0] if outside else ""), (PROVIDER, "")]))


# ---------------------------------------------------------------------------- drawing

BOX_W, COL_W, LINE_H, PAD = 180, 300, 15, 24


def _box_height(node: Node) -> int:
    return 34 + LINE_H * (2 * len(node.ports) + (1 if node.note else 0))


def _layout(topo: Topology) -> tuple[dict[str, tuple[int, int, int]], int, int]:
    """name -> (x, y, height); the drawing's width and height."""
    by_column: dict[int, list[Node]] = defaultdict(list)
    for node in sorted(topo.nodes.values(), key=lambda n: ("host" in n.role, n.name)):
        by_column[column(node.role)].append(node)
    used = sorted(by_column)
    where: dict[str, tuple[int, int, int]] = {}
    height = 0
    for i, col in enumerate(used):
        y = PAD + 20
        for node in by_column[col]:
            h = _box_height(node)
            where[node.name] = (PAD + i * COL_W, y, h)
            y += h + 40
        height = max(height, y)
    width = PAD * 2 + (len(used) - 1) * COL_W + BOX_W if used else 200
    return where, width, height + 30


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _clip(text: str, chars: int) -> str:
    return text if len(text) <= chars else text[:chars - 1] + "\u2026"


def _node_svg(node: Node, x: int, y: int, h: int) -> list[str]:
    cls = "node cloud" if node.cloud else f"node col{column(node.role)}"
    out = [f'<g class="{cls}"><title>{_e(node.name)} ({_e(node.role or "no role")})</title>',
           f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{h}" rx="{18 if node.cloud else 6}"/>',
           f'<text x="{x + 8}" y="{y + 16}" class="name">{_e(_clip(node.name, 22))}</text>',
           f'<text x="{x + 8}" y="{y + 29}" class="role">{_e(node.role or "no role")}</text>']
    line = y + 29
    if node.note:
        line += LINE_H
        out.append(f'<text x="{x + 8}" y="{line}" class="role">{_e(_clip(node.note, 26))}</text>')
    for port in node.ports.values():
        line += LINE_H
        extra = " ".join(p for p in (port.encapsulation.upper() if port.encapsulation else "", port.nat) if p)
        out.append(f'<text x="{x + 8}" y="{line}" class="port">{_e(_clip(port.name + " " + extra, 26))}</text>')
        line += LINE_H
        out.append(f'<text x="{x + 16}" y="{line}" class="addr">{_e(_clip(port.address or "no address", 25))}</text>')
    out.append("</g>")
    return out


def _anchor(where: Mapping[str, tuple[int, int, int]], a: str, b: str) -> tuple[float, float, float, float]:
    ax, ay, ah = where[a]
    bx, by, bh = where[b]
    y1, y2 = ay + min(ah, 60) / 2, by + min(bh, 60) / 2
    if ax == bx:
        return ax + BOX_W / 2, ay + ah, bx + BOX_W / 2, by
    if ax < bx:
        return ax + BOX_W, y1, bx, y2
    return ax, y1, bx + BOX_W, y2


def to_svg(topo: Topology) -> str:
    """The lab as an SVG drawing (no script, no external reference)."""
    where, width, height = _layout(topo)
    parts = [f'<svg class="topology" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="img" aria-labelledby="topo-title">',
             f'<title id="topo-title">{_e("The lab: " + topo.source)}</title>']
    for link in topo.links:
        ends = [(d, i) for d, i in link.ends if d in where]
        for (a, ia), (b, ib) in zip(ends, ends[1:], strict=False):
            x1, y1, x2, y2 = _anchor(where, a, b)
            encaps = _encapsulation(topo, link, a, ia)
            label = ", ".join(p for p in (encaps, link.detail) if p)
            mx, my = (x1 + x2) / 2, (y1 + y2) / 2
            below = (f'<text x="{mx:.0f}" y="{my + 14:.0f}" text-anchor="middle">{_e(_clip(link.detail, 22))}</text>'
                     if link.detail else "")
            parts.append(f'<g class="link {link.kind}"><title>{_e(f"{a} {ia} - {b} {ib}: {label}")}</title>'
                         f'<line x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}"/>'
                         f'<text x="{mx:.0f}" y="{my - 5:.0f}" text-anchor="middle">{_e(_clip(encaps, 22))}</text>'
                         f'{below}</g>')
    for hub, remote, shown in topo.tunnels:
        if hub in where and remote in where:
            (hx, hy, _), (rx, ry, _) = where[hub], where[remote]
            y = max(hy, ry) - 12
            parts.append(f'<g class="tunnel"><title>{_e(f"IPsec tunnel {remote} - {hub} ({shown})")}</title>'
                         f'<path d="M{rx + BOX_W / 2:.0f},{ry} C{rx + BOX_W / 2:.0f},{y - 20} '
                         f'{hx + BOX_W / 2:.0f},{y - 20} {hx + BOX_W / 2:.0f},{hy}"/>'
                         f'<text x="{(rx + hx + BOX_W) / 2:.0f}" y="{y - 14}" text-anchor="middle">'
                         f'IPsec tunnel up ({_e(shown)})</text></g>')
    for name, (x, y, h) in where.items():
        parts += _node_svg(topo.nodes[name], x, y, h)
    parts.append("</svg>")
    return "".join(parts)


def _encapsulation(topo: Topology, link: Link, device: str, iface: str) -> str:
    node = topo.nodes.get(device)
    port = node.ports.get(iface) if node is not None else None
    if link.kind == "provider":
        return "WAN"
    if port is not None and port.encapsulation:
        return port.encapsulation.upper()
    return link.kind


def link_lines(topo: Topology) -> list[str]:
    """The links in words, for readers of text (and narrow screens)."""
    lines = []
    for link in topo.links:
        ends = []
        for device, iface in link.ends:
            node = topo.nodes.get(device)
            port = node.ports.get(iface) if node is not None else None
            address = f" ({port.address})" if port is not None and port.address else ""
            ends.append(f"{device} {iface}{address}".strip())
        kind = _encapsulation(topo, link, *link.ends[0])
        lines.append(" \u2014 ".join(ends) + f": {kind}" + (f", {link.detail}" if link.detail else ""))
    for hub, remote, shown in topo.tunnels:
        lines.append(f"IPsec tunnel {remote} \u2014 {hub}: up ({shown})")
    return lines
