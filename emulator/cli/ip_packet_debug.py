"""``debug ip packet [ACL] [detail]`` in IOS 12.2's words.

IOS shows only the packets its processor handles: those the router sends and those addressed
to it (and transit packets it process-switches). The emulator shows the first two kinds,
from the IP stack's hook: ``sending`` (or ``unroutable``) for each packet the router
originates (ping, IKE, ICMP errors, traceroute probes) and ``rcvd 3`` for each packet it
takes for itself. Transit packets are left out: on a 2500 they are fast-switched and IOS
does not show them either, unless ``no ip route-cache`` puts them through the processor (not
modelled). With an access list, only the packets it permits are shown; ``detail`` adds the
protocol line (``ICMP type=8, code=0``, ``UDP src=500, dst=500``) under each.
"""

from __future__ import annotations

from emulator.cli.exec_commands import DEBUGS, _set_debug, exec_command
from emulator.device.console import Message
from emulator.engines.acl import Flow
from emulator.wire.ipv4 import PROTO_ICMP, PROTO_TCP, PROTO_UDP, IPv4Packet

__all__ = ["packet_lines"]

DEBUGS["ip packet"] = "IP packet debugging is"


def packet_lines(what: str, iface: str | None, packet: IPv4Packet, detail: bool) -> list[str]:
    if what == "rcvd":
        line = f"IP: s={packet.src} ({iface}), d={packet.dst} ({iface}), len {packet.total_length}, rcvd 3"
    elif what == "sending":
        line = f"IP: s={packet.src} (local), d={packet.dst} ({iface}), len {packet.total_length}, sending"
    else:
        line = f"IP: s={packet.src} (local), d={packet.dst}, len {packet.total_length}, unroutable"
    lines = [line]
    if detail:
        data = packet.payload
        if packet.protocol == PROTO_ICMP and len(data) >= 2:
            lines.append(f"    ICMP type={data[0]}, code={data[1]}")
        elif packet.protocol in (PROTO_UDP, PROTO_TCP) and len(data) >= 4:
            name = "UDP" if packet.protocol == PROTO_UDP else "TCP"
            lines.append(f"    {name} src={int.from_bytes(data[0:2], 'big')}, dst={int.from_bytes(data[2:4], 'big')}")
    return lines


def _renderer(router, acl: int | None, detail: bool):
    def render(what: str, iface: str | None, packet: IPv4Packet) -> None:
        if "ip packet" not in router.debugs:      # undebug all
            return
        if acl is not None:
            flow = Flow.from_ipv4(packet.encode())
            if flow is None or not router.acl.permits(acl, flow):
                return
        first, *rest = packet_lines(what, iface, packet, detail)
        router.console.debug(Message(first))
        router.console.extend(rest)
    return render


@exec_command("debug ip packet", "debug ip packet detail", "debug ip packet <acl:1-199>",
              "debug ip packet <acl:1-199> detail", privileged=True)
def _debug_ip_packet(session, args):
    router = session.router
    acl, detail = args.get("acl"), "detail" in args["_keywords"]
    router.ip.packet_debug = _renderer(router, acl, detail)
    out = _set_debug(session, "ip packet", True).rstrip("\n")
    if detail:
        out += " (detailed)"
    if acl is not None:
        out += f" for access list {acl}"
    return out + "\n"


@exec_command("no debug ip packet", "undebug ip packet", privileged=True)
def _no_debug_ip_packet(session, args):
    session.router.ip.packet_debug = None
    return _set_debug(session, "ip packet", False)
