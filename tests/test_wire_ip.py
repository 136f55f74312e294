"""IPv4, ICMP, UDP and TCP codecs and the internet checksum.

Values are checked against RFC examples, hand-computed bytes, and Scapy as an
independent second reading (Scapy recomputes checksums when ``chksum=None``).
"""

import random
from dataclasses import replace
from ipaddress import IPv4Address

import pytest
from scapy.compat import raw
from scapy.layers.inet import ICMP, IP, TCP, UDP, IPerror, IPOption_Router_Alert, UDPerror
from scapy.packet import Raw

from emulator.wire import icmp as icmpmod
from emulator.wire import tcp as tcpmod
from emulator.wire.checksum import internet_checksum, pseudo_header
from emulator.wire.errors import DecodeError
from emulator.wire.icmp import ICMPMessage, quote_datagram
from emulator.wire.ipv4 import (
    FLAG_DF,
    FLAG_MF,
    PROTO_ICMP,
    PROTO_TCP,
    PROTO_UDP,
    IPv4Packet,
    decrement_ttl,
)
from emulator.wire.tcp import ACK, FIN, PSH, RST, SYN, URG, TCPSegment
from emulator.wire.udp import UDPDatagram

A = IPv4Address("192.168.0.1")
B = IPv4Address("192.168.0.199")
ADDR_PAIRS = [(A, B), (IPv4Address("10.1.1.1"), IPv4Address("172.16.254.3")),
              (IPv4Address("0.0.0.0"), IPv4Address("255.255.255.255"))]


def reference_checksum(data: bytes) -> int:
    """Straightforward RFC 1071 section 4.1 loop: 16-bit adds, fold carries, complement."""
    if len(data) % 2:
        data += b"\x00"
    total = 0
    for i in range(0, len(data), 2):
        total += (data[i] << 8) | data[i + 1]
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def scapy_recomputed(layer):
    """A copy of ``layer`` with chksum cleared and rebuilt by Scapy."""
    clone = layer.copy()
    clone.chksum = None
    return clone.__class__(raw(clone))


# --- checksum -------------------------------------------------------------------

def test_checksum_rfc1071_example():
    # RFC 1071 section 3 numerical example: the words sum to 0xddf2 (one's complement).
    data = bytes.fromhex("0001f203f4f5f6f7")
    assert reference_checksum(data) == ~0xDDF2 & 0xFFFF
    assert internet_checksum(data) == 0x220D


def test_checksum_known_ipv4_header():
    # 20-byte header 4500 0073 0000 4000 4011 [cksum] c0a8 0001 c0a8 00c7; checksum 0xb861,
    # computed by hand: sum 0x2479c -> fold 0x479e -> complement 0xb861.
    hdr = bytes.fromhex("450000730000400040110000c0a80001c0a800c7")
    assert internet_checksum(hdr) == 0xB861
    with_ck = hdr[:10] + b"\xb8\x61" + hdr[12:]
    assert internet_checksum(with_ck) == 0


@pytest.mark.parametrize("data,expected", [
    (b"", 0xFFFF),
    (b"\x00", 0xFFFF),
    (b"\x00" * 7, 0xFFFF),            # all-zero: +0 sum, complement 0xFFFF
    (b"\xff\xff", 0x0000),            # non-zero sum that is a multiple of 0xFFFF: -0
    (b"\xff" * 64, 0x0000),
    (b"\xff" * 3, reference_checksum(b"\xff" * 3)),
    (b"\x12\x34\xed\xcb", 0x0000),    # 0x1234 + 0xedcb = 0xffff
    (b"\x01", 0xFEFF),
])
def test_checksum_edge_cases(data, expected):
    assert internet_checksum(data) == expected
    assert reference_checksum(data) == expected


def test_checksum_matches_reference_on_random_data():
    rng = random.Random(1071)
    for _ in range(600):
        n = rng.randrange(0, 300)
        kind = rng.random()
        if kind < 0.1:
            data = b"\xff" * n
        elif kind < 0.15:
            data = bytes(n)
        elif kind < 0.3:
            data = bytes(rng.choice((0, 0xFF)) for _ in range(n))
        else:
            data = rng.randbytes(n)
        assert internet_checksum(data) == reference_checksum(data), data.hex()


def test_checksum_self_verifies():
    rng = random.Random(7)
    for n in range(2, 80, 2):
        data = rng.randbytes(n)
        zeroed = data[:0] + b"\0\0" + data[2:]
        ck = internet_checksum(zeroed)
        assert internet_checksum(ck.to_bytes(2, "big") + data[2:]) == 0


def test_pseudo_header():
    ph = pseudo_header(A, B, 17, 0x1234)
    assert ph == bytes.fromhex("c0a80001" "c0a800c7" "00" "11" "1234")
    assert pseudo_header(A.packed, B.packed, 6, 20) == bytes.fromhex("c0a80001c0a800c7" "0006" "0014")
    with pytest.raises(ValueError):
        pseudo_header(b"\x01\x02\x03", B, 6, 20)


# --- IPv4 -----------------------------------------------------------------------

def test_ipv4_encode_known_bytes():
    payload = bytes(0x73 - 20)
    pkt = IPv4Packet(A, B, PROTO_UDP, payload, ttl=64, flags=FLAG_DF)
    raw_ = pkt.encode()
    assert raw_[:20] == bytes.fromhex("45000073000040004011b861c0a80001c0a800c7")
    assert raw_[20:] == payload
    assert pkt.total_length == 0x73 and pkt.header_length == 20


def test_ipv4_round_trip_and_fields():
    pkt = IPv4Packet(A, B, 99, b"payload!", ttl=7, tos=0xB8, identification=0xBEEF,
                     flags=FLAG_MF, fragment_offset=185, options=b"\x94\x04\x00\x00")
    back = IPv4Packet.decode(pkt.encode())
    assert back == pkt
    assert back.checksum == int.from_bytes(pkt.encode()[10:12], "big")
    assert back.is_fragment and back.mf and not back.df
    assert back.header_length == 24


def test_ipv4_options_padded():
    pkt = IPv4Packet(A, B, 1, b"", options=b"\x01")  # one NOP, padded with EOL zeros
    raw_ = pkt.encode()
    assert raw_[0] == 0x46 and raw_[20:24] == b"\x01\x00\x00\x00"
    assert IPv4Packet.decode(raw_).options == b"\x01\x00\x00\x00"
    with pytest.raises(ValueError):
        IPv4Packet(A, B, 1, options=bytes(41)).encode()


def test_ipv4_fragment_property():
    assert not IPv4Packet(A, B, 1).is_fragment
    assert not IPv4Packet(A, B, 1, flags=FLAG_DF).is_fragment
    assert IPv4Packet(A, B, 1, flags=FLAG_MF).is_fragment
    assert IPv4Packet(A, B, 1, fragment_offset=1).is_fragment


def test_ipv4_scapy_reads_ours():
    pkt = IPv4Packet(A, B, PROTO_ICMP, b"\x08\x00" + bytes(30), ttl=200, tos=0x10,
                     identification=4321, flags=FLAG_DF, options=b"\x94\x04\x00\x00")
    raw_ = pkt.encode()
    s = IP(raw_)
    assert (s.version, s.ihl, s.tos, s.len, s.id) == (4, 6, 0x10, len(raw_), 4321)
    assert (int(s.flags), s.frag, s.ttl, s.proto) == (FLAG_DF, 0, 200, 1)
    assert (s.src, s.dst) == (str(A), str(B))
    assert s.chksum == scapy_recomputed(s).chksum
    frag = IP(IPv4Packet(A, B, 17, bytes(16), flags=FLAG_MF, fragment_offset=0x1ABC).encode())
    assert (int(frag.flags), frag.frag) == (FLAG_MF, 0x1ABC)
    assert frag.chksum == scapy_recomputed(frag).chksum


def test_ipv4_decodes_scapy_bytes():
    s = IP(src="10.9.8.7", dst="1.2.3.4", ttl=33, id=77, tos=4, flags="MF", frag=3, proto=50,
           options=[IPOption_Router_Alert()]) / Raw(b"z" * 21)
    raw_ = raw(s)
    p = IPv4Packet.decode(raw_)
    assert (p.src, p.dst, p.ttl, p.identification, p.tos) == (
        IPv4Address("10.9.8.7"), IPv4Address("1.2.3.4"), 33, 77, 4)
    assert (p.flags, p.fragment_offset, p.protocol) == (FLAG_MF, 3, 50)
    assert p.options == b"\x94\x04\x00\x00"
    assert p.payload == b"z" * 21
    assert p.checksum == IP(raw_).chksum
    assert p.encode() == raw_


def test_ipv4_trims_link_padding():
    inner = IPv4Packet(A, B, 1, b"abc").encode()
    p = IPv4Packet.decode(inner + bytes(20))
    assert p.payload == b"abc"


def test_ipv4_every_truncation():
    raw_ = IPv4Packet(A, B, 6, bytes(range(40)), options=b"\x01\x01\x01\x00").encode()
    assert len(raw_) == 64
    for cut in range(len(raw_)):
        with pytest.raises(DecodeError) as ei:
            IPv4Packet.decode(raw_[:cut])
        assert ei.value.layer == "ipv4"
        if cut < 20:
            assert ei.value.reason == f"header truncated at offset 0: need 20 bytes, have {cut}"
        elif cut < 24:
            assert ei.value.reason == ("header truncated at offset 20 reading options (IHL 6): "
                                       f"need 4 bytes, have {cut - 20}")
        else:
            assert ei.value.reason == f"truncated packet: total length 64, have {cut} bytes"


def test_ipv4_allow_truncated_reads_quoted_header():
    raw_ = IPv4Packet(A, B, 17, bytes(100)).encode()
    p = IPv4Packet.decode(raw_[:28], allow_truncated=True)
    assert p.payload == bytes(8) and p.src == A and p.protocol == 17


def _patch(data: bytes, offset: int, value: bytes) -> bytes:
    return data[:offset] + value + data[offset + len(value):]


def test_ipv4_bad_fields():
    good = IPv4Packet(A, B, 1, bytes(8)).encode()
    cases = [
        (_patch(good, 0, b"\x65"), "bad version 6"),
        (_patch(good, 0, b"\x44"), "bad IHL 4 (minimum 5)"),
        (_patch(good, 0, b"\x40"), "bad IHL 0 (minimum 5)"),
        (_patch(good, 0, b"\x4f"), "header truncated at offset 20 reading options (IHL 15): need 40 bytes, have 8"),
        (_patch(good, 2, b"\x00\x13"), "total length 19 smaller than header length 20"),
        (_patch(good, 2, b"\xff\xff"), "truncated packet: total length 65535, have 28 bytes"),
        (_patch(good, 8, b"\x3f"), "bad header checksum"),
        (_patch(good, 10, b"\x00\x00"), "bad header checksum"),
    ]
    for data, reason in cases:
        with pytest.raises(DecodeError) as ei:
            IPv4Packet.decode(data)
        assert ei.value.reason == reason
    # A bad checksum is accepted when verification is off.
    assert IPv4Packet.decode(_patch(good, 10, b"\x00\x00"), verify=False).checksum == 0


def test_ipv4_garbage_never_raises_other_errors():
    rng = random.Random(791)
    for _ in range(2000):
        data = rng.randbytes(rng.randrange(0, 70))
        if rng.random() < 0.5 and data:
            data = bytes([0x45]) + data[1:]
        try:
            IPv4Packet.decode(data)
        except DecodeError:
            pass


def test_decrement_ttl_matches_full_recompute():
    rng = random.Random(1624)
    for _ in range(2000):
        ttl = rng.randrange(1, 256)
        pkt = IPv4Packet(IPv4Address(rng.getrandbits(32)), IPv4Address(rng.getrandbits(32)),
                         rng.randrange(256), rng.randbytes(rng.randrange(0, 12)), ttl=ttl,
                         tos=rng.randrange(256), identification=rng.randrange(65536),
                         flags=rng.randrange(4), fragment_offset=rng.randrange(0x2000))
        dec = decrement_ttl(pkt.encode())
        assert dec == replace(pkt, ttl=ttl - 1).encode()
        assert IPv4Packet.decode(dec).ttl == ttl - 1
    with pytest.raises(ValueError):
        decrement_ttl(IPv4Packet(A, B, 1, ttl=0).encode())


# --- ICMP -----------------------------------------------------------------------

def test_icmp_echo_known_bytes():
    # type 8, code 0, checksum, id 0x0001, seq 0x0002, data "ab":
    # words 0800 + 0001 + 0002 + 6162 = 0x6965 -> checksum 0x969a.
    raw_ = ICMPMessage.echo_request(1, 2, b"ab").encode()
    assert raw_ == bytes.fromhex("0800969a00010002") + b"ab"


def test_icmp_echo_encoded_from_fields_is_the_message_encoding():
    # encode_echo / encode_echo_request (the per-echo path) give the bytes of the message object's encode().
    for n in (0, 1, 2, 3, 56, 57):
        data = bytes(range(n))
        assert icmpmod.encode_echo_request(0x1234, n, data) == ICMPMessage.echo_request(0x1234, n, data).encode()
        request = ICMPMessage.decode(ICMPMessage.echo_request(0xBEEF, 0xFFFF - n, data).encode())
        reply = icmpmod.encode_echo(icmpmod.ECHO_REPLY, request.rest, request.payload)
        assert reply == request.make_echo_reply().encode()
        assert internet_checksum(reply) == 0 and reply[0] == 0


def test_ipv4_packets_made_on_the_packet_path_equal_constructed_ones():
    made = IPv4Packet.make(A, B, PROTO_ICMP, b"abc", ttl=64, tos=8, identification=9, flags=FLAG_DF)
    built = IPv4Packet(A, B, PROTO_ICMP, b"abc", ttl=64, tos=8, identification=9, flags=FLAG_DF)
    assert made == built and hash(made) == hash(built) and repr(made) == repr(built)
    assert made.encode() == built.encode()
    decoded = IPv4Packet.decode(built.encode())
    assert decoded == built and decoded.checksum is not None
    moved = decoded.forwarded()
    assert moved.encode() == replace(built, ttl=63).encode() and moved.ttl == 63
    with pytest.raises(AttributeError):
        made.ttl = 1          # still frozen


def test_icmp_echo_scapy_reads_ours():
    msg = ICMPMessage.echo_request(0x1234, 7, bytes(range(56)))
    ip = IPv4Packet(A, B, PROTO_ICMP, msg.encode()).encode()
    s = IP(ip)
    assert s[ICMP].type == 8 and s[ICMP].code == 0
    assert (s[ICMP].id, s[ICMP].seq) == (0x1234, 7)
    assert bytes(s[ICMP].payload) == bytes(range(56))
    assert s[ICMP].chksum == scapy_recomputed(s[ICMP]).chksum


def test_icmp_odd_length_payload_checksum_vs_scapy():
    for n in (0, 1, 3, 17, 101):
        msg = ICMPMessage.echo_reply(9, n, bytes([0xA5]) * n)
        raw_ = msg.encode()
        ours = int.from_bytes(raw_[2:4], "big")
        assert ours == ICMP(raw(ICMP(type=0, id=9, seq=n) / Raw(bytes([0xA5]) * n))).chksum


def test_icmp_decodes_scapy_echo_and_replies():
    raw_ = raw(ICMP(type=8, id=0xABCD, seq=0x0102) / Raw(b"hello"))
    m = ICMPMessage.decode(raw_)
    assert (m.type, m.code, m.identifier, m.sequence, m.payload) == (8, 0, 0xABCD, 0x0102, b"hello")
    rep = m.make_echo_reply()
    assert rep == ICMPMessage.echo_reply(0xABCD, 0x0102, b"hello")
    s = ICMP(rep.encode())
    assert (s.type, s.id, s.seq, s.load) == (0, 0xABCD, 0x0102, b"hello")


def test_icmp_dest_unreachable_quotes_header_and_8_bytes():
    udp = UDPDatagram(33434, 53, b"x" * 40).encode(A, B)
    original = IPv4Packet(A, B, PROTO_UDP, udp, ttl=1, identification=999).encode()
    quoted = quote_datagram(original)
    assert quoted == original[:28]
    msg = ICMPMessage.dest_unreachable(icmpmod.UNREACH_PORT, original)
    assert msg.payload == original[:28] and msg.is_error
    s = IP(IPv4Packet(B, A, PROTO_ICMP, msg.encode()).encode())
    assert (s[ICMP].type, s[ICMP].code) == (3, 3)
    assert s[ICMP].chksum == scapy_recomputed(s[ICMP]).chksum
    assert s.haslayer(IPerror) and s[IPerror].id == 999 and s[IPerror].src == str(A)
    assert s.haslayer(UDPerror) and s[UDPerror].sport == 33434 and s[UDPerror].dport == 53
    # The quoted header can be read back with allow_truncated.
    inner = IPv4Packet.decode(ICMPMessage.decode(msg.encode()).payload, allow_truncated=True)
    assert inner.identification == 999 and inner.payload == udp[:8]


def test_icmp_frag_needed_mtu():
    original = IPv4Packet(A, B, PROTO_TCP, bytes(1500), flags=FLAG_DF).encode()
    msg = ICMPMessage.dest_unreachable(icmpmod.UNREACH_FRAG_NEEDED, original, next_hop_mtu=1400)
    back = ICMPMessage.decode(msg.encode())
    assert back.next_hop_mtu == 1400 and back.code == 4 and len(back.payload) == 28
    s = ICMP(msg.encode())
    assert s.nexthopmtu == 1400


def test_icmp_time_exceeded_vs_scapy():
    original = IPv4Packet(A, B, PROTO_ICMP, ICMPMessage.echo_request(1, 1, bytes(32)).encode(),
                          ttl=1, options=b"\x01\x01\x01\x01").encode()
    msg = ICMPMessage.time_exceeded(icmpmod.EXCEEDED_TTL, original)
    assert msg.payload == original[:24 + 8]  # IHL 6 header + 8 bytes
    raw_ = msg.encode()
    s = ICMP(raw_)
    assert (s.type, s.code, s.unused) == (11, 0, 0)
    assert s.chksum == scapy_recomputed(s).chksum
    built = raw(ICMP(type=11, code=0) / Raw(original[:32]))
    assert built == raw_
    assert ICMPMessage.decode(built) == msg


def test_icmp_every_truncation_and_bad_checksum():
    raw_ = ICMPMessage.echo_request(1, 2, b"abcdef").encode()
    for cut in range(8):
        with pytest.raises(DecodeError) as ei:
            ICMPMessage.decode(raw_[:cut])
        assert (ei.value.layer, ei.value.reason) == ("icmp", f"message truncated at offset 0: need 8 bytes, have {cut}")
    for cut in range(8, len(raw_)):
        with pytest.raises(DecodeError) as ei:
            ICMPMessage.decode(raw_[:cut])
        assert ei.value.reason == "bad checksum"
    with pytest.raises(DecodeError) as ei:
        ICMPMessage.decode(_patch(raw_, 9, b"X"))
    assert ei.value.reason == "bad checksum"
    assert ICMPMessage.decode(_patch(raw_, 9, b"X"), verify=False).payload == b"aXcdef"


def test_quote_datagram_never_raises():
    assert quote_datagram(b"") == b""
    assert quote_datagram(b"\x45\x00") == b"\x45\x00"


# --- UDP ------------------------------------------------------------------------

@pytest.mark.parametrize("src,dst", ADDR_PAIRS)
def test_udp_scapy_reads_ours(src, dst):
    for payload in (b"", b"q", b"isakmp" * 11):
        seg = UDPDatagram(500, 4500, payload).encode(src, dst)
        s = IP(IPv4Packet(src, dst, PROTO_UDP, seg).encode())
        u = s[UDP]
        assert (u.sport, u.dport, u.len) == (500, 4500, 8 + len(payload))
        assert bytes(u.payload) == payload
        assert u.chksum == scapy_recomputed(s)[UDP].chksum


def test_udp_decodes_scapy_bytes():
    s = IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1234, dport=53) / Raw(b"dns?")
    ip = IPv4Packet.decode(raw(s))
    u = UDPDatagram.decode(ip.payload, ip.src, ip.dst)
    assert (u.src_port, u.dst_port, u.payload, u.length) == (1234, 53, b"dns?", 12)
    assert u.checksum == IP(raw(s))[UDP].chksum
    assert u.encode(ip.src, ip.dst) == ip.payload


def test_udp_known_bytes():
    # Words summed by hand: pseudo c0a8+0001+c0a8+00c7+0011+000a = 0x1_8233;
    # header 0035+0035+000a+0000 = 0x0074; data 6162.  Total 0x1_e409 -> fold 0xe40a
    # -> checksum ~0xe40a = 0x1bf5.
    raw_ = UDPDatagram(53, 53, b"ab").encode(A, B)
    assert raw_ == bytes.fromhex("00350035000a1bf5") + b"ab"


def test_udp_zero_checksum_sent_as_ffff():
    base = UDPDatagram(7, 7, b"\x00\x00").encode(A, B)
    fill = base[6:8]  # its checksum, as data, makes the sum -0 -> computed checksum 0
    raw_ = UDPDatagram(7, 7, fill).encode(A, B)
    assert raw_[6:8] == b"\xff\xff"
    assert UDPDatagram.decode(raw_, A, B).payload == fill
    s = IP(IPv4Packet(A, B, PROTO_UDP, raw_).encode())
    assert scapy_recomputed(s)[UDP].chksum == 0xFFFF


def test_udp_no_checksum():
    raw_ = UDPDatagram(4500, 4500, b"\x00\x00\x00\x00esp").encode(A, B, with_checksum=False)
    assert raw_[6:8] == b"\x00\x00"
    # checksum 0 means "none": accepted even for other addresses.
    assert UDPDatagram.decode(raw_, B, A).payload == b"\x00\x00\x00\x00esp"


def test_udp_trailing_bytes_dropped():
    raw_ = UDPDatagram(1, 2, b"abc").encode(A, B)
    assert UDPDatagram.decode(raw_ + b"PAD", A, B).payload == b"abc"


def test_udp_every_truncation_and_bad_fields():
    raw_ = UDPDatagram(1000, 2000, b"0123456789").encode(A, B)
    for cut in range(len(raw_)):
        with pytest.raises(DecodeError) as ei:
            UDPDatagram.decode(raw_[:cut], A, B)
        assert ei.value.layer == "udp"
        if cut < 8:
            assert ei.value.reason == f"header truncated at offset 0: need 8 bytes, have {cut}"
        else:
            assert ei.value.reason == f"truncated datagram: length field 18, have {cut} bytes"
    with pytest.raises(DecodeError) as ei:
        UDPDatagram.decode(_patch(raw_, 4, b"\x00\x07"), A, B)
    assert ei.value.reason == "bad length field 7 (minimum 8)"
    with pytest.raises(DecodeError) as ei:
        UDPDatagram.decode(raw_, A, IPv4Address("192.168.0.200"))
    assert ei.value.reason == "bad checksum"
    with pytest.raises(DecodeError) as ei:
        UDPDatagram.decode(_patch(raw_, 10, b"X"), A, B)
    assert ei.value.reason == "bad checksum"
    assert UDPDatagram.decode(_patch(raw_, 10, b"X"), A, B, verify=False).payload == b"01X3456789"


# --- TCP ------------------------------------------------------------------------

MSS_1460 = b"\x02\x04\x05\xb4"  # RFC 793 section 3.1 MSS option, kind 2 len 4


def test_tcp_flag_values():
    # RFC 793 section 3.1 control bits, least significant first.
    assert (FIN, SYN, RST, PSH, ACK, URG) == (1, 2, 4, 8, 16, 32)
    assert (tcpmod.ECE, tcpmod.CWR) == (64, 128)


def test_tcp_known_bytes():
    seg = TCPSegment(1024, 23, seq=1, ack=0, flags=SYN, window=4128)
    raw_ = seg.encode(A, B)
    # Hand sum: pseudo c0a8+0001+c0a8+00c7+0006+0014 = 0x1_8232; header
    # 0400+0017+0000+0001+0000+0000+5002+1020+0000+0000 = 0x643a.  Total 0x1_e66c
    # -> fold 0xe66d -> checksum ~0xe66d = 0x1992.
    assert raw_ == bytes.fromhex("04000017" "00000001" "00000000" "5002" "1020" "1992" "0000")


@pytest.mark.parametrize("src,dst", ADDR_PAIRS)
def test_tcp_scapy_reads_ours(src, dst):
    seg = TCPSegment(40000, 22, seq=0xFFFFFFF0, ack=0x01020304, flags=SYN | ACK, window=8192,
                     urgent=0, options=MSS_1460 + b"\x01\x03\x03\x02", payload=b"SSH-2.0-x\r\n")
    ip = IPv4Packet(src, dst, PROTO_TCP, seg.encode(src, dst)).encode()
    s = IP(ip)
    t = s[TCP]
    assert (t.sport, t.dport, t.seq, t.ack) == (40000, 22, 0xFFFFFFF0, 0x01020304)
    assert (t.dataofs, int(t.flags), t.window, t.urgptr) == (7, SYN | ACK, 8192, 0)
    assert ("MSS", 1460) in t.options and ("WScale", 2) in t.options
    assert bytes(t.payload) == b"SSH-2.0-x\r\n"
    assert t.chksum == scapy_recomputed(s)[TCP].chksum


def test_tcp_decodes_scapy_bytes():
    s = (IP(src="10.0.0.1", dst="10.0.0.2")
         / TCP(sport=179, dport=50000, seq=5, ack=6, flags="PAU", window=512, urgptr=3,
               options=[("MSS", 536), ("NOP", None), ("NOP", None), ("SAckOK", b""),
                        ("Timestamp", (1, 2))])
         / Raw(b"bgp"))
    ip = IPv4Packet.decode(raw(s))
    t = TCPSegment.decode(ip.payload, ip.src, ip.dst)
    assert (t.src_port, t.dst_port, t.seq, t.ack, t.window, t.urgent) == (179, 50000, 5, 6, 512, 3)
    assert t.flags == PSH | ACK | URG and t.has(PSH | ACK) and not t.has(SYN)
    assert t.payload == b"bgp"
    assert t.data_offset == 5 + len(t.options) // 4
    assert t.options[:4] == b"\x02\x04\x02\x18"
    assert t.checksum == IP(raw(s))[TCP].chksum
    assert t.encode(ip.src, ip.dst) == ip.payload


def test_tcp_round_trip_odd_payload_and_option_padding():
    seg = TCPSegment(1, 2, 3, 4, FIN | ACK, 100, 0, b"\x01", b"odd")
    raw_ = seg.encode(A, B)
    back = TCPSegment.decode(raw_, A, B)
    assert back.options == b"\x01\x00\x00\x00" and back.payload == b"odd" and back.data_offset == 6
    assert back == TCPSegment(1, 2, 3, 4, FIN | ACK, 100, 0, b"\x01\x00\x00\x00", b"odd")
    with pytest.raises(ValueError):
        TCPSegment(1, 2, options=bytes(44)).encode(A, B)


def test_tcp_every_truncation_and_bad_fields():
    raw_ = TCPSegment(1, 2, 3, 4, RST, options=MSS_1460, payload=b"abcdef").encode(A, B)
    for cut in range(len(raw_)):
        with pytest.raises(DecodeError) as ei:
            TCPSegment.decode(raw_[:cut], A, B)
        assert ei.value.layer == "tcp"
        if cut < 20:
            assert ei.value.reason == f"header truncated at offset 0: need 20 bytes, have {cut}"
        elif cut < 24:
            assert ei.value.reason == (f"header truncated at offset 20 reading options (data offset 6): "
                                       f"need 4 bytes, have {cut - 20}")
        else:
            assert ei.value.reason == "bad checksum"
    with pytest.raises(DecodeError) as ei:
        TCPSegment.decode(_patch(raw_, 12, b"\x40"), A, B)
    assert ei.value.reason == "bad data offset 4 (minimum 5)"
    # Swapping src and dst keeps the same sum (addition commutes): still verifies.
    assert TCPSegment.decode(raw_, B, A).payload == b"abcdef"
    with pytest.raises(DecodeError) as ei:
        TCPSegment.decode(raw_, A, IPv4Address("192.168.0.198"))
    assert ei.value.reason == "bad checksum"
    assert TCPSegment.decode(_patch(raw_, 26, b"Z"), A, B, verify=False).payload == b"abZdef"


def test_tcp_garbage_never_raises_other_errors():
    rng = random.Random(793)
    for _ in range(1000):
        data = rng.randbytes(rng.randrange(0, 64))
        for decode in (lambda d: TCPSegment.decode(d, A, B), lambda d: UDPDatagram.decode(d, A, B),
                       ICMPMessage.decode):
            try:
                decode(data)
            except DecodeError:
                pass
