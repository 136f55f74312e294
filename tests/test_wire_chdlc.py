"""Cisco HDLC framing and SLARP: hand-computed bytes and Scapy's contrib dissector."""

import shutil
import subprocess
from ipaddress import IPv4Address

import pytest
from scapy.compat import raw
from scapy.contrib.chdlc import CHDLC, SLARP
from scapy.layers.inet import ICMP, IP

from emulator.wire.chdlc import (
    ADDRESS_BROADCAST,
    ADDRESS_UNICAST,
    PROTO_IPV4,
    PROTO_SLARP,
    SLARP_KEEPALIVE,
    SLARP_REPLY,
    SLARP_REQUEST,
    CHDLCFrame,
    SlarpAddress,
    SlarpKeepalive,
    decode_slarp,
)
from emulator.wire.errors import DecodeError
from emulator.wire.icmp import ICMPMessage
from emulator.wire.ipv4 import PROTO_ICMP, IPv4Packet
from emulator.wire.pcap import LINKTYPE_C_HDLC, PcapWriter

# Broadcast SLARP keepalive, mine 5, yours 4, reliability 0xffff, assembled by hand:
# address 8f, control 00, protocol 8035 | opcode 00000002 | 00000005 | 00000004 | ffff
KEEPALIVE_FRAME = bytes.fromhex("8f008035" "00000002" "00000005" "00000004" "ffff")


def test_constants():
    assert (ADDRESS_UNICAST, ADDRESS_BROADCAST, PROTO_IPV4, PROTO_SLARP) == (0x0F, 0x8F, 0x0800, 0x8035)
    assert (SLARP_REQUEST, SLARP_REPLY, SLARP_KEEPALIVE) == (0, 1, 2)


def test_keepalive_known_bytes_round_trip():
    ka = SlarpKeepalive(5, 4)
    frame = CHDLCFrame(PROTO_SLARP, ka.encode(), ADDRESS_BROADCAST)
    assert frame.encode() == KEEPALIVE_FRAME
    back = CHDLCFrame.decode(KEEPALIVE_FRAME)
    assert back == frame
    assert decode_slarp(back.payload) == ka
    assert SlarpKeepalive.decode(back.payload) == ka
    assert ka.reliability == 0xFFFF and ka.opcode == SLARP_KEEPALIVE


def test_keepalive_scapy_reads_ours():
    pkt = CHDLC(KEEPALIVE_FRAME)
    assert (pkt.address, pkt.control, pkt.proto) == (0x8F, 0, 0x8035)
    s = pkt[SLARP]
    assert (s.type, s.mysequence, s.yoursequence, s.reliability) == (2, 5, 4, 0xFFFF)


def test_keepalive_with_uptime():
    ka = SlarpKeepalive(0xFFFFFFFF, 0, uptime_ms=86_400_000)
    raw_ = ka.encode()
    assert raw_ == bytes.fromhex("00000002" "ffffffff" "00000000" "ffff" "05265c00")
    assert decode_slarp(raw_) == ka
    assert decode_slarp(raw_[:14]).uptime_ms is None


def test_keepalive_decodes_scapy_bytes():
    raw_ = raw(CHDLC(address=0x8F) / SLARP(type=2, mysequence=100, yoursequence=99))
    f = CHDLCFrame.decode(raw_)
    assert (f.address, f.protocol) == (0x8F, PROTO_SLARP)
    assert decode_slarp(f.payload) == SlarpKeepalive(100, 99, 0xFFFF)


def test_slarp_reply_both_ways():
    reply = SlarpAddress(SLARP_REPLY, IPv4Address("10.1.1.1"), IPv4Address("255.255.255.252"))
    raw_ = reply.encode()
    assert raw_ == bytes.fromhex("00000001" "0a010101" "fffffffc" "0000")
    s = SLARP(raw_)
    assert (s.type, s.address, s.mask, s.unused) == (1, "10.1.1.1", "255.255.255.252", 0)
    theirs = raw(SLARP(type=1, address="192.0.2.5", mask="255.255.255.0"))
    assert SlarpAddress.decode(theirs) == SlarpAddress(SLARP_REPLY, IPv4Address("192.0.2.5"),
                                                       IPv4Address("255.255.255.0"))


def test_slarp_request_defaults():
    req = SlarpAddress()
    assert req.encode() == bytes.fromhex("00000000" "00000000" "00000000" "0000")
    assert decode_slarp(req.encode()) == req
    with pytest.raises(ValueError):
        SlarpAddress(SLARP_KEEPALIVE).encode()


def test_ip_over_chdlc_vs_scapy():
    ip = IPv4Packet(IPv4Address("10.1.1.1"), IPv4Address("10.1.1.2"), PROTO_ICMP,
                    ICMPMessage.echo_request(1, 1, b"abcd").encode()).encode()
    frame = CHDLCFrame(PROTO_IPV4, ip).encode()
    assert frame[:4] == b"\x0f\x00\x08\x00"
    pkt = CHDLC(frame)
    assert pkt[IP].src == "10.1.1.1" and pkt[ICMP].id == 1
    theirs = raw(CHDLC() / IP(src="1.1.1.1", dst="2.2.2.2") / ICMP())
    f = CHDLCFrame.decode(theirs)
    assert (f.address, f.control, f.protocol) == (ADDRESS_UNICAST, 0, PROTO_IPV4)
    assert IPv4Packet.decode(f.payload).dst == IPv4Address("2.2.2.2")


def test_chdlc_every_truncation():
    for cut in range(4):
        with pytest.raises(DecodeError) as ei:
            CHDLCFrame.decode(KEEPALIVE_FRAME[:cut])
        assert (ei.value.layer, ei.value.reason) == ("chdlc", f"header truncated at offset 0: need 4 bytes, have {cut}")
    payload = KEEPALIVE_FRAME[4:]
    for cut in range(14):
        with pytest.raises(DecodeError) as ei:
            decode_slarp(payload[:cut])
        if cut < 4:
            want = f"message truncated at offset 0 reading opcode: need 4 bytes, have {cut}"
        else:
            want = f"message truncated at offset 4 reading keepalive: need 10 bytes, have {cut - 4}"
        assert (ei.value.layer, ei.value.reason) == ("slarp", want)
    # 15-17 bytes: keepalive without (complete) uptime stamp; trailing bytes ignored.
    for cut in range(14, 18):
        assert decode_slarp(payload + b"\x00" * (cut - 14)).uptime_ms is None


@pytest.mark.parametrize("frame,reason", [
    (b"\xff\x03\x00\x21", "bad address 0xff"),   # PPP-style header is not Cisco HDLC
    (b"\x0f\x03\x08\x00", "bad control 0x03"),
])
def test_chdlc_rejects_bad_header(frame, reason):
    with pytest.raises(DecodeError) as ei:
        CHDLCFrame.decode(frame)
    assert ei.value.reason == reason


def test_slarp_bad_opcode_and_wrong_class():
    with pytest.raises(DecodeError) as ei:
        decode_slarp(bytes.fromhex("00000003") + bytes(10))
    assert ei.value.reason == "unknown opcode 3"
    with pytest.raises(DecodeError) as ei:
        SlarpKeepalive.decode(SlarpAddress().encode())
    assert ei.value.reason == "opcode 0 is not a keepalive"
    with pytest.raises(DecodeError) as ei:
        SlarpAddress.decode(SlarpKeepalive(1, 1).encode())
    assert ei.value.reason == "opcode 2 is not an address request/reply"


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_tshark_reads_slarp(tmp_path):
    path = tmp_path / "serial.pcap"
    with open(path, "wb") as f:
        w = PcapWriter(f, LINKTYPE_C_HDLC)
        w.write(1.0, KEEPALIVE_FRAME)
        w.write(2.0, CHDLCFrame(PROTO_SLARP, SlarpAddress(SLARP_REPLY, IPv4Address("10.1.1.1"),
                                                         IPv4Address("255.255.255.252")).encode()).encode())
    out = subprocess.run(
        ["tshark", "-r", str(path), "-T", "fields", "-E", "separator=,",
         "-e", "chdlc.address", "-e", "chdlc.protocol", "-e", "slarp.ptype", "-e", "slarp.mysequence",
         "-e", "slarp.yoursequence", "-e", "slarp.reliability", "-e", "slarp.address", "-e", "slarp.netmask"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.split()
    rows = [[int(v, 0) if v[:2] == "0x" or v.isdigit() else v for v in line.split(",")] for line in out]
    assert rows[0][:6] == [0x8F, 0x8035, 2, 5, 4, 0xFFFF]
    assert rows[1][:3] == [0x0F, 0x8035, 1]
    assert rows[1][6:] == ["10.1.1.1", "255.255.255.252"]
