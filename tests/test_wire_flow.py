"""The flow reader (emulator/wire/flow.py) on packets Scapy builds, cut short, and on any bytes."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scapy.compat import raw
from scapy.layers.inet import GRE, ICMP, IP, TCP, UDP
from scapy.layers.ipsec import ESP

from emulator.wire.errors import DecodeError
from emulator.wire.flow import IPv4Flow, read_flow, read_quoted_flow

A, B = "10.1.1.2", "198.51.100.10"
PA, PB = bytes([10, 1, 1, 2]), bytes([198, 51, 100, 10])

_SETTINGS = settings(max_examples=300, deadline=None, derandomize=True, database=None,
                     suppress_health_check=[HealthCheck.too_slow])


def flow(**fields) -> IPv4Flow:
    """The expected flow of a datagram from A to B (no options, not fragmented)."""
    base = dict(protocol=0, src=PA, dst=PB, sport=None, dport=None, icmp_type=None, icmp_code=None,
                icmp_id=None, tcp_flags=None, identification=1, fragment_offset=0, more_fragments=False,
                header_length=20, total_length=0)
    base.update(fields)
    return IPv4Flow(**base)


# ---------------------------------------------------------------- each protocol

def test_tcp():
    pkt = raw(IP(src=A, dst=B, id=1) / TCP(sport=1025, dport=23, flags="S") / b"hello")
    assert read_flow(pkt) == flow(protocol=6, sport=1025, dport=23, tcp_flags=0x02, total_length=45)
    syn_ack = raw(IP(src=A, dst=B, id=1) / TCP(sport=23, dport=1025, flags="SA"))
    assert read_flow(syn_ack).tcp_flags == 0x12


def test_udp():
    pkt = raw(IP(src=A, dst=B, id=1) / UDP(sport=5000, dport=53) / b"q")
    assert read_flow(pkt) == flow(protocol=17, sport=5000, dport=53, total_length=29)


@pytest.mark.parametrize("type_, code, ident", [
    (8, 0, 512),           # echo request: the identifier is read
    (0, 0, 77),            # echo reply
    (13, 0, 9),            # timestamp request
    (17, 0, 4),            # address mask request
    (3, 3, None),          # port unreachable: an error, no identifier
    (11, 0, None),         # time exceeded
    (9, 0, None),          # router advertisement: neither
])
def test_icmp(type_, code, ident):
    msg = ICMP(type=type_, code=code, id=ident or 0, seq=1) if ident is not None else ICMP(type=type_, code=code)
    pkt = raw(IP(src=A, dst=B, id=1) / msg / (b"x" * 8))
    assert read_flow(pkt) == flow(protocol=1, icmp_type=type_, icmp_code=code, icmp_id=ident, total_length=len(pkt))


@pytest.mark.parametrize("layer, proto", [(GRE(), 47), (ESP(spi=0x1234, seq=1, data=b"\0" * 16), 50)])
def test_protocols_without_ports(layer, proto):
    pkt = raw(IP(src=A, dst=B, id=1) / layer)
    assert read_flow(pkt) == flow(protocol=proto, total_length=len(pkt))


def test_options_fragments_and_link_padding():
    opts = raw(IP(src=A, dst=B, id=1, options=b"\x01\x01\x01\x00") / UDP(sport=1, dport=2))
    assert read_flow(opts) == flow(protocol=17, sport=1, dport=2, header_length=24, total_length=32)
    first = raw(IP(src=A, dst=B, id=7, flags="MF") / UDP(sport=5000, dport=53) / (b"a" * 16))
    f = read_flow(first)
    assert (f.sport, f.dport, f.more_fragments, f.fragment_offset, f.initial) == (5000, 53, True, 0, True)
    later = raw(IP(src=A, dst=B, id=7, proto=17, frag=3) / (b"b" * 16))
    assert read_flow(later) == flow(protocol=17, identification=7, fragment_offset=3, total_length=36)
    assert not read_flow(later).initial
    padded = raw(IP(src=A, dst=B, id=1) / UDP(sport=1, dport=2)) + b"\0" * 18     # Ethernet minimum frame
    assert read_flow(padded).total_length == 28


def test_checksum_is_verified_unless_asked_not_to():
    bad = bytearray(raw(IP(src=A, dst=B, id=1) / UDP(sport=1, dport=2)))
    bad[10] ^= 0xFF
    with pytest.raises(DecodeError) as err:
        read_flow(bytes(bad))
    assert str(err.value) == "ipv4: bad header checksum"
    assert read_flow(bytes(bad), verify=False).sport == 1


# ---------------------------------------------------------------- truncated and malformed

@pytest.mark.parametrize("pkt", [
    raw(IP(src=A, dst=B) / TCP(sport=1, dport=2) / b"data"),
    raw(IP(src=A, dst=B) / UDP(sport=1, dport=2) / b"data"),
    raw(IP(src=A, dst=B) / ICMP(id=5) / b"data"),
    raw(IP(src=A, dst=B, options=b"\x01\x01\x01\x00") / UDP(sport=1, dport=2)),
], ids=["tcp", "udp", "icmp", "options"])
def test_every_truncation_raises_decode_error(pkt):
    for cut in range(len(pkt)):
        with pytest.raises(DecodeError):
            read_flow(pkt[:cut])


@pytest.mark.parametrize("proto, room, layer", [(6, 19, "tcp"), (17, 7, "udp"), (1, 7, "icmp")])
def test_layer4_header_cut_short_inside_total_length(proto, room, layer):
    pkt = raw(IP(src=A, dst=B, proto=proto) / (b"\0" * room))
    with pytest.raises(DecodeError) as err:
        read_flow(pkt)
    assert err.value.layer == layer


@pytest.mark.parametrize("mangle, reason", [
    (lambda p: b"\x60" + p[1:], "bad version 6"),
    (lambda p: b"\x44" + p[1:], "bad IHL 4 (minimum 5)"),
    (lambda p: p[:2] + (16).to_bytes(2, "big") + p[4:], "total length 16 smaller than header length 20"),
])
def test_malformed_headers(mangle, reason):
    pkt = raw(IP(src=A, dst=B) / UDP(sport=1, dport=2))
    with pytest.raises(DecodeError) as err:
        read_flow(mangle(pkt), verify=False)
    assert err.value.reason == reason


@_SETTINGS
@given(st.binary(max_size=80))
def test_any_bytes_give_a_flow_or_decode_error(data):
    for read in (lambda d: read_flow(d), lambda d: read_flow(d, verify=False), lambda d: read_quoted_flow(d, 0)):
        try:
            f = read(data)
        except DecodeError:
            continue
        assert isinstance(f, IPv4Flow) and 20 <= f.header_length <= len(data)


# ---------------------------------------------------------------- the datagram quoted by an ICMP error

def test_quoted_datagram():
    original = raw(IP(src=B, dst=A, id=9) / UDP(sport=5000, dport=33434) / (b"z" * 40))
    error = raw(IP(src=A, dst=B) / ICMP(type=3, code=3)) + original[:28]      # header and 64 bits (RFC 792)
    inner = read_quoted_flow(error, 28)
    assert (inner.protocol, inner.src, inner.dst, inner.sport, inner.dport) == (17, PB, PA, 5000, 33434)
    assert inner.total_length == 68            # the original's length, not what was quoted
    # Only the first 4 bytes of the UDP header quoted: the ports are still read.
    short = raw(IP(src=A, dst=B) / ICMP(type=3, code=3)) + original[:24]
    assert read_quoted_flow(short, 28).dport == 33434
    # A quoted echo gives its identifier; a quote cut inside the IP header is an error.
    echo = raw(IP(src=B, dst=A) / ICMP(type=8, id=4242, seq=1))
    assert read_quoted_flow(raw(IP() / ICMP(type=11)) + echo, 28).icmp_id == 4242
    with pytest.raises(DecodeError):
        read_quoted_flow(raw(IP() / ICMP(type=11)) + echo[:19], 28)


def test_reading_the_same_datagram_again_keeps_the_checksum_rule():
    good = raw(IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=2))
    bad = good[:10] + bytes([good[10] ^ 0xFF]) + good[11:]
    # Read without verifying first: a later verifying read of the same object still checks.
    assert read_flow(bad, verify=False).dport == 2
    with pytest.raises(DecodeError, match="bad header checksum"):
        read_flow(bad)
    first = read_flow(good)
    assert read_flow(good) is first and read_flow(good, verify=False) is first
    # Equal bytes in another object are read on their own, to the same flow.
    other = bytes(bytearray(good))
    assert other is not good and read_flow(other) == first
