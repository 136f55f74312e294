"""The ARP engine: two bare engines on one segment, on a fake clock."""

from ipaddress import IPv4Address, IPv4Interface

from emulator.engines.arp import ARP_TIMEOUT, ArpEngine, ArpFrame, InputError
from emulator.labtime import SECOND
from emulator.wire.arp import OP_REPLY, OP_REQUEST, ARPPacket
from emulator.wire.ethernet import BROADCAST

MAC_A = bytes.fromhex("00000c0000aa")
MAC_B = bytes.fromhex("00000c0000bb")
MAC_C = bytes.fromhex("00000c0000cc")
IP_A = IPv4Interface("192.0.2.1/24")
IP_B = IPv4Interface("192.0.2.2/24")


def deliver(frames, to, mine, now):
    for f in frames:
        to.receive(f.payload, mine, now)


def test_a_miss_asks_and_the_answer_resolves():
    a, b = ArpEngine(MAC_A), ArpEngine(MAC_B)
    assert a.resolve(IP_B.ip, IP_A, 0) is None
    (request,) = a.frames_to_send(0)
    assert request.dst == BROADCAST
    assert ARPPacket.decode(request.payload) == ARPPacket.request(MAC_A, IP_A.ip, IP_B.ip)
    deliver([request], b, IP_B, 1)
    assert b.cache == {IP_A.ip: (MAC_A, 1)}          # the request was aimed at b: b learns a
    (reply,) = b.frames_to_send(1)
    assert reply == ArpFrame(MAC_A, ARPPacket.reply(MAC_B, IP_B.ip, MAC_A, IP_A.ip).encode())
    deliver([reply], a, IP_A, 2)
    assert a.resolve(IP_B.ip, IP_A, 3) == MAC_B
    assert a.frames_to_send(3) == []
    assert a.entries(3) == [(IP_B.ip, MAC_B, 2)]


def test_entries_stop_resolving_at_the_timeout():
    a = ArpEngine(MAC_A)
    a.receive(ARPPacket.reply(MAC_B, IP_B.ip, MAC_A, IP_A.ip).encode(), IP_A, 10 * SECOND)
    learnt = 10 * SECOND
    assert a.resolve(IP_B.ip, IP_A, learnt + ARP_TIMEOUT - 1) == MAC_B
    assert a.entries(learnt + ARP_TIMEOUT - 1) != []
    assert a.resolve(IP_B.ip, IP_A, learnt + ARP_TIMEOUT) is None
    assert a.entries(learnt + ARP_TIMEOUT) == []
    (request,) = a.frames_to_send(learnt + ARP_TIMEOUT)
    assert ARPPacket.decode(request.payload).op == OP_REQUEST
    assert a.get_timer() is None


def test_overheard_arp_refreshes_only_what_is_cached():
    a = ArpEngine(MAC_A)
    third = IPv4Address("192.0.2.3")
    # b asks for a third host: a does not learn b...
    a.receive(ARPPacket.request(MAC_B, IP_B.ip, third).encode(), IP_A, 0)
    assert a.cache == {} and a.frames_to_send(0) == []
    # ... until b talks to a; then b's later broadcasts refresh the entry.
    a.receive(ARPPacket.request(MAC_B, IP_B.ip, IP_A.ip).encode(), IP_A, 1)
    (reply,) = a.frames_to_send(1)
    assert ARPPacket.decode(reply.payload).op == OP_REPLY and reply.dst == MAC_B
    a.receive(ARPPacket.request(MAC_C, IP_B.ip, third).encode(), IP_A, 2)
    assert a.cache[IP_B.ip] == (MAC_C, 2)
    # Senders off the subnet are never learnt.
    a.receive(ARPPacket.request(MAC_C, IPv4Address("198.51.100.9"), IP_A.ip).encode(), IP_A, 3)
    assert IPv4Address("198.51.100.9") not in a.cache


def test_without_an_address_nothing_is_asked_or_answered():
    a = ArpEngine(MAC_A)
    assert a.resolve(IP_B.ip, None, 0) is None
    a.receive(ARPPacket.request(MAC_B, IP_B.ip, IP_A.ip).encode(), None, 0)
    assert a.frames_to_send(0) == [] and a.cache == {}


def test_bad_packets_are_counted_and_reported_and_clear_empties_the_cache():
    a = ArpEngine(MAC_A)
    a.receive(b"\x00\x01", IP_A, 0)
    event = a.next_event()
    assert isinstance(event, InputError) and event.reason.startswith("arp")
    assert a.next_event() is None and a.input_errors == 1
    a.receive(ARPPacket.reply(MAC_B, IP_B.ip, MAC_A, IP_A.ip).encode(), IP_A, 0)
    a.clear()
    assert a.entries(0) == [] and a.resolve(IP_B.ip, IP_A, 0) is None
