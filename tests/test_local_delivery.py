"""Local delivery as a part on its own: echo replies, listeners, unreachables and their rate limit."""

import random
from ipaddress import IPv4Address

import pytest

from emulator.device.local import DEFAULT_TTL, UNREACHABLE_INTERVAL, LocalDelivery
from emulator.engines.reassembly import ReassemblyTimedOut
from emulator.wire import icmp
from emulator.wire.fragment import fragment
from emulator.wire.ipv4 import FLAG_DF, PROTO_ESP, PROTO_ICMP, PROTO_UDP, IPv4Packet
from emulator.wire.udp import UDPDatagram

ME = IPv4Address("192.0.2.1")
PEER = IPv4Address("198.51.100.7")
SUBNET_BROADCAST = IPv4Address("192.0.2.255")


class Host:
    """The pipeline, as local delivery sees it: a clock, one route out, a list of what was sent."""

    def __init__(self):
        self.now = 0
        self.sent: list[IPv4Packet] = []
        self.drops: list[str] = []
        self.pokes = 0
        self._id = 0

    def is_broadcast(self, address):
        return address in (SUBNET_BROADCAST, IPv4Address("255.255.255.255"))

    def route_for(self, dst):
        return ("Serial0", None)

    def source_address_for(self, iface):
        return ME

    def send_packet(self, packet):
        self.sent.append(packet)
        return True

    def next_ip_id(self):
        self._id += 1
        return self._id

    def drop(self, reason):
        self.drops.append(reason)

    def poke_reassembly(self):
        self.pokes += 1


@pytest.fixture
def parts():
    host = Host()
    local = LocalDelivery(lambda purpose: random.Random(purpose))
    local.connect(host)
    return host, local


def udp(port, dst=ME):
    return IPv4Packet(PEER, dst, PROTO_UDP, UDPDatagram(1024, port, b"x").encode(PEER, dst), ttl=64)


def test_echo_request_is_answered_from_the_address_it_was_sent_to(parts):
    host, local = parts
    request = icmp.ICMPMessage.echo_request(7, 1, b"abc")
    local.deliver("Serial0", IPv4Packet(PEER, ME, PROTO_ICMP, request.encode(), ttl=64, tos=0x20))
    (reply,) = host.sent
    assert (reply.src, reply.dst, reply.ttl, reply.tos, reply.identification) == (ME, PEER, DEFAULT_TTL, 0x20, 1)
    msg = icmp.ICMPMessage.decode(reply.payload)
    assert (msg.type, msg.identifier, msg.sequence) == (icmp.ECHO_REPLY, 7, 1)
    # To a broadcast, the reply comes from the interface's address.
    local.deliver("Serial0", IPv4Packet(PEER, SUBNET_BROADCAST, PROTO_ICMP, request.encode(), ttl=64))
    assert host.sent[-1].src == ME


def test_replies_and_errors_about_an_echo_reach_its_listener(parts):
    host, local = parts
    heard = []
    local.echo_listeners[7] = lambda kind, packet, msg: heard.append((kind, msg.sequence))
    reply = icmp.ICMPMessage.echo_request(7, 3, b"").make_echo_reply()
    local.deliver("Serial0", IPv4Packet(PEER, ME, PROTO_ICMP, reply.encode(), ttl=64))
    sent = IPv4Packet(ME, PEER, PROTO_ICMP, icmp.ICMPMessage.echo_request(7, 4, b"").encode(), ttl=64)
    error = icmp.ICMPMessage.time_exceeded(0, sent.encode())
    local.deliver("Serial0", IPv4Packet(PEER, ME, PROTO_ICMP, error.encode(), ttl=64))
    assert heard == [("reply", 3), ("exceeded", 4)]


def test_udp_goes_to_its_listener_and_an_unserved_port_is_unreachable(parts):
    host, local = parts
    got = []
    local.udp_listeners[500] = lambda packet, datagram, iface: got.append((datagram.dst_port, iface))
    local.deliver("Serial0", udp(500))
    assert got == [(500, "Serial0")] and host.sent == []
    local.deliver("Serial0", udp(501))
    (error,) = host.sent
    msg = icmp.ICMPMessage.decode(error.payload)
    assert (error.dst, msg.type, msg.code) == (PEER, icmp.DEST_UNREACHABLE, icmp.UNREACH_PORT)
    local.deliver("Serial0", udp(501, dst=SUBNET_BROADCAST))     # never an error to a broadcast
    assert len(host.sent) == 1


def test_one_unreachable_per_interval(parts):
    host, local = parts
    local.deliver("Serial0", udp(501))
    host.now = UNREACHABLE_INTERVAL - 1
    local.deliver("Serial0", udp(501))
    assert len(host.sent) == 1 and host.drops == ["unreachable rate limited"]
    host.now = UNREACHABLE_INTERVAL
    local.deliver("Serial0", udp(501))
    assert len(host.sent) == 2


def test_no_error_about_an_error_nor_about_a_later_fragment(parts):
    host, local = parts
    quoted = icmp.ICMPMessage.dest_unreachable(icmp.UNREACH_PORT, udp(9).encode())
    local.icmp_error(IPv4Packet(PEER, ME, PROTO_ICMP, quoted.encode(), ttl=64), icmp.DEST_UNREACHABLE, 1)
    later = IPv4Packet(PEER, ME, PROTO_UDP, b"12345678", ttl=64, fragment_offset=10)
    local.icmp_error(later, icmp.DEST_UNREACHABLE, icmp.UNREACH_PORT)
    assert host.sent == []


def test_fragments_for_the_device_are_reassembled_before_delivery(parts):
    host, local = parts
    whole = IPv4Packet(PEER, ME, PROTO_UDP, UDPDatagram(1024, 9, bytes(3000)).encode(PEER, ME), ttl=64,
                       identification=42)
    first, second, last = fragment(whole, 1500)
    local.deliver("Serial0", last)
    local.deliver("Serial0", first)
    assert host.sent == [] and host.drops == [] and host.pokes == 2
    local.deliver("Serial0", second)          # the datagram is whole: port 9 is not served
    (error,) = host.sent
    msg = icmp.ICMPMessage.decode(error.payload)
    assert (msg.type, msg.code) == (icmp.DEST_UNREACHABLE, icmp.UNREACH_PORT)
    assert IPv4Packet.decode(msg.payload, verify=False, allow_truncated=True).identification == 42
    assert local.reassembler.reassembled == 1


def test_a_timed_out_datagram_answers_time_exceeded_reassembly(parts):
    host, local = parts
    first = fragment(IPv4Packet(PEER, ME, PROTO_UDP, bytes(2000), ttl=64, identification=7), 1500)[0]
    local.reassembly_event(ReassemblyTimedOut(None, first))  # type: ignore[arg-type]
    (error,) = host.sent
    msg = icmp.ICMPMessage.decode(error.payload)
    assert (msg.type, msg.code) == (icmp.TIME_EXCEEDED, icmp.ExceededCode.REASSEMBLY)
    local.reassembly_event(ReassemblyTimedOut(None, None))  # type: ignore[arg-type]
    assert len(host.sent) == 1


def test_fragmentation_needed_carries_the_mtu_and_is_rate_limited_apart(parts):
    host, local = parts
    big = IPv4Packet(PEER, IPv4Address("203.0.113.9"), PROTO_UDP, bytes(1600), ttl=64, flags=FLAG_DF)
    local.unreachable(udp(9), icmp.UNREACH_PORT)
    local.unreachable(big, icmp.UNREACH_FRAG_NEEDED, 1446)
    local.unreachable(big, icmp.UNREACH_FRAG_NEEDED, 1446)
    assert len(host.sent) == 2 and host.drops == ["unreachable rate limited"]
    msg = icmp.ICMPMessage.decode(host.sent[1].payload)
    assert (msg.code, msg.next_hop_mtu) == (icmp.UNREACH_FRAG_NEEDED, 1446)
    host.now += UNREACHABLE_INTERVAL
    local.unreachable(big, icmp.UNREACH_FRAG_NEEDED, 1446)
    assert len(host.sent) == 3


def test_fragmentation_needed_about_esp_goes_to_the_crypto_engine_and_about_an_echo_to_ping(parts):
    host, local = parts
    heard, learned = [], []
    local.esp_fragmentation_needed = lambda quoted, mtu: learned.append((quoted[20:24], mtu))
    local.echo_listeners[5] = lambda kind, packet, msg: heard.append((kind, msg.sequence))
    esp = IPv4Packet(ME, PEER, PROTO_ESP, bytes.fromhex("0000abcd00000001") + bytes(40), ttl=255)
    echo = IPv4Packet(ME, PEER, PROTO_ICMP, icmp.ICMPMessage.echo_request(5, 3, bytes(50)).encode(), ttl=255)
    for original in (esp, echo):
        error = icmp.ICMPMessage.dest_unreachable(icmp.UNREACH_FRAG_NEEDED, original.encode(), 1400)
        local.deliver("Serial0", IPv4Packet(PEER, ME, PROTO_ICMP, error.encode(), ttl=64))
    assert learned == [(bytes.fromhex("0000abcd"), 1400)]
    assert heard == [("fragment", 3)]


def test_unconnected_delivery_says_so():
    local = LocalDelivery(lambda purpose: random.Random(purpose))
    with pytest.raises(RuntimeError, match="before connect"):
        local.deliver("Serial0", udp(501))
