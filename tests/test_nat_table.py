"""The NAT translation table (emulator/engines/nat/table.py): every index consistent after add, remove,
expiry and clearing, checked after each step of hand-written and Hypothesis-generated sequences."""

from __future__ import annotations

from collections import Counter
from ipaddress import IPv4Address

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from emulator.config.loader import load_config
from emulator.engines.nat import InsideKey, NatEngine, NatEntry, NatTable, OutsideKey
from emulator.engines.nat.ports import MappingKey, PortKey, PortUser, port_group
from emulator.engines.nat.timeouts import TimeoutKind, deadline
from emulator.labtime import MS, SECOND
from emulator.wire.ipv4 import FLAG_MF, IPv4Packet
from emulator.wire.tcp import ACK, FIN, RST, SYN
from support.nat_packets import HW, S0, echo, remote_config, tcp, udp


def check(table: NatTable, cfg) -> None:
    """Every index of ``table`` agrees with its entries, and the expiry queue is bounded."""
    entries = list(table.entries)
    extended = [e for e in entries if e.protocol is not None]
    simple = [e for e in entries if e.protocol is None]
    # Lookup indexes: each entry under its own key, nothing else.
    assert len(table.by_inside) == len(table.by_outside) == len(extended)
    for e in extended:
        assert e.in_key == InsideKey(e.protocol, e.inside_local, e.inside_local_port, e.outside_local,
                                     e.outside_local_port)
        assert e.out_key == OutsideKey(e.protocol, e.inside_global, e.inside_global_port, e.outside_global,
                                       e.outside_global_port)
        assert table.by_inside[e.in_key] is e and table.by_outside[e.out_key] is e
    assert len(table.by_local) == len(table.by_global) == len(simple)
    for e in simple:
        assert table.by_local[e.inside_local] is e and table.by_global[e.inside_global] is e
    # Rule reference counts.
    counts = Counter(e.mapping for e in entries if e.mapping is not None)
    assert {m: n for m, n in table.refcounts.items() if n} == dict(counts)
    assert all(n >= 0 for n in table.refcounts.values())
    # Ports: held once per entry that uses them; the owner's port assigned to it.
    users = Counter(e.port_key for e in entries if e.port_key is not None)
    assert {k: h.refs for k, h in table.ports.slots.items()} == dict(users)
    ported = {k: h for k, h in table.ports.slots.items() if k.port is not None}
    assert len(table.ports.assigned) == len(ported)
    for k, h in ported.items():
        assert table.ports.assigned[PortUser(k.protocol, k.address, h.owner[0], h.owner[1])] == k.port
    for e in entries:
        if e.port_key is not None:
            assert e.port_key.address == e.inside_global and e.port_key.port == e.inside_global_port
    # Hints: every port below a group's hint is taken.
    for g, hint in table.ports.hints.items():
        lo, hi = port_group(g.first)
        first = 1 if lo == 0 and g.protocol != 1 else lo
        for p in range(first, min(hint, hi + 1)):
            assert PortKey(g.protocol, g.address, p, None) in table.ports.slots, (g, p)
    # One-to-one addresses.
    owners = Counter(e.addr_key for e in entries if e.addr_key is not None)
    assert {a: h.refs for a, h in table.addresses.owners.items()} == dict(owners)
    assert {a for a in table.addresses.bindings.values()} == set(owners)
    for e in entries:
        if e.binding_key is not None:
            assert table.addresses.bindings[e.binding_key] == e.addr_key
    # Statics and their children.
    for e in entries:
        children = e.children or {}
        assert e.use_count == len(children)
        assert all(c.parent is e and c in table for c in children)
        if e.parent is not None:
            assert e.parent in table and e.parent.children and e in e.parent.children
    # Expiry: every timed entry queued once, the earliest deadline right, stale items bounded.
    timed = [e for e in entries if e.timeout_kind is not None]
    assert table.expiry.live == len(timed)
    assert all(e.expiry_seq for e in timed) and not any(e.expiry_seq for e in entries if e.timeout_kind is None)
    assert table.expiry.items <= 2 * table.expiry.live + 64
    deadlines = [d for d in (deadline(cfg, e) for e in timed) if d is not None]
    assert table.first_deadline(cfg) == (min(deadlines) if deadlines else None)


# ---------------------------------------------------------------- by hand

def entry(proto, il, ig, ilp=None, igp=None, out=None, olp=None, now=0, **kw) -> NatEntry:
    return NatEntry(proto, il, ig, inside_local_port=ilp, inside_global_port=igp, outside=out,
                    outside_local_port=olp, outside_global_port=olp, now=now, **kw)


def test_add_and_remove_keep_every_index():
    cfg = remote_config()
    t = NatTable()
    L1, L2, G, FAR1 = b"\x0a\0\0\x01", b"\x0a\0\0\x02", b"\xc0\0\x02\x01", b"\xc6\x33\x64\x01"
    m = MappingKey("route-map", "nonat")
    static = entry(None, L1, b"\xc0\0\x02\x09", static=True)
    t.add(static)
    a = entry(17, L2, G, 5000, 5000, FAR1, 53, mapping=m, timeout_kind=TimeoutKind.DNS)
    a.port_key = PortKey(17, G, 5000, None)
    t.add(a)
    child = entry(6, L1, b"\xc0\0\x02\x09", 80, 80, FAR1, 4000, parent=static, timeout_kind=TimeoutKind.TCP)
    t.add(child)
    check(t, cfg)
    assert t.by_inside[(17, L2, 5000, FAR1, 53)] is a                     # a plain tuple finds it too
    assert t.by_outside[OutsideKey(17, G, 5000, FAR1, 53)] is a
    assert static.use_count == 1 and t.refcounts[m] == 1
    t.remove(static)                                                     # its child goes with it
    check(t, cfg)
    assert list(t) == [a] and child not in t
    t.remove(a)
    t.remove(a)                                                          # twice: nothing more happens
    check(t, cfg)
    assert len(t) == 0 and t.ports.slots == {} and t.refcounts[m] == 0


def test_engine_table_after_traffic_expiry_and_clearing():
    nat = NatEngine(remote_config("ip nat inside source static 10.1.1.5 100.100.100.5\n"), {"Serial0": S0}.get)
    cfg = nat.config
    hosts = [IPv4Address(f"10.1.1.{n}") for n in (2, 3, 4)]
    far = IPv4Address("198.51.100.10")
    for n, h in enumerate(hosts):
        nat.inside_to_outside(udp(h, far, 5000, 53), "Ethernet0", "Serial0", n * SECOND)
        nat.inside_to_outside(echo(h, far, ident=512), "Ethernet0", "Serial0", n * SECOND)
        nat.inside_to_outside(tcp(h, far, 1025, 23, SYN), "Ethernet0", "Serial0", n * SECOND)
    nat.outside_to_inside(tcp(far, IPv4Address("100.100.100.5"), 4000, 22, SYN), "Serial0", 3 * SECOND)
    check(nat.table, cfg)
    assert len(nat.entries) == 11
    assert nat.expire(62 * SECOND) == 9                 # dns, icmp and syn entries (60 s) of the first 3 s
    check(nat.table, cfg)
    assert [(e.static, e.protocol) for e in nat.entries] == [(True, None), (False, 6)]   # the static and its child
    for h in hosts:
        nat.inside_to_outside(tcp(h, far, 1025, 80, ACK), "Ethernet0", "Serial0", 63 * SECOND)
    check(nat.table, cfg)
    assert nat.clear_extended("tcp", S0, 1024, hosts[1], 1025) == 1
    check(nat.table, cfg)
    assert nat.clear_all() == 3
    check(nat.table, cfg)
    assert [e.static for e in nat.entries] == [True]


# ---------------------------------------------------------------- random sequences

HOSTS = [IPv4Address(f"10.1.1.{n}") for n in (2, 3, 4, 5)]
FAR = [IPv4Address(f"198.51.100.{n}") for n in (10, 20)]
PORTS = [0, 1, 511, 512, 1024, 5000]

CONFIGS = {
    # The document's remote router: route-map exemption, overload on the IPCP address, and a static.
    "remote": "ip nat inside source static 10.1.1.5 100.100.100.5\n",
    # A two-address pool with overload, and one without it (simple entries) for a second list.
    "pools": ("interface Ethernet0\n ip nat inside\ninterface Serial0\n ip nat outside\n"
              "ip nat pool PAT 192.0.2.1 192.0.2.2 netmask 255.255.255.0\n"
              "ip nat pool ONE 192.0.2.8 192.0.2.9 netmask 255.255.255.0\n"
              "ip nat inside source list 1 pool PAT overload\n"
              "ip nat inside source list 2 pool ONE\n"
              "access-list 1 permit 10.1.1.2\naccess-list 1 permit 10.1.1.3\n"
              "access-list 2 permit any\nip nat translation udp-timeout 40\n"),
}


def config_for(name: str):
    if name == "remote":
        return remote_config(CONFIGS["remote"])
    cfg, errors = load_config(CONFIGS[name], "t.cfg", HW)
    assert errors == []
    return cfg


class NatTableMachine(RuleBasedStateMachine):
    """Random traffic, answers, time, expiry and clearing against one engine; the table checked each step."""

    @initialize(name=st.sampled_from(sorted(CONFIGS)))
    def start(self, name):
        self.cfg = config_for(name)
        self.nat = NatEngine(self.cfg, {"Serial0": S0}.get)
        self.now = 0
        self.fragmented = 0

    @rule(host=st.sampled_from(HOSTS), far=st.sampled_from(FAR), kind=st.sampled_from(["udp", "icmp", "tcp", "gre"]),
          port=st.sampled_from(PORTS), flags=st.sampled_from([SYN, ACK, FIN | ACK, RST]))
    def outbound(self, host, far, kind, port, flags):
        packet = {"udp": lambda: udp(host, far, port, 53 if port == 1 else 7000),
                  "icmp": lambda: echo(host, far, ident=port),
                  "tcp": lambda: tcp(host, far, port or 1, 23, flags),
                  "gre": lambda: IPv4Packet(host, far, 47, bytes(8)).encode()}[kind]()
        self.nat.inside_to_outside(packet, "Ethernet0", "Serial0", self.now)

    @precondition(lambda self: self.nat.entries)
    @rule(pick=st.integers(0, 10 ** 6), flags=st.sampled_from([SYN | ACK, ACK, RST]))
    def answer(self, pick, flags):
        e = self.nat.entries[pick % len(self.nat.entries)]
        if e.protocol not in (1, 6, 17) or e.outside_global is None:
            return
        far, glob = IPv4Address(e.outside_global), IPv4Address(e.inside_global)
        if e.protocol == 1:
            packet = echo(far, glob, ident=e.inside_global_port, reply=True)
        elif e.protocol == 6:
            packet = tcp(far, glob, e.outside_global_port, e.inside_global_port, flags)
        else:
            packet = udp(far, glob, e.outside_global_port, e.inside_global_port)
        assert self.nat.outside_to_inside(packet, "Serial0", self.now).translated

    @rule(host=st.sampled_from(HOSTS), far=st.sampled_from(FAR))
    def fragments(self, host, far):
        first = IPv4Packet(host, far, 17, bytes(16), identification=99, flags=FLAG_MF).encode()
        later = IPv4Packet(host, far, 17, bytes(16), identification=99, fragment_offset=2).encode()
        self.nat.inside_to_outside(first, "Ethernet0", "Serial0", self.now)
        self.nat.inside_to_outside(later, "Ethernet0", "Serial0", self.now)
        self.fragmented += 1

    @rule(step=st.sampled_from([0, 1, 500 * MS, 30 * SECOND, 59 * SECOND, 61 * SECOND, 3600 * SECOND]))
    def advance(self, step):
        """Time moves on; the timer fires as the simulator's binding would fire it."""
        self.now += step
        due = self.nat.get_timer()
        if due is not None and due <= self.now:
            self.nat.handle_timer(self.now)
            after = self.nat.get_timer()
            assert after is None or after > self.now

    @rule()
    def clear_all(self):
        self.nat.clear_all()

    @precondition(lambda self: self.nat.entries)
    @rule(pick=st.integers(0, 10 ** 6))
    def clear_one(self, pick):
        e = self.nat.entries[pick % len(self.nat.entries)]
        if e.static:
            return
        if e.protocol is None:
            n = self.nat.clear_inside(e.inside_global, e.inside_local)
        elif e.protocol in (6, 17):
            n = self.nat.clear_extended(e.protocol, e.inside_global, e.inside_global_port, e.inside_local,
                                        e.inside_local_port, e.outside_local, e.outside_local_port,
                                        e.outside_global, e.outside_global_port)
        else:
            return
        assert n == 1 and e not in self.nat.table

    @invariant()
    def consistent_and_bounded(self):
        check(self.nat.table, self.cfg)
        assert len(self.nat._frags) <= self.fragmented


NatTableMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None,
                                             derandomize=True, database=None,
                                             suppress_health_check=[HealthCheck.too_slow])
test_random_sequences_keep_the_table_consistent = NatTableMachine.TestCase
