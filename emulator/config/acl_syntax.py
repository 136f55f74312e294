"""Access-list entry syntax: parsing the tokens of an entry and rendering it back."""

from __future__ import annotations

from ipaddress import IPv4Address

from emulator.config.grammar import ParamType, Reject, Token, is_number, register_param_type
from emulator.config.model import AccessListEntry, AddressMatch, PortMatch
from emulator.wire.icmp import ICMPType
from emulator.wire.ipv4 import IPProto
from emulator.wire.udp import UDPPort

ANY = AddressMatch(IPv4Address("0.0.0.0"), IPv4Address("255.255.255.255"))

# Protocol keywords of extended lists and their IP protocol numbers ("ip": 0, any protocol).
PROTOCOLS = {"ip": 0, "icmp": IPProto.ICMP, "igmp": IPProto.IGMP, "tcp": IPProto.TCP, "udp": IPProto.UDP,
             "gre": IPProto.GRE, "esp": IPProto.ESP, "ahp": IPProto.AH, "eigrp": IPProto.EIGRP,
             "ospf": IPProto.OSPF, "pim": IPProto.PIM}

# Port names IOS accepts and prints instead of numbers (IANA well-known ports).
TCP_PORTS = {"ftp-data": 20, "ftp": 21, "telnet": 23, "smtp": 25, "domain": 53,
             "www": 80, "pop3": 110, "bgp": 179}
UDP_PORTS = {"bootps": 67, "bootpc": 68, "domain": 53, "tftp": 69, "ntp": 123,
             "snmp": 161, "isakmp": UDPPort.ISAKMP, "syslog": 514, "rip": 520,
             "non500-isakmp": UDPPort.IPSEC_NAT_T}
PORT_OPS = ("eq", "gt", "lt", "neq", "range")
ICMP_TYPES = {"echo-reply": ICMPType.ECHO_REPLY, "unreachable": ICMPType.DEST_UNREACHABLE,
              "echo": ICMPType.ECHO_REQUEST, "time-exceeded": ICMPType.TIME_EXCEEDED}


def _ip(text: str) -> IPv4Address | None:
    parts = text.split(".")
    if len(parts) != 4 or not all(is_number(p) and int(p) < 256 for p in parts):
        return None
    return IPv4Address(text)


def _prefix(tokens: list[Token], i: int, keyword: str) -> bool:
    return i < len(tokens) and len(tokens[i].text) >= 1 and keyword.startswith(tokens[i].text.lower())


def _address(tokens: list[Token], i: int) -> tuple[AddressMatch, int]:
    if i >= len(tokens):
        raise Reject(None)
    word = tokens[i].text.lower()
    if word == "any" or (len(word) >= 2 and "any".startswith(word)):
        return ANY, i + 1
    if len(word) >= 1 and "host".startswith(word) and not _ip(word):
        if i + 1 >= len(tokens):
            raise Reject(None)
        addr = _ip(tokens[i + 1].text)
        if addr is None:
            raise Reject(i + 1)
        return AddressMatch(addr, IPv4Address("0.0.0.0")), i + 2
    addr = _ip(tokens[i].text)
    if addr is None:
        raise Reject(i)
    if i + 1 >= len(tokens):
        raise Reject(None)
    wildcard = _ip(tokens[i + 1].text)
    if wildcard is None:
        raise Reject(i + 1)
    # IOS keeps only the bits the wildcard does not mask.
    return AddressMatch(IPv4Address(int(addr) & ~int(wildcard) & 0xFFFFFFFF), wildcard), i + 2


def _port_value(text: str, names: dict[str, int]) -> int | None:
    if is_number(text) and int(text) < 65536:
        return int(text)
    return names.get(text.lower())


def _ports(tokens: list[Token], i: int, protocol: str) -> tuple[PortMatch | None, int]:
    if protocol not in ("tcp", "udp") or i >= len(tokens):
        return None, i
    word = tokens[i].text.lower()
    ops = [op for op in PORT_OPS if op.startswith(word)]
    if len(ops) != 1:
        return None, i
    op = ops[0]
    names = TCP_PORTS if protocol == "tcp" else UDP_PORTS
    count = 2 if op == "range" else 1
    values = []
    for k in range(count):
        j = i + 1 + k
        if j >= len(tokens):
            raise Reject(None)
        value = _port_value(tokens[j].text, names)
        if value is None:
            raise Reject(j)
        values.append(value)
    return PortMatch(op, tuple(values)), i + 1 + count


class ExtendedEntry(ParamType):
    """``PROTO SRC [PORTS] DST [PORTS] [TYPE] [established] [log]`` of an extended list."""

    name = "extended entry"

    def consume(self, tokens, i, line):
        word = tokens[i].text.lower()
        protos = [p for p in PROTOCOLS if p.startswith(word)]
        if word in PROTOCOLS:
            protocol = word
        elif is_number(word) and int(word) < 256:
            protocol = word
        elif len(protos) == 1:
            protocol = protos[0]
        else:
            raise Reject(i)
        src, i = _address(tokens, i + 1)
        sport, i = _ports(tokens, i, protocol)
        dst, i = _address(tokens, i)
        dport, i = _ports(tokens, i, protocol)
        entry = AccessListEntry("", protocol, src, dst, sport, dport)
        if protocol == "icmp" and i < len(tokens) and tokens[i].text.lower() in ICMP_TYPES:
            entry.icmp_type = tokens[i].text.lower()
            i += 1
        if protocol == "tcp" and _prefix(tokens, i, "established"):
            entry.established = True
            i += 1
        if _prefix(tokens, i, "log"):
            entry.log = True
            i += 1
        if i < len(tokens):
            raise Reject(i)
        return entry, i


class StandardEntry(ParamType):
    """``SRC [log]`` of a standard list (a bare address means host)."""

    name = "standard entry"

    def consume(self, tokens, i, line):
        addr = _ip(tokens[i].text)
        if addr is not None and (i + 1 >= len(tokens) or _ip(tokens[i + 1].text) is None):
            src, i = AddressMatch(addr, IPv4Address("0.0.0.0")), i + 1
        else:
            src, i = _address(tokens, i)
        entry = AccessListEntry("", None, src)
        if _prefix(tokens, i, "log"):
            entry.log = True
            i += 1
        if i < len(tokens):
            raise Reject(i)
        return entry, i


register_param_type("ext-entry", ExtendedEntry())
register_param_type("std-entry", StandardEntry())


def _render_ports(port: PortMatch | None, protocol: str) -> str:
    if port is None:
        return ""
    names = {v: k for k, v in (TCP_PORTS if protocol == "tcp" else UDP_PORTS).items()}
    return " " + port.op + "".join(" " + names.get(p, str(p)) for p in port.ports)


def render_entry(entry: AccessListEntry) -> str:
    """The entry as IOS prints it (``deny`` padded to the width of ``permit``)."""
    if entry.remark is not None:
        return f"remark {entry.remark}"
    action = entry.action.ljust(6)
    if entry.protocol is None:
        src = entry.source
        text = str(src.address) if int(src.wildcard) == 0 else src.render()
        if int(src.wildcard) not in (0, 0xFFFFFFFF):
            text = f"{src.address}, wildcard bits {src.wildcard}"
        return f"{action} {text}" + (" log" if entry.log else "")
    if entry.destination is None:
        raise ValueError(f"extended access-list entry without a destination: {entry!r}")
    text = f"{action} {entry.protocol} {entry.source.render()}"
    text += _render_ports(entry.source_port, entry.protocol)
    text += f" {entry.destination.render()}"
    text += _render_ports(entry.destination_port, entry.protocol)
    if entry.icmp_type:
        text += f" {entry.icmp_type}"
    if entry.established:
        text += " established"
    if entry.log:
        text += " log"
    return text


def config_entry(entry: AccessListEntry) -> str:
    """The entry as the running configuration writes it."""
    if entry.protocol is None and entry.remark is None:
        src = entry.source
        text = str(src.address) if int(src.wildcard) == 0 else src.render()
        return f"{entry.action.ljust(6)} {text}" + (" log" if entry.log else "")
    return render_entry(entry)
