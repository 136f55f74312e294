"""IPv4 fragmentation and reassembly (RFC 791, RFC 815), checked against scapy as an independent codec.

scapy's ``fragment()`` output is reassembled by the emulator's engine; the
emulator's fragments are reassembled by scapy's ``defragment()``; the engine's
limits and timer are run on a fake clock through ``EngineBinding``.
"""

import random
from ipaddress import IPv4Address

import pytest
from scapy.layers.inet import ICMP, IP, UDP, defragment
from scapy.layers.inet import fragment as scapy_fragment
from scapy.packet import Raw

from emulator.engines.reassembly import (
    MAX_DATAGRAMS,
    MAX_FRAGMENTS,
    TIMEOUT,
    Reassembler,
    ReassemblyTimedOut,
)
from emulator.labtime import SECOND
from emulator.sim.binding import EngineBinding
from emulator.sim.clock import Simulator
from emulator.wire.fragment import FragmentError, copied_options, fragment
from emulator.wire.ipv4 import FLAG_DF, FLAG_MF, PROTO_ICMP, PROTO_TCP, PROTO_UDP, IPv4Packet

SRC, DST = IPv4Address("192.0.2.1"), IPv4Address("198.51.100.7")


def datagram(size: int, ident: int = 0x1234, proto: int = PROTO_UDP, seed: int = 1, **kw) -> IPv4Packet:
    payload = random.Random(seed).randbytes(size - 20)
    return IPv4Packet(SRC, DST, proto, payload, ttl=64, identification=ident, **kw)


# ------------------------------------------------------------------ fragmentation

def test_a_datagram_that_fits_is_sent_whole():
    p = datagram(1500)
    assert fragment(p, 1500) == [p]


def test_fragments_follow_rfc_791_and_scapy_reassembles_them():
    p = datagram(3000)
    pieces = fragment(p, 1500)
    assert [q.total_length for q in pieces] == [1500, 1500, 40]
    assert [q.fragment_offset for q in pieces] == [0, 185, 370]
    assert [q.flags & FLAG_MF for q in pieces] == [FLAG_MF, FLAG_MF, 0]
    assert all(q.identification == 0x1234 and q.ttl == 64 for q in pieces)
    whole = defragment([IP(q.encode()) for q in pieces])
    assert len(whole) == 1
    assert bytes(whole[0]) == p.encode()


@pytest.mark.parametrize("mtu", [68, 576, 1006, 1500])
def test_scapy_reads_each_fragment_as_emulator_wrote_it(mtu):
    p = datagram(4000, ident=77)
    pieces = fragment(p, mtu)
    assert all(q.total_length <= mtu for q in pieces)
    assert all(len(q.payload) % 8 == 0 for q in pieces[:-1])
    for q in pieces:
        s = IP(q.encode())
        assert (s.id, s.frag * 8, bool(s.flags.MF)) == (77, q.fragment_offset * 8, bool(q.flags & FLAG_MF))
        assert IP(bytes(s)).chksum == s.chksum        # scapy recomputes the same header checksum
    assert bytes(defragment([IP(q.encode()) for q in pieces])[0]) == p.encode()


def test_a_fragment_split_again_keeps_mf_on_its_last_piece():
    first, second, _ = fragment(datagram(3000), 1500)
    again = fragment(first, 576)
    assert again[-1].flags & FLAG_MF
    assert again[0].fragment_offset == 0 and again[-1].fragment_offset * 8 + len(again[-1].payload) == 1480
    tail = fragment(second, 576)
    assert tail[0].fragment_offset == second.fragment_offset


def test_df_or_a_tiny_mtu_refuses_to_fragment():
    with pytest.raises(FragmentError, match="DF"):
        fragment(datagram(1600, flags=FLAG_DF), 1500)
    with pytest.raises(FragmentError, match="no room"):
        fragment(datagram(1600), 27)


def test_only_copied_options_go_into_later_fragments():
    # Loose source route (131, copied) and record route (7, not copied), RFC 791 section 3.1.
    lsrr = bytes([131, 7, 4]) + IPv4Address("10.0.0.1").packed
    rr = bytes([7, 7, 4]) + bytes(4)
    opts = rr + bytes([1]) + lsrr + bytes([0])
    assert copied_options(opts) == lsrr
    pieces = fragment(datagram(2000, options=opts), 1000)
    assert pieces[0].options == opts
    assert all(q.options == lsrr for q in pieces[1:])
    whole = defragment([IP(q.encode()) for q in pieces])
    assert bytes(whole[0][IP].payload) == datagram(2000, options=opts).payload


# ------------------------------------------------------------------ reassembly

def test_the_engine_reassembles_scapy_fragments_in_any_order():
    s = IP(src=str(SRC), dst=str(DST), id=999) / ICMP(type=8, id=5, seq=1) / Raw(bytes(range(256)) * 12)
    frags = [IPv4Packet.decode(bytes(f)) for f in scapy_fragment(s, fragsize=520)]
    assert len(frags) > 3
    for order in (frags, frags[::-1], frags[1::2] + frags[::2]):
        r = Reassembler()
        out = [r.add(f, 0) for f in order]
        assert out[:-1] == [None] * (len(order) - 1)
        whole = out[-1]
        assert whole is not None and not whole.is_fragment
        assert whole.encode() == bytes(s)
        assert (r.reassembled, len(r)) == (1, 0)


def test_duplicates_and_overlaps_are_filled_once():
    p = datagram(3000)
    a, b, c = fragment(p, 1500)
    overlap = IPv4Packet(SRC, DST, PROTO_UDP, p.payload[800:1800], ttl=64, identification=0x1234,
                         flags=FLAG_MF, fragment_offset=100)
    r = Reassembler()
    assert r.add(a, 0) is None
    assert r.add(overlap, 0) is None
    assert r.add(a, 0) is None
    assert r.add(c, 0) is None
    whole = r.add(b, 0)
    assert whole is not None and whole.payload == p.payload


def test_datagrams_are_kept_apart_by_rfc_791_identity():
    r = Reassembler()
    p, q = datagram(2000, ident=1, seed=1), datagram(2000, ident=2, seed=2)
    (p1, p2), (q1, q2) = fragment(p, 1500), fragment(q, 1500)
    assert r.add(p1, 0) is None and r.add(q2, 0) is None
    assert r.add(q1, 0).payload == q.payload
    assert r.add(p2, 0).payload == p.payload


def test_timeout_runs_through_the_binding_and_reports_the_first_fragment():
    sim = Simulator()
    r = Reassembler()
    events = []
    binding = EngineBinding(sim, r, on_event=events.append, name="reassembly")
    first, _, last = fragment(datagram(3000), 1500)
    r.add(first, sim.now)
    binding.poke()
    assert binding.deadline == TIMEOUT
    sim.run_until(TIMEOUT - 1)
    assert events == [] and len(r) == 1
    sim.run_until(TIMEOUT)
    assert len(events) == 1 and isinstance(events[0], ReassemblyTimedOut) and events[0].first == first
    assert (r.timeouts, len(r), binding.deadline) == (1, 0, None)
    # A datagram whose first fragment never came times out without one.
    r.add(last, sim.now)
    binding.poke()
    sim.run_until(sim.now + TIMEOUT)
    assert events[1].first is None and r.timeouts == 2


def test_limits_are_counted_drops():
    r = Reassembler()
    for ident in range(MAX_DATAGRAMS + 3):
        r.add(fragment(datagram(2000, ident=ident), 1500)[0], 0)
    assert len(r) == MAX_DATAGRAMS
    assert r.drops == {"too many datagrams in reassembly": 3}

    r = Reassembler()
    pieces = fragment(datagram(8000), 100)
    assert len(pieces) > MAX_FRAGMENTS
    assert all(r.add(f, 0) is None for f in pieces[:MAX_FRAGMENTS + 1])
    assert r.drops == {"too many fragments": 1} and len(r) == 0

    r = Reassembler()     # "ping of death": a fragment ending past 65535 bytes
    big = IPv4Packet(SRC, DST, PROTO_ICMP, bytes(1480), identification=5, fragment_offset=8100)
    assert r.add(big, 0) is None and r.drops == {"datagram too large": 1} and len(r) == 0

    r = Reassembler()     # RFC 1858: a TCP fragment at offset 8 rewrites the header
    tiny = IPv4Packet(SRC, DST, PROTO_TCP, bytes(16), identification=6, flags=FLAG_MF, fragment_offset=1)
    assert r.add(tiny, 0) is None and r.drops == {"tiny TCP fragment overlap": 1}
    assert r.failed == 1


def test_fragment_reassemble_round_trip_soak():
    """Random sizes, MTUs and orders (bounded: 300 datagrams, seeded)."""
    rng = random.Random(791)
    tried = refused = 0
    for n in range(300):
        p = datagram(rng.randrange(100, 18024), ident=n, seed=n)
        pieces = fragment(p, rng.choice((68, 296, 576, 1006, 1500)))
        rng.shuffle(pieces)
        r = Reassembler()
        results = [r.add(f, 0) for f in pieces]
        if len(pieces) > MAX_FRAGMENTS:
            assert not any(results) and r.drops["too many fragments"] >= 1, n
            refused += 1
        else:
            assert results[-1] is not None and results[-1].encode() == p.encode(), n
        tried += len(pieces)
    assert 0 < refused < 300
    print(f"300 datagrams in {tried} fragments; {refused} refused for more than {MAX_FRAGMENTS} fragments")


def test_scapy_fragments_of_udp_reach_the_engine_whole():
    s = IP(src="10.9.9.9", dst="10.8.8.8", id=4242, flags=0) / UDP(sport=1000, dport=2000) / Raw(b"x" * 2500)
    r = Reassembler()
    whole = None
    for f in scapy_fragment(s, fragsize=1480):
        whole = r.add(IPv4Packet.decode(bytes(f)), 3 * SECOND) or whole
    assert whole is not None and whole.encode() == bytes(s)
