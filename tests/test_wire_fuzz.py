"""Property tests for every decoder in emulator/wire.

* Totality: for any bytes -- random, or a valid encoding mutated (bytes
  replaced, inserted, deleted, cut short) -- a decoder returns a value or
  raises DecodeError, nothing else.
* Round trips: for values built with the codecs' own constructors,
  ``decode(encode(x)) == x``, and ``encode(decode(b)) == b`` where the
  format is canonical.

Bounded and reproducible (``derandomize=True``, no example database); the
examples tried per decoder are printed at the end of the session
(tests/conftest.py).
"""

from __future__ import annotations

import dataclasses
import io
from collections import Counter
from ipaddress import IPv4Address

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.wire import esp, ppp
from emulator.wire import isakmp as K
from emulator.wire.arp import ARPPacket
from emulator.wire.chdlc import (
    ADDRESS_BROADCAST,
    ADDRESS_UNICAST,
    CHDLCFrame,
    SlarpAddress,
    SlarpKeepalive,
    decode_slarp,
)
from emulator.wire.checksum import internet_checksum
from emulator.wire.errors import DecodeError
from emulator.wire.ethernet import EthernetFrame
from emulator.wire.icmp import ICMPMessage
from emulator.wire.ipv4 import IPv4Packet
from emulator.wire.pcap import LinkType, PcapWriter, parse_pcap
from emulator.wire.reader import Reader
from emulator.wire.tcp import TCPSegment
from emulator.wire.udp import UDPDatagram

_COMMON = dict(deadline=None, derandomize=True, database=None,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
TOTAL = settings(max_examples=300, **_COMMON)      # any bytes / mutated bytes
ROUND = settings(max_examples=120, **_COMMON)      # valid values, both directions

EXAMPLES: Counter[str] = Counter()


@pytest.fixture(autouse=True)
def _report_examples(request):
    EXAMPLES.clear()
    yield
    for name, count in EXAMPLES.items():
        request.node.user_properties.append(("examples", (name, count)))


def total(name: str, decode, data: bytes, *args, **kwargs):
    """``decode(data, ...)``: its value, or None for a DecodeError; any other exception fails the test."""
    EXAMPLES[name] += 1
    try:
        return decode(data, *args, **kwargs)
    except DecodeError:
        return None


def count(name: str) -> None:
    EXAMPLES[name] += 1


# --- strategies -----------------------------------------------------------------

u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u32 = st.integers(0, 0xFFFFFFFF)
addresses = st.builds(IPv4Address, u32)
macs = st.binary(min_size=6, max_size=6)
small = st.binary(max_size=64)


def words(max_words: int) -> st.SearchStrategy[bytes]:
    """Option bytes in whole 32-bit words (IPv4 and TCP pad options to 4)."""
    return st.integers(0, max_words).flatmap(lambda n: st.binary(min_size=4 * n, max_size=4 * n))


@st.composite
def mutated(draw, valid: st.SearchStrategy[bytes], repair=None) -> bytes:
    """A valid encoding with a few edits: replaced, inserted or deleted bytes, or cut short.

    ``repair`` (applied to half the examples) makes an outer length field or
    checksum agree again, so that the edits reach the checks behind it.
    """
    data = bytearray(draw(valid))
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from("rrid" if data else "i"))
        if op == "i":
            data.insert(draw(st.integers(0, len(data))), draw(u8))
            continue
        pos = draw(st.integers(0, len(data) - 1))
        if op == "r":
            data[pos] = draw(u8)
        else:
            del data[pos]
    if data and draw(st.booleans()):
        del data[draw(st.integers(0, len(data) - 1)):]
    if repair is not None and draw(st.booleans()):
        return repair(bytes(data))
    return bytes(data)


def any_bytes(valid: st.SearchStrategy[bytes], repair=None) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=200), mutated(valid, repair))


def length_field(offset: int, size: int, minimum: int):
    """A repair: the length field at ``offset`` set to the length of the data."""
    def repair(data: bytes) -> bytes:
        if len(data) < minimum or len(data) >> (8 * size):
            return data
        return data[:offset] + len(data).to_bytes(size, "big") + data[offset + size:]
    return repair


def ipv4_lengths(data: bytes) -> bytes:
    """Total length set to the data's length and the header checksum recomputed."""
    hl = (data[0] & 0x0F) * 4 if data else 0
    if len(data) < max(hl, 20) or len(data) > 0xFFFF:
        return data
    header = data[:2] + len(data).to_bytes(2, "big") + data[4:10] + b"\x00\x00" + data[12:hl]
    return header[:10] + internet_checksum(header).to_bytes(2, "big") + header[12:] + data[hl:]


# --- Ethernet, ARP ------------------------------------------------------------------

ethernet_frames = st.builds(EthernetFrame, macs, macs, u16, st.binary(min_size=46, max_size=120))
arp_packets = st.builds(ARPPacket, u16, macs, addresses, macs, addresses)


@TOTAL
@given(any_bytes(ethernet_frames.map(EthernetFrame.encode)))
def test_ethernet_total(data):
    total("ethernet", EthernetFrame.decode, data)


@ROUND
@given(ethernet_frames)
def test_ethernet_round_trip(frame):
    count("ethernet")
    data = frame.encode()
    assert EthernetFrame.decode(data) == frame
    assert EthernetFrame.decode(data).encode() == data  # 60 bytes and more: no padding added


@TOTAL
@given(any_bytes(arp_packets.map(ARPPacket.encode)))
def test_arp_total(data):
    total("arp", ARPPacket.decode, data)


@ROUND
@given(arp_packets)
def test_arp_round_trip(packet):
    count("arp")
    data = packet.encode()
    assert ARPPacket.decode(data) == packet and ARPPacket.decode(data).encode() == data


# --- IPv4, ICMP, UDP, TCP -------------------------------------------------------------

ipv4_packets = st.builds(
    IPv4Packet, addresses, addresses, u8, small, ttl=u8, tos=u8, identification=u16,
    flags=st.integers(0, 7), fragment_offset=st.integers(0, 0x1FFF), options=words(10))
icmp_messages = st.builds(ICMPMessage, u8, u8, st.binary(min_size=4, max_size=4), small)
udp_datagrams = st.builds(UDPDatagram, u16, u16, small)
tcp_segments = st.builds(TCPSegment, u16, u16, u32, u32, u8, u16, u16, words(10), small)


@TOTAL
@given(any_bytes(ipv4_packets.map(IPv4Packet.encode), ipv4_lengths), st.booleans(), st.booleans())
def test_ipv4_total(data, verify, allow_truncated):
    total("ipv4", IPv4Packet.decode, data, verify=verify, allow_truncated=allow_truncated)


@ROUND
@given(ipv4_packets, st.binary(max_size=8))
def test_ipv4_round_trip(packet, link_padding):
    count("ipv4")
    data = packet.encode()
    decoded = IPv4Packet.decode(data + link_padding)
    assert decoded == packet
    assert dataclasses.replace(decoded).encode() == data  # encoded afresh, not the kept wire bytes


@TOTAL
@given(any_bytes(icmp_messages.map(ICMPMessage.encode)), st.booleans())
def test_icmp_total(data, verify):
    total("icmp", ICMPMessage.decode, data, verify=verify)


@ROUND
@given(icmp_messages)
def test_icmp_round_trip(message):
    count("icmp")
    data = message.encode()
    assert ICMPMessage.decode(data) == message and ICMPMessage.decode(data).encode() == data


@st.composite
def udp_wire(draw) -> tuple[bytes, IPv4Address, IPv4Address]:
    src, dst = draw(addresses), draw(addresses)
    return draw(udp_datagrams).encode(src, dst, with_checksum=draw(st.booleans())), src, dst


@TOTAL
@given(st.one_of(st.tuples(st.binary(max_size=200), addresses, addresses),
                 udp_wire().flatmap(lambda w: st.tuples(mutated(st.just(w[0]), length_field(4, 2, 8)),
                                                        st.just(w[1]), st.just(w[2])))),
       st.booleans())
def test_udp_total(wire, verify):
    data, src, dst = wire
    total("udp", UDPDatagram.decode, data, src, dst, verify)


@ROUND
@given(udp_datagrams, addresses, addresses, st.booleans())
def test_udp_round_trip(datagram, src, dst, with_checksum):
    count("udp")
    data = datagram.encode(src, dst, with_checksum=with_checksum)
    decoded = UDPDatagram.decode(data, src, dst)
    assert decoded == datagram
    assert decoded.encode(src, dst, with_checksum=with_checksum) == data


@TOTAL
@given(st.one_of(st.binary(max_size=200), mutated(tcp_segments.map(lambda s: s.encode(bytes(4), bytes(4))))),
       addresses, addresses, st.booleans())
def test_tcp_total(data, src, dst, verify):
    total("tcp", TCPSegment.decode, data, src, dst, verify)


@ROUND
@given(tcp_segments, addresses, addresses)
def test_tcp_round_trip(segment, src, dst):
    count("tcp")
    data = segment.encode(src, dst)
    decoded = TCPSegment.decode(data, src, dst)
    assert decoded == segment and decoded.encode(src, dst) == data


@ROUND
@given(st.binary(max_size=200).filter(lambda b: len(b) % 2 == 0))
def test_internet_checksum_of_a_checksummed_buffer_is_zero(data):
    count("checksum")
    ck = internet_checksum(data + b"\x00\x00")
    assert internet_checksum(data + ck.to_bytes(2, "big")) == 0


# --- PPP ------------------------------------------------------------------------------

# RFC 1661 §2: the high octet of a protocol number is even, the low octet odd.
ppp_protocols = st.builds(lambda hi, lo: (hi << 9) | (lo << 1) | 1, st.integers(0, 0x7F), st.integers(0, 0x7F))
ppp_frames = st.builds(ppp.encode_frame, ppp_protocols, small)
option_lists = st.lists(st.tuples(u8, st.binary(max_size=253)), max_size=4).map(tuple)
control_protocols = st.sampled_from([ppp.PPP_LCP, ppp.PPP_IPCP, ppp.PPP_CCP, ppp.PPP_CDPCP])


@st.composite
def control_packets(draw) -> tuple[int, ppp.ControlPacket]:
    protocol = draw(control_protocols)
    code = draw(u8)
    if code in ppp.CONFIGURE_CODES:
        return protocol, ppp.ControlPacket(code, draw(u8), b"", draw(option_lists))
    least = 4 if protocol == ppp.PPP_LCP and code in (9, 10, 11) else 2 if protocol == ppp.PPP_LCP and code == 8 else 0
    return protocol, ppp.ControlPacket(code, draw(u8), draw(st.binary(min_size=least, max_size=64)))


@TOTAL
@given(any_bytes(ppp_frames), st.booleans(), st.booleans())
def test_ppp_frame_total(data, acfc, pfc):
    total("ppp frame", ppp.decode_frame, data, accept_acfc=acfc, accept_pfc=pfc)
    total("ppp frame_for_pcap", ppp.frame_for_pcap, data)


@ROUND
@given(ppp_protocols, small)
def test_ppp_frame_round_trip(protocol, information):
    count("ppp frame")
    data = ppp.encode_frame(protocol, information)
    assert ppp.decode_frame(data) == ppp.PPPFrame(protocol, information)
    assert ppp.encode_frame(*ppp.decode_frame(data)) == data        # a frame is a named tuple of its fields


@TOTAL
@given(any_bytes(st.builds(ppp.ahdlc_encode, small, u32)))
def test_ahdlc_total(data):
    total("ahdlc", ppp.ahdlc_decode, data)


@ROUND
@given(small, u32)
def test_ahdlc_round_trip(frame, accm):
    count("ahdlc")
    assert ppp.ahdlc_decode(ppp.ahdlc_encode(frame, accm)) == frame


@TOTAL
@given(any_bytes(control_packets().map(lambda pc: ppp.encode_control(pc[1])), length_field(2, 2, 4)),
       control_protocols)
def test_ppp_control_total(data, protocol):
    total("ppp control", ppp.decode_control, data, protocol)
    total("ppp options", ppp.decode_options, data)


@ROUND
@given(control_packets())
def test_ppp_control_round_trip(protocol_and_packet):
    count("ppp control")
    protocol, packet = protocol_and_packet
    data = ppp.encode_control(packet)
    assert ppp.decode_control(data, protocol) == packet
    assert ppp.encode_control(ppp.decode_control(data, protocol)) == data


# Typed values per option, by the name the option table gives the option.
_protocol_values = st.tuples(u16, st.binary(max_size=251))
_OPTION_VALUES = {
    "MRU": u16, "ACCM": u32, "MagicNumber": u32, "AuthProto": _protocol_values, "QualityType": _protocol_values,
    "PFC": st.just(True), "ACFC": st.just(True),
    "Address": addresses, "Addresses": st.tuples(addresses, addresses), "CompressType": _protocol_values,
}
known_options = st.sampled_from([(protocol, typ, spec) for protocol, table in ppp.OPTIONS.items()
                                 for typ, spec in table.items()])


@TOTAL
@given(known_options, st.binary(max_size=12), u8)
def test_ppp_option_values_total(option, raw, other_type):
    protocol, typ, _ = option
    for t in (typ, other_type):
        count("ppp option value")
        value = ppp.option_value(protocol, t, raw)   # a value or None, never an exception
        assert isinstance(ppp.option_text(protocol, t, raw), str)
        assert value is None or ppp.make_option(protocol, t, value) == (t, raw)


@ROUND
@given(known_options.flatmap(lambda o: st.tuples(st.just(o), _OPTION_VALUES[o[2].name])))
def test_ppp_option_values_round_trip(option_and_value):
    count("ppp option value")
    (protocol, typ, _), value = option_and_value
    typ_, raw = ppp.make_option(protocol, typ, value)
    assert ppp.option_value(protocol, typ, raw) == value
    assert ppp.decode_options(ppp.encode_options([(typ, raw)])) == ((typ, raw),)


# --- Cisco HDLC, SLARP ---------------------------------------------------------------------

chdlc_frames = st.builds(CHDLCFrame, u16, small, st.sampled_from([ADDRESS_UNICAST, ADDRESS_BROADCAST]))
slarp_messages = st.one_of(
    st.builds(SlarpAddress, st.sampled_from([0, 1]), addresses, addresses, u16),
    st.builds(SlarpKeepalive, u32, u32, u16, st.none() | u32))


@TOTAL
@given(any_bytes(chdlc_frames.map(CHDLCFrame.encode)))
def test_chdlc_total(data):
    total("chdlc", CHDLCFrame.decode, data)


@ROUND
@given(chdlc_frames)
def test_chdlc_round_trip(frame):
    count("chdlc")
    data = frame.encode()
    assert CHDLCFrame.decode(data) == frame and CHDLCFrame.decode(data).encode() == data


@TOTAL
@given(any_bytes(slarp_messages.map(lambda m: m.encode())))
def test_slarp_total(data):
    total("slarp", decode_slarp, data)
    total("slarp", SlarpAddress.decode, data)
    total("slarp", SlarpKeepalive.decode, data)


@ROUND
@given(slarp_messages)
def test_slarp_round_trip(message):
    count("slarp")
    data = message.encode()
    assert decode_slarp(data) == message and decode_slarp(data).encode() == data
    assert type(message).decode(data) == message


# --- ISAKMP ----------------------------------------------------------------------------------

@st.composite
def attributes(draw, table: dict) -> K.Attribute:
    """An attribute in its canonical form: ints up to 0xFFFF, bytes only where variable is allowed."""
    typ = draw(st.sampled_from(sorted(table)) | st.integers(1, 0x7FFF))
    spec = table.get(typ)
    if spec is not None and spec.values is not None and draw(st.booleans()):
        return K.Attribute(typ, draw(st.sampled_from(list(spec.values))))
    if spec is not None and spec.format is K.AttrFormat.BASIC:
        return K.Attribute(typ, draw(u16))
    return K.Attribute(typ, draw(u16 | st.binary(max_size=12)))


@st.composite
def proposals(draw) -> K.Proposal:
    protocol = draw(st.sampled_from(list(K.ProtocolId)) | u8)
    table = K.attribute_table(protocol)
    transforms = draw(st.lists(st.builds(K.Transform, u8, u8, st.lists(attributes(table), max_size=5)),
                               max_size=3))
    return K.Proposal(draw(u8), protocol, draw(st.binary(max_size=16)), transforms)


@st.composite
def delete_payloads(draw) -> K.DeletePayload:
    size = draw(st.integers(0, 16))
    spis = draw(st.lists(st.binary(min_size=size, max_size=size), max_size=4))
    return K.DeletePayload(draw(u8), spis, draw(u32))


@st.composite
def id_payloads(draw) -> K.IDPayload:
    id_type = draw(st.sampled_from(list(K.IdType)) | u8)
    want = K.IDPayload._FIXED.get(id_type)
    data = draw(st.binary(min_size=want, max_size=want) if want is not None else small)
    return K.IDPayload(id_type, draw(u8), draw(u16), data)


payloads = st.one_of(
    st.builds(K.SAPayload, st.lists(proposals(), max_size=3), st.sampled_from(list(K.Doi))),
    st.builds(K.KEPayload, small), st.builds(K.HashPayload, small), st.builds(K.SignaturePayload, small),
    st.builds(K.NoncePayload, small), st.builds(K.VendorIDPayload, small),
    st.builds(K.CertPayload, u8, small), st.builds(K.CertRequestPayload, u8, small),
    id_payloads(),
    st.builds(K.NotificationPayload, st.sampled_from(list(K.NotifyType)) | u16, u8, st.binary(max_size=16),
              small, u32),
    delete_payloads(),
)


@st.composite
def messages(draw) -> K.IsakmpMessage:
    head = dict(icookie=draw(st.binary(min_size=8, max_size=8)), rcookie=draw(st.binary(min_size=8, max_size=8)),
                exchange=draw(st.sampled_from(list(K.ExchangeType)) | u8), message_id=draw(u32),
                version=draw(st.integers(0x10, 0x1F)))
    flags = draw(u8)
    if flags & K.HeaderFlag.ENCRYPTION:
        return K.IsakmpMessage(**head, flags=flags, encrypted_body=draw(small),
                               first_payload=draw(st.sampled_from(list(K.PayloadType))))
    chain = draw(st.lists(payloads, max_size=4))
    return K.IsakmpMessage(**head, payloads=chain, flags=flags,
                           first_payload=chain[0].payload_type if chain else K.PayloadType.NONE)


@TOTAL
@given(any_bytes(messages().map(lambda m: m.encode()), length_field(24, 4, 28)))
def test_isakmp_message_total(data):
    message = total("isakmp message", K.IsakmpMessage.decode, data)
    if message is not None:
        message.encode()  # whatever decodes also encodes
    total("isakmp header", K.IsakmpHeader.decode, data)


@ROUND
@given(messages())
def test_isakmp_message_round_trip(message):
    count("isakmp message")
    data = message.encode()
    decoded = K.IsakmpMessage.decode(data)
    assert decoded == message and decoded.encode() == data


@TOTAL
@given(any_bytes(st.lists(payloads, max_size=3).map(K.encode_payloads)),
       st.sampled_from(list(K.PayloadType)) | st.integers(0, 20), st.booleans())
def test_isakmp_payload_chain_total(body, first, allow_padding):
    total("isakmp payload chain", lambda data: K.decode_payloads(first, data, allow_padding), body)
    for cls in (*K.PAYLOAD_CLASSES.values(), K.Proposal, K.Transform):
        for data in (body, body[4:]):  # the first payload's body follows its 4-byte generic header
            total(f"isakmp {cls.__name__}", cls.decode_body, data)


@ROUND
@given(st.lists(payloads, min_size=1, max_size=4), st.binary(max_size=8))
def test_isakmp_payload_chain_round_trip(chain, padding):
    count("isakmp payload chain")
    body = K.encode_payloads(chain)
    decoded = K.decode_payloads(chain[0].payload_type, body + padding)
    assert decoded == chain and K.chain_bytes(decoded) == body == K.encode_payloads(decoded)


@TOTAL
@given(any_bytes(st.sampled_from([K.PHASE1_ATTRIBUTES, K.IPSEC_ATTRIBUTES]).flatmap(
           lambda t: st.lists(attributes(t), max_size=6).map(lambda attrs: b"".join(a.encode(t) for a in attrs)))),
       st.sampled_from([None, K.PHASE1_ATTRIBUTES, K.IPSEC_ATTRIBUTES]))
def test_isakmp_attributes_total(data, table):
    attrs = total("isakmp attributes", K.Attribute.decode_all, data, table)
    if attrs is not None:
        assert b"".join(a.encode(table) for a in attrs) == data


@ROUND
@given(st.sampled_from([K.PHASE1_ATTRIBUTES, K.IPSEC_ATTRIBUTES]).flatmap(
    lambda t: st.tuples(st.just(t), st.lists(attributes(t), max_size=6))))
def test_isakmp_attributes_round_trip(table_and_attrs):
    count("isakmp attributes")
    table, attrs = table_and_attrs
    data = b"".join(a.encode(table) for a in attrs)
    assert K.Attribute.decode_all(data, table) == attrs


# --- ESP ----------------------------------------------------------------------------------------

algorithms = st.tuples(st.sampled_from(list(esp.CIPHERS.values())), st.sampled_from(list(esp.AUTHS.values())))


@st.composite
def esp_packets(draw) -> tuple[esp.EspPacket, int, int, int]:
    cipher, auth = draw(algorithms)
    blocks = draw(st.integers(1, 8))
    packet = esp.EspPacket(draw(u32), draw(u32), draw(st.binary(min_size=cipher.iv_size, max_size=cipher.iv_size)),
                           draw(st.binary(min_size=blocks * cipher.block_size, max_size=blocks * cipher.block_size)),
                           draw(st.binary(min_size=auth.icv_size, max_size=auth.icv_size)))
    return packet, cipher.iv_size, auth.icv_size, cipher.block_size


@TOTAL
@given(st.one_of(st.tuples(st.binary(max_size=200), algorithms.map(lambda a: (a[0].iv_size, a[1].icv_size,
                                                                                a[0].block_size))),
                 esp_packets().flatmap(lambda p: st.tuples(mutated(st.just(p[0].encode())), st.just(p[1:])))))
def test_esp_total(data_and_sizes):
    data, (iv_size, icv_size, block_size) = data_and_sizes
    total("esp packet", esp.EspPacket.decode, data, iv_size, icv_size, block_size)
    total("esp unpad", esp.unpad, data)


@ROUND
@given(esp_packets())
def test_esp_packet_round_trip(packet_and_sizes):
    count("esp packet")
    packet, *sizes = packet_and_sizes
    data = packet.encode()
    assert esp.EspPacket.decode(data, *sizes) == packet and esp.EspPacket.decode(data, *sizes).encode() == data


@ROUND
@given(small, st.sampled_from([4, 8, 16]), u8)
def test_esp_padding_round_trip(payload, block_size, next_header):
    count("esp unpad")
    plain = esp.pad(payload, block_size, next_header)
    assert len(plain) % block_size == 0 and esp.unpad(plain) == (next_header, payload)


# --- pcap ----------------------------------------------------------------------------------------

records = st.lists(st.tuples(st.integers(0, 2**28), st.integers(0, 999_999), small), max_size=5)
linktypes = st.sampled_from(list(LinkType)) | st.integers(0, 0x0FFFFFFF)


def write_pcap(linktype: int, recs) -> bytes:
    f = io.BytesIO()
    w = PcapWriter(f, linktype)
    for sec, usec, frame in recs:
        w.write(sec + usec / 1e6, frame)
    return f.getvalue()


@TOTAL
@given(any_bytes(st.builds(write_pcap, linktypes, records)))
def test_pcap_total(data):
    total("pcap", parse_pcap, data)


@ROUND
@given(linktypes, records)
def test_pcap_round_trip(linktype, recs):
    count("pcap")
    data = write_pcap(linktype, recs)
    got_linktype, got = parse_pcap(data)
    assert got_linktype == linktype
    assert [(round(t * 1e6), frame) for t, frame in got] == [(s * 1_000_000 + us, frame) for s, us, frame in recs]
    assert write_pcap(got_linktype, [(round(t * 1e6) // 1_000_000, round(t * 1e6) % 1_000_000, frame)
                                     for t, frame in got]) == data


# --- the reader itself ------------------------------------------------------------------------------

@TOTAL
@given(st.binary(max_size=40), st.lists(st.sampled_from(["u8", "u16", "u32", "take", "rest", "need"]), max_size=12),
       st.integers(-2, 12))
def test_reader_total(data, ops, n):
    count("reader")
    r = Reader(data, "fuzz", "test")
    try:
        for op in ops:
            before = r.remaining
            value = getattr(r, op)(n) if op in ("take", "need") else getattr(r, op)()
            if op == "take":
                assert value == data[len(data) - before:len(data) - before + n]
            assert 0 <= r.remaining <= before
    except DecodeError as exc:
        assert exc.layer == "test" and "fuzz truncated at offset" in exc.reason
