"""Local delivery as a part on its own: echo replies, listeners, unreachables and their rate limit."""

import random
from ipaddress import IPv4Address

import pytest

from emulator.device.local import DEFAULT_TTL, UNREACHABLE_INTERVAL, LocalDelivery
from emulator.wire import icmp
from emulator.wire.ipv4 import FLAG_MF, PROTO_ICMP, PROTO_UDP, IPv4Packet
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


def test_no_error_about_an_error_and_fragments_are_dropped(parts):
    host, local = parts
    quoted = icmp.ICMPMessage.dest_unreachable(icmp.UNREACH_PORT, udp(9).encode())
    local.icmp_error(IPv4Packet(PEER, ME, PROTO_ICMP, quoted.encode(), ttl=64), icmp.DEST_UNREACHABLE, 1)
    assert host.sent == []
    local.deliver("Serial0", IPv4Packet(PEER, ME, PROTO_UDP, b"12345678", ttl=64, flags=FLAG_MF))
    assert host.drops == ["fragment"]


def test_unconnected_delivery_says_so():
    local = LocalDelivery(lambda purpose: random.Random(purpose))
    with pytest.raises(RuntimeError, match="before connect"):
        local.deliver("Serial0", udp(501))
