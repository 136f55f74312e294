"""Ethernet II and ARP codecs: known bytes, round trips, Scapy as a second reading."""

from ipaddress import IPv4Address

import pytest
from scapy.layers.l2 import ARP, Ether
from scapy.packet import Raw

from emulator.wire.arp import ARP_LEN, OP_REPLY, OP_REQUEST, ZERO_MAC, ARPPacket
from emulator.wire.errors import DecodeError
from emulator.wire.ethernet import (
    BROADCAST,
    ETHERTYPE_ARP,
    ETHERTYPE_IPV4,
    MIN_FRAME_LEN,
    EthernetFrame,
    mac_from_str,
    mac_to_str,
)

MAC_A = bytes.fromhex("00000c123456")
MAC_B = bytes.fromhex("cafe00010203")
IP_A = IPv4Address("10.0.0.1")
IP_B = IPv4Address("10.0.0.2")


# --- MAC text forms -----------------------------------------------------------

def test_mac_to_str_ios_dotted():
    assert mac_to_str(MAC_A) == "0000.0c12.3456"
    assert mac_to_str(BROADCAST) == "ffff.ffff.ffff"


@pytest.mark.parametrize("text", ["0000.0c12.3456", "0000.0C12.3456", "00:00:0c:12:34:56",
                                  "00:00:0C:12:34:56", "00-00-0c-12-34-56", " 0000.0c12.3456 "])
def test_mac_from_str_forms(text):
    assert mac_from_str(text) == MAC_A


@pytest.mark.parametrize("text", ["", "0000.0c12.345", "0000.0c12.34567", "00:00:0c:12:34",
                                  "00:00-0c:12:34:56", "00000c123456", "gg00.0c12.3456", "0000:0c12:3456"])
def test_mac_from_str_rejects(text):
    with pytest.raises(ValueError):
        mac_from_str(text)


def test_mac_to_str_rejects_wrong_length():
    with pytest.raises(ValueError):
        mac_to_str(b"\x00" * 5)


# --- Ethernet -------------------------------------------------------------------

def test_ethernet_encode_known_bytes_and_padding():
    frame = EthernetFrame(BROADCAST, MAC_A, ETHERTYPE_ARP, b"\x01\x02\x03")
    raw = frame.encode()
    assert raw[:14] == bytes.fromhex("ffffffffffff" "00000c123456" "0806")
    assert raw[14:17] == b"\x01\x02\x03"
    assert len(raw) == MIN_FRAME_LEN == 60
    assert raw[17:] == bytes(43)


def test_ethernet_no_padding_when_long_enough():
    payload = bytes(range(100))
    raw = EthernetFrame(MAC_B, MAC_A, ETHERTYPE_IPV4, payload).encode()
    assert len(raw) == 114
    assert raw[14:] == payload


def test_ethernet_round_trip_keeps_padding():
    raw = EthernetFrame(MAC_B, MAC_A, ETHERTYPE_IPV4, b"abc").encode()
    back = EthernetFrame.decode(raw)
    assert (back.dst, back.src, back.ethertype) == (MAC_B, MAC_A, ETHERTYPE_IPV4)
    assert back.payload == b"abc" + bytes(43)  # padding kept; upper layer trims
    assert back.encode() == raw
    big = EthernetFrame(MAC_B, MAC_A, 0x86DD, bytes(range(200)))
    assert EthernetFrame.decode(big.encode()) == big


def test_ethernet_flags():
    assert EthernetFrame(BROADCAST, MAC_A, 0x800).is_broadcast
    assert EthernetFrame(BROADCAST, MAC_A, 0x800).is_multicast
    assert EthernetFrame(bytes.fromhex("01005e000005"), MAC_A, 0x800).is_multicast
    assert not EthernetFrame(MAC_B, MAC_A, 0x800).is_multicast


def test_ethernet_scapy_reads_ours():
    raw = EthernetFrame(MAC_B, MAC_A, 0x1234, b"hello").encode()
    pkt = Ether(raw)
    assert pkt.dst == "ca:fe:00:01:02:03"
    assert pkt.src == "00:00:0c:12:34:56"
    assert pkt.type == 0x1234
    assert bytes(pkt.payload)[:5] == b"hello"
    assert len(raw) == 60


def test_ethernet_decodes_scapy_bytes():
    raw = bytes(Ether(dst="01:02:03:04:05:06", src="0a:0b:0c:0d:0e:0f", type=0x0800) / Raw(b"x" * 50))
    f = EthernetFrame.decode(raw)
    assert f.dst == bytes.fromhex("010203040506")
    assert f.src == bytes.fromhex("0a0b0c0d0e0f")
    assert f.ethertype == 0x0800
    assert f.payload == b"x" * 50


def test_ethernet_every_truncation():
    raw = EthernetFrame(MAC_B, MAC_A, ETHERTYPE_IPV4, b"abc").encode()
    for cut in range(14):
        with pytest.raises(DecodeError) as ei:
            EthernetFrame.decode(raw[:cut])
        assert ei.value.layer == "ethernet"
        assert ei.value.reason == f"header truncated at offset 0: need 14 bytes, have {cut}"
    assert EthernetFrame.decode(raw[:14]).payload == b""


def test_ethernet_encode_rejects_bad_mac():
    with pytest.raises(ValueError):
        EthernetFrame(b"\x00" * 5, MAC_A, 0x800).encode()


# --- ARP ------------------------------------------------------------------------

# Hand-assembled per RFC 826: hrd=1, pro=0x0800, hln=6, pln=4, op=1, sha, spa, tha=0, tpa.
REQUEST_BYTES = bytes.fromhex(
    "0001" "0800" "06" "04" "0001"
    "00000c123456" "0a000001"
    "000000000000" "0a000002"
)


def test_arp_request_known_bytes():
    req = ARPPacket.request(MAC_A, IP_A, IP_B)
    assert req.encode() == REQUEST_BYTES
    assert len(REQUEST_BYTES) == ARP_LEN
    assert ARPPacket.decode(REQUEST_BYTES) == req
    assert req.target_mac == ZERO_MAC and req.op == OP_REQUEST


def test_arp_reply_round_trip_and_gratuitous():
    rep = ARPPacket.reply(MAC_B, IP_B, MAC_A, IP_A)
    assert rep.op == OP_REPLY
    assert ARPPacket.decode(rep.encode()) == rep
    assert not rep.is_gratuitous
    assert ARPPacket.request(MAC_A, IP_A, IP_A).is_gratuitous


def test_arp_in_ethernet_scapy_reads_ours():
    arp = ARPPacket.reply(MAC_B, IP_B, MAC_A, IP_A)
    raw = EthernetFrame(MAC_A, MAC_B, ETHERTYPE_ARP, arp.encode()).encode()
    pkt = Ether(raw)
    assert pkt.haslayer(ARP)
    a = pkt[ARP]
    assert (a.hwtype, a.ptype, a.hwlen, a.plen, a.op) == (1, 0x0800, 6, 4, 2)
    assert a.hwsrc == "ca:fe:00:01:02:03" and a.psrc == "10.0.0.2"
    assert a.hwdst == "00:00:0c:12:34:56" and a.pdst == "10.0.0.1"


def test_arp_decodes_scapy_bytes_with_padding():
    raw = bytes(Ether(dst="ff:ff:ff:ff:ff:ff", src="00:00:0c:12:34:56")
                / ARP(op=1, hwsrc="00:00:0c:12:34:56", psrc="192.168.1.1", pdst="192.168.1.254"))
    raw = raw + bytes(60 - len(raw))  # what a switch would deliver
    f = EthernetFrame.decode(raw)
    assert f.ethertype == ETHERTYPE_ARP
    a = ARPPacket.decode(f.payload)  # trailing padding ignored
    assert a == ARPPacket(OP_REQUEST, MAC_A, IPv4Address("192.168.1.1"), ZERO_MAC, IPv4Address("192.168.1.254"))


def test_arp_every_truncation():
    for cut in range(ARP_LEN):
        with pytest.raises(DecodeError) as ei:
            ARPPacket.decode(REQUEST_BYTES[:cut])
        assert ei.value.layer == "arp"
        assert ei.value.reason == f"packet truncated at offset 0: need 28 bytes, have {cut}"


@pytest.mark.parametrize("offset,value,reason", [
    (0, b"\x00\x06", "unsupported hardware type 6"),
    (2, b"\x86\xdd", "unsupported protocol type 0x86dd"),
    (4, b"\x08", "bad address lengths hlen=8 plen=4"),
    (5, b"\x10", "bad address lengths hlen=6 plen=16"),
])
def test_arp_rejects_other_types(offset, value, reason):
    bad = REQUEST_BYTES[:offset] + value + REQUEST_BYTES[offset + len(value):]
    with pytest.raises(DecodeError) as ei:
        ARPPacket.decode(bad)
    assert ei.value.reason == reason


def test_arp_garbage():
    with pytest.raises(DecodeError):
        ARPPacket.decode(b"\xff" * 28)
