"""Packets, configurations and fixtures for the NAT engine tests: the remote router's NAT
configuration from the document, its interface addresses, and packet builders."""

from ipaddress import IPv4Address

from scapy.compat import raw
from scapy.layers.inet import ICMP, IP, TCP, UDP

from emulator.config.loader import load_config
from emulator.wire.icmp import ICMPMessage
from emulator.wire.ipv4 import IPv4Packet
from emulator.wire.tcp import ACK, TCPSegment
from emulator.wire.udp import UDPDatagram
from support import FIXTURES

HW = ["Ethernet0", "Serial0", "Serial1"]

H1, H2 = IPv4Address("10.1.1.2"), IPv4Address("10.1.1.3")
HUB_LAN = IPv4Address("10.2.2.5")
NET1, NET2, NET3 = (IPv4Address(f"198.51.100.{n}") for n in (10, 20, 30))
S0 = IPv4Address("100.100.100.1")       # the /32 IPCP gives dr_whoovie's Serial0


def remote_config(extra: str = ""):
    cfg, _ = load_config((FIXTURES / "dr_whoovie.cfg").read_text(), "dr_whoovie.cfg", HW)
    if extra:
        cfg, errors = load_config(extra, "extra.cfg", HW, cfg=cfg)
        assert errors == []
    return cfg


class Addresses(dict):
    """The interface address provider: name -> current primary address (or missing)."""

    def __call__(self, name):
        return self.get(name)


# ---------------------------------------------------------------- packet helpers

def echo(src, dst, ident=512, seq=1, reply=False, ipid=25):
    msg = (ICMPMessage.echo_reply if reply else ICMPMessage.echo_request)(ident, seq, b"abcdefgh" * 9)
    return IPv4Packet(src, dst, 1, msg.encode(), identification=ipid, ttl=254).encode()


def udp(src, dst, sport, dport, payload=b"hello world", ipid=7):
    return IPv4Packet(src, dst, 17, UDPDatagram(sport, dport, payload).encode(src, dst),
                      identification=ipid).encode()


def tcp(src, dst, sport, dport, flags=ACK, payload=b"", ipid=9):
    seg = TCPSegment(sport, dport, 1000, 2000, flags, payload=payload)
    return IPv4Packet(src, dst, 6, seg.encode(src, dst), identification=ipid).encode()


def decode(data):
    """Decode with the wire codecs, verifying every checksum."""
    pkt = IPv4Packet.decode(data)
    if pkt.protocol == 1:
        return pkt, ICMPMessage.decode(pkt.payload)
    if pkt.protocol == 17:
        return pkt, UDPDatagram.decode(pkt.payload, pkt.src, pkt.dst)
    if pkt.protocol == 6:
        return pkt, TCPSegment.decode(pkt.payload, pkt.src, pkt.dst)
    return pkt, None


def scapy_checksums_ok(data):
    """Scapy's reading: the checksums in ``data`` equal the ones Scapy recomputes."""
    pkt = IP(data)
    again = pkt.copy()
    del again[IP].chksum
    layers = [layer for layer in (TCP, UDP, ICMP) if layer in pkt]
    for layer in layers:
        del again[layer].chksum
    rebuilt = IP(raw(again))
    assert pkt[IP].chksum == rebuilt[IP].chksum
    for layer in layers:
        assert pkt[layer].chksum == rebuilt[layer].chksum, layer
    return True


def out(nat, packet, now, src_if="Ethernet0"):
    return nat.inside_to_outside(packet, src_if, "Serial0", now)


def back(nat, packet, now):
    return nat.outside_to_inside(packet, "Serial0", now)


# ---------------------------------------------------------------- ICMP, UDP, TCP through PAT
