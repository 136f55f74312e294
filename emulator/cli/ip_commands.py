"""``show ip interface [NAME]``, ``show controllers serial N`` and ``show crypto dynamic-map`` in the
IOS 12.2 layouts (tests/samples/SOURCES.md), from the device's state.

``show controllers`` on a 2500 (HD64570 serial controller) names the cable on the port: the lab's
wires do not say which end is the DCE, so the end configured with ``clock rate`` is taken as the
DCE (as a lab is cabled: the clocking router holds the DCE cable), and a port with no wire has
``No cable``. The idb and driver addresses are fixed per device and unit (they are memory
addresses on IOS: any stable value is as true as another).
"""

from __future__ import annotations

import hashlib

from emulator.cli.crypto_show import entry_policy_lines
from emulator.cli.exec_commands import exec_command
from emulator.cli.layout import Layout, layout_of
from emulator.config.grammar import CommandError
from emulator.config.render import interface_sort_key
from emulator.device.interfaces import AddressMethod, LinkStatus
from emulator.device.router import Router

__all__ = ["show_ip_interface", "show_controllers", "show_crypto_dynamic_map"]

_LINK = {LinkStatus.UP: "up", LinkStatus.DOWN: "down", LinkStatus.ADMIN_DOWN: "administratively down"}
_DETERMINED = {AddressMethod.NVRAM: "non-volatile memory", AddressMethod.MANUAL: "configuration command",
               AddressMethod.IPCP: "IPCP"}


def _ip_interface(r: Router, name: str) -> list[str]:
    iface = r.config.interfaces[name]
    st = r.interface_state(name)
    proto = "up" if r.protocol_up(name) else "down"
    out = [f"{name} is {_LINK[r.link_status(name)]}, line protocol is {proto}"]
    addr = r.interface_address(name)
    if addr is None and not iface.negotiated:
        return out + ["  Internet protocol processing disabled"]
    if addr is not None:
        out.append(f"  Internet address is {addr.with_prefixlen}")
    else:
        out.append("  Internet address will be negotiated using IPCP")
    out.append("  Broadcast address is 255.255.255.255")
    if st.peer_address is not None:
        out.append(f"  Peer address is {st.peer_address}")
    if st.address_method in _DETERMINED and addr is not None:
        out.append(f"  Address determined by {_DETERMINED[st.address_method]}")
    fast = "disabled" if iface.route_cache is False else "enabled"
    same = "enabled" if name.startswith("Serial") and fast == "enabled" else "disabled"
    nat = (f"enabled, interface in domain {iface.nat}" if iface.nat else "disabled")
    out += [f"  MTU is {r.ip.ip_mtu(name)} bytes",
            "  Helper address is not set",
            "  Directed broadcast forwarding is disabled",
            "  Outgoing access list is not set",     # the configuration has no ip access-group
            "  Inbound  access list is not set",
            "  Proxy ARP is enabled",
            "  Security level is default",
            "  Split horizon is enabled",
            "  ICMP redirects are always sent",
            "  ICMP unreachables are always sent",
            "  ICMP mask replies are never sent",
            f"  IP fast switching is {fast}",
            f"  IP fast switching on the same interface is {same}",
            "  IP Flow switching is disabled",
            "  IP Fast switching turbo vector" if fast == "enabled" else "  IP Null turbo vector",
            f"  IP multicast fast switching is {'disabled' if iface.mroute_cache is False else 'enabled'}",
            "  IP multicast distributed fast switching is disabled",
            f"  IP route-cache flags are {'Fast' if fast == 'enabled' else 'None'}",
            "  Router Discovery is disabled",
            "  IP output packet accounting is disabled",
            "  IP access violation accounting is disabled",
            "  TCP/IP header compression is disabled",
            "  RTP/IP header compression is disabled",
            "  Probe proxy name replies are disabled",
            "  Policy routing is disabled",
            f"  Network address translation is {nat}",
            "  WCCP Redirect outbound is disabled",
            "  WCCP Redirect inbound is disabled",
            "  WCCP Redirect exclude is disabled",
            "  BGP Policy Mapping is disabled"]
    return out


def show_ip_interface(r: Router, name: str | None = None) -> str:
    if name is not None and name not in r.config.interfaces:
        raise CommandError("invalid", "", -1)
    names = [name] if name else sorted(r.config.interfaces, key=interface_sort_key)
    return "".join("\n".join(_ip_interface(r, n)) + "\n" for n in names)


def _address(r: Router, unit: int, what: str, base: int) -> int:
    digest = hashlib.sha256(f"{r.seed}/{r.name}/{unit}/{what}".encode()).digest()
    return base + (int.from_bytes(digest[:2], "big") & 0xFFF8)


def show_controllers(r: Router, name: str) -> str:
    """``show controllers serial N`` on a 2500: the HD64570 unit, its cable, its error counters."""
    if not name.startswith("Serial") or name not in r.config.interfaces:
        raise CommandError("invalid", "", -1)
    unit = int(name[len("Serial"):])
    iface = r.config.interfaces[name]
    c = r.interface_state(name).counters
    if not r.cabled(name):
        cable = "No cable"
    elif iface.clock_rate is not None:
        cable = f"V.35 DCE cable, clockrate {iface.clock_rate}"
    else:
        cable = "V.35 DTE cable"
    return "\n".join([
        f"HD unit {unit}, idb = 0x{_address(r, unit, 'idb', 0x1A0000):X}, "
        f"driver structure at 0x{_address(r, unit, 'driver', 0x1B0000):X}",
        f"buffer size 1524 HD unit {unit}, {cable}",
        f"{c.input_drops} missed datagrams, 0 overruns",
        "0 bad datagram encapsulations, 0 memory errors",
        "0 transmitter underruns",
    ]) + "\n"


def show_crypto_dynamic_map(r: Router, tag: str | None = None) -> str:
    """``show crypto dynamic-map [tag NAME]``: each dynamic map entry as a ``Crypto Map Template``
    block, with the body ``show crypto map`` gives a static entry (reference §1.3). No 12.2 capture
    of this command was found: the title line follows the 12.2 Security Command Reference's
    description of the command, the body is the one IOS shares with ``show crypto map``."""
    cfg = r.config
    sub = r.crypto
    ios15 = layout_of(cfg) is Layout.IOS15
    lines: list[str] = []
    for (name, seq), entry in sorted(cfg.dynamic_maps.items()):
        if tag is not None and name != tag:
            continue
        lines.append(f'Crypto Map Template"{name}" {seq}')
        lines += entry_policy_lines(sub, entry, ios15)
        lines.append("")
    return "\n".join(lines) + "\n" if lines else ""


@exec_command("show ip interface", "show ip interface <iface:if>")
def _show_ip_interface(session, args):
    return show_ip_interface(session.router, args.get("iface"))


@exec_command("show controllers <iface:if>")
def _show_controllers(session, args):
    return show_controllers(session.router, args["iface"])


@exec_command("show crypto dynamic-map", "show crypto dynamic-map tag <tag:word>")
def _show_dynamic_map(session, args):
    return show_crypto_dynamic_map(session.router, args.get("tag"))
