"""NAT translation timeouts (emulator/engines/nat/timeouts.py): every kind at its deadline -1 ns, 0 and +1 ns.

An entry is alive while ``now < last use + timeout``; at the deadline the
timer (``handle_timer``) and the packet path both see it gone.
"""

from __future__ import annotations

import pytest

from emulator.config.loader import load_config
from emulator.engines.nat import NatEngine
from emulator.engines.nat.timeouts import (
    DEFAULT_TIMEOUTS,
    ExpiryQueue,
    TimeoutKind,
    after_use,
    deadline,
    kind_for,
)
from emulator.labtime import SECOND
from emulator.wire.ipv4 import IPv4Packet
from emulator.wire.tcp import ACK, FIN, PSH, RST, SYN
from support.nat_packets import H1, HW, NET1, NET2, NET3, S0, echo, remote_config, tcp, udp

OFFSETS = [-1, 0, 1]
T0 = 5 * SECOND

# Each kind with a packet that makes an entry of that kind on the remote router (PAT on Serial0),
# and a configured timeout of its own (seconds).
KINDS = {
    TimeoutKind.ICMP: (lambda: echo(H1, NET1), 11),
    TimeoutKind.UDP: (lambda: udp(H1, NET2, 5000, 5001), 12),
    TimeoutKind.DNS: (lambda: udp(H1, NET2, 5000, 53), 13),
    TimeoutKind.TCP: (lambda: tcp(H1, NET3, 1025, 23, ACK), 14),
    TimeoutKind.SYN: (lambda: tcp(H1, NET3, 1025, 23, SYN), 15),
    TimeoutKind.FINRST: (lambda: tcp(H1, NET3, 1025, 23, FIN | ACK), 16),
    TimeoutKind.TIMEOUT: (lambda: IPv4Packet(H1, NET1, 47, bytes(8)).encode(), 17),     # GRE: no ports
}


def engine(configured: bool) -> NatEngine:
    extra = "".join(f"ip nat translation {kind} {secs}\n" for kind, (_, secs) in KINDS.items()) if configured else ""
    return NatEngine(remote_config(extra), {"Serial0": S0}.get)


def timeout_of(kind: TimeoutKind, configured: bool) -> int:
    return (KINDS[kind][1] if configured else DEFAULT_TIMEOUTS[kind]) * SECOND


@pytest.mark.parametrize("configured", [False, True], ids=["default", "configured"])
@pytest.mark.parametrize("offset", OFFSETS)
@pytest.mark.parametrize("kind", list(KINDS))
def test_timer_at_the_deadline(kind, offset, configured):
    nat = engine(configured)
    r = nat.inside_to_outside(KINDS[kind][0](), "Ethernet0", "Serial0", T0)
    assert r.created and r.entry.timeout_kind is kind
    end = T0 + timeout_of(kind, configured)
    assert nat.get_timer() == end == nat.deadline(r.entry)
    nat.handle_timer(end + offset)
    assert (nat.entries == [r.entry]) is (offset < 0)
    assert nat.expired == (0 if offset < 0 else 1)
    assert nat.get_timer() == (end if offset < 0 else None)


@pytest.mark.parametrize("offset", OFFSETS)
@pytest.mark.parametrize("kind", list(KINDS))
def test_packet_path_at_the_deadline(kind, offset):
    nat = engine(True)
    first = nat.inside_to_outside(KINDS[kind][0](), "Ethernet0", "Serial0", T0)
    end = T0 + timeout_of(kind, True)
    again = nat.inside_to_outside(KINDS[kind][0](), "Ethernet0", "Serial0", end + offset)
    assert again.translated
    assert (again.entry is first.entry) is (offset < 0)
    assert again.created is (offset >= 0)
    assert nat.expired == (0 if offset < 0 else 1) and len(nat.entries) == 1


@pytest.mark.parametrize("offset", OFFSETS)
def test_simple_entry_times_out_by_timeout(offset):
    cfg, errors = load_config(
        "interface Ethernet0\n ip nat inside\ninterface Serial0\n ip nat outside\n"
        "ip nat pool P 192.0.2.1 192.0.2.1 netmask 255.255.255.0\nip nat inside source list 1 pool P\n"
        "access-list 1 permit any\nip nat translation timeout 30\n", "t.cfg", HW)
    assert errors == []
    nat = NatEngine(cfg, {}.get)
    r = nat.inside_to_outside(udp(H1, NET2, 1, 2), "Ethernet0", "Serial0", T0)
    assert r.entry.protocol is None and r.entry.timeout_kind is TimeoutKind.TIMEOUT
    nat.handle_timer(T0 + 30 * SECOND + offset)
    assert len(nat.entries) == (1 if offset < 0 else 0)


def test_outside_answer_at_the_deadline_finds_nothing():
    nat = engine(True)
    nat.inside_to_outside(echo(H1, NET1, ident=9), "Ethernet0", "Serial0", T0)
    end = T0 + 11 * SECOND
    reply = echo(NET1, S0, ident=9, reply=True)
    assert nat.outside_to_inside(reply, "Serial0", end - 1).translated
    assert not nat.outside_to_inside(reply, "Serial0", end - 1 + 11 * SECOND).translated
    assert nat.entries == [] and nat.expired == 1


def test_never_and_a_changed_timeout_apply_to_existing_entries():
    holder = {"cfg": remote_config("ip nat translation icmp-timeout never\n")}
    nat = NatEngine(lambda: holder["cfg"], {"Serial0": S0}.get)
    nat.inside_to_outside(echo(H1, NET1), "Ethernet0", "Serial0", T0)
    assert nat.get_timer() is None
    nat.handle_timer(10 ** 6 * SECOND)
    assert len(nat.entries) == 1
    holder["cfg"] = remote_config("ip nat translation icmp-timeout 20\n")
    assert nat.get_timer() == T0 + 20 * SECOND
    nat.handle_timer(T0 + 20 * SECOND)
    assert nat.entries == []


def test_kind_follows_the_tcp_connection():
    nat = engine(True)
    r = nat.inside_to_outside(tcp(H1, NET3, 1025, 23, SYN), "Ethernet0", "Serial0", T0)
    e = r.entry
    assert e.timeout_kind is TimeoutKind.SYN and nat.get_timer() == T0 + 15 * SECOND
    nat.outside_to_inside(tcp(NET3, S0, 23, 1025, SYN | ACK), "Serial0", T0 + 1)
    assert e.timeout_kind is TimeoutKind.TCP and nat.get_timer() == T0 + 1 + 14 * SECOND
    nat.inside_to_outside(tcp(H1, NET3, 1025, 23, RST), "Ethernet0", "Serial0", T0 + 2)
    assert e.timeout_kind is TimeoutKind.FINRST and e.timing_out
    assert nat.get_timer() == T0 + 2 + 16 * SECOND
    nat.inside_to_outside(tcp(H1, NET3, 1025, 23, ACK), "Ethernet0", "Serial0", T0 + 3)
    assert e.timeout_kind is TimeoutKind.FINRST          # for good
    nat.handle_timer(T0 + 3 + 16 * SECOND)
    assert nat.entries == []


def test_kind_for_and_after_use():
    assert kind_for(6, 23, SYN) is TimeoutKind.SYN
    assert kind_for(6, 23, SYN | ACK) is TimeoutKind.TCP
    assert kind_for(6, 23, ACK | PSH) is TimeoutKind.TCP
    assert kind_for(6, 23, RST) is TimeoutKind.FINRST
    assert kind_for(17, 53, None) is TimeoutKind.DNS
    assert kind_for(17, 54, None) is TimeoutKind.UDP
    assert kind_for(1, 7, None) is TimeoutKind.ICMP
    assert kind_for(50, None, None) is TimeoutKind.TIMEOUT
    assert after_use(TimeoutKind.SYN, False, 6, ACK) == (TimeoutKind.TCP, False)
    assert after_use(TimeoutKind.SYN, False, 6, SYN) == (TimeoutKind.SYN, False)
    assert after_use(TimeoutKind.TCP, False, 6, FIN | ACK) == (TimeoutKind.FINRST, True)
    assert after_use(TimeoutKind.FINRST, True, 6, ACK) == (TimeoutKind.FINRST, True)
    assert after_use(TimeoutKind.UDP, False, 17, None) == (TimeoutKind.UDP, False)


class Item:
    """A bare timed entry for the queue."""

    def __init__(self, kind, last_used):
        self.timeout_kind, self.last_used = kind, last_used
        self.expiry_seq = self.expiry_key = 0


def test_deadline_from_the_configuration():
    cfg = remote_config("ip nat translation udp-timeout 7\nip nat translation dns-timeout never\n")
    assert deadline(cfg, Item(TimeoutKind.UDP, 3)) == 3 + 7 * SECOND
    assert deadline(cfg, Item(TimeoutKind.DNS, 3)) is None
    assert deadline(cfg, Item(TimeoutKind.TCP, 3)) == 3 + 86400 * SECOND
    assert deadline(cfg, Item(None, 3)) is None
    assert str(TimeoutKind.FINRST) == "finrst-timeout"


def test_expiry_queue_refreshes_lazily_and_compacts():
    cfg = remote_config()
    q = ExpiryQueue()
    items = [Item(TimeoutKind.ICMP, n * SECOND) for n in range(200)]
    for it in items:
        q.add(it)
    assert q.first_deadline(cfg) == 60 * SECOND
    items[0].last_used = 500 * SECOND                 # used again: no call needed for a later use
    assert q.first_deadline(cfg) == 61 * SECOND
    items[1].last_used = 0                             # an earlier use must be told
    q.used(items[1], TimeoutKind.ICMP)
    assert q.first_deadline(cfg) == 60 * SECOND
    items[2].timeout_kind = TimeoutKind.UDP            # a new kind must be told
    q.used(items[2], TimeoutKind.ICMP)
    for it in items[3:190]:
        q.discard(it)
    assert q.live == 13 and q.items <= 2 * q.live + 64
    due = q.pop_due(cfg, 300 * SECOND)
    assert sorted(deadline(cfg, it) for it in due) == sorted(deadline(cfg, it) for it in items[1:2] + items[190:])
    assert q.live == 2 and q.first_deadline(cfg) == 302 * SECOND    # items[2] by udp-timeout
    q.clear()
    assert (q.live, q.items, q.first_deadline(cfg)) == (0, 0, None)


def test_get_timer_looks_at_one_entry_per_kind(monkeypatch):
    """The timer does not scan the table: one deadline per kind, however many entries."""
    from emulator.engines.nat import timeouts
    nat = engine(False)
    for n in range(2000):
        nat.inside_to_outside(echo(H1, NET1, ident=n), "Ethernet0", "Serial0", T0 + n)
        nat.inside_to_outside(udp(H1, NET2, 1024 + n, 7000), "Ethernet0", "Serial0", T0 + n)
    nat.inside_to_outside(echo(H1, NET1, ident=0), "Ethernet0", "Serial0", T0 + 5000)   # the oldest, used again
    calls = []
    real = timeouts.deadline
    monkeypatch.setattr(timeouts, "deadline", lambda cfg, e: calls.append(e) or real(cfg, e))
    nat.get_timer()                       # refreshes the entry used again, once
    calls.clear()
    assert nat.get_timer() == T0 + 1 + 60 * SECOND
    assert len(calls) == 2                # the top of the icmp and the udp heap
