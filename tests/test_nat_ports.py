"""PAT port allocation and one-to-one address bindings (emulator/engines/nat/ports.py)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from emulator.engines.nat.ports import (
    AddressBinder,
    BindingKey,
    GroupKey,
    MappingKey,
    PortAllocator,
    PortKey,
    PortUser,
    port_group,
)

TCP, UDP, ICMP = 6, 17, 1
G1, G2 = bytes([192, 0, 2, 1]), bytes([192, 0, 2, 2])
H = [bytes([10, 0, 0, n]) for n in range(1, 9)]
OUT = bytes([198, 51, 100, 1])


def take(ports: PortAllocator, proto: int, g: bytes, host: bytes, port: int) -> int | None:
    """Choose a port and hold it, as the engine does when it adds the entry."""
    got = ports.choose(proto, g, host, port)
    if got is not None:
        ports.hold(PortKey(proto, g, got, None), host, port)
    return got


def test_groups():
    assert [port_group(p) for p in (0, 511, 512, 1023, 1024, 65535)] == [
        (0, 511), (0, 511), (512, 1023), (512, 1023), (1024, 65535), (1024, 65535)]
    with pytest.raises(ValueError):
        port_group(65536)


def test_same_port_when_free_else_the_next_free_of_its_group():
    ports = PortAllocator()
    assert take(ports, UDP, G1, H[0], 5000) == 5000
    assert take(ports, UDP, G1, H[1], 5000) == 1024          # group 1024-65535 starts at 1024
    assert take(ports, UDP, G1, H[2], 5000) == 1025
    assert take(ports, UDP, G1, H[3], 1024) == 1026          # 1024 and 1025 are taken
    assert take(ports, UDP, G1, H[0], 700) == 700
    assert take(ports, UDP, G1, H[1], 700) == 512
    assert take(ports, UDP, G1, H[0], 123) == 123
    assert take(ports, UDP, G1, H[1], 123) == 1              # port 0 is never given to TCP/UDP
    assert take(ports, ICMP, G1, H[0], 3) == 3
    assert take(ports, ICMP, G1, H[1], 3) == 0               # ICMP identifiers may be 0
    # Other protocols and other global addresses have their own ports.
    assert take(ports, TCP, G1, H[1], 5000) == 5000
    assert take(ports, UDP, G2, H[1], 5000) == 5000


def test_an_inside_port_keeps_its_global_port_for_every_destination():
    ports = PortAllocator()
    take(ports, UDP, G1, H[0], 5000)
    assert take(ports, UDP, G1, H[1], 5000) == 1024
    assert ports.choose(UDP, G1, H[1], 5000) == 1024         # a second destination: the same port
    ports.hold(PortKey(UDP, G1, 1024, None), H[1], 5000)
    assert ports.slots[PortKey(UDP, G1, 1024, None)].refs == 2
    ports.release(PortKey(UDP, G1, 1024, None))
    assert ports.assigned[PortUser(UDP, G1, H[1], 5000)] == 1024
    ports.release(PortKey(UDP, G1, 1024, None))
    assert PortUser(UDP, G1, H[1], 5000) not in ports.assigned and PortKey(UDP, G1, 1024, None) not in ports.slots


def test_a_released_port_is_given_again_first():
    ports = PortAllocator()
    take(ports, UDP, G1, H[0], 5000)
    got = [take(ports, UDP, G1, h, 5000) for h in H[1:6]]
    assert got == [1024, 1025, 1026, 1027, 1028]
    ports.release(PortKey(UDP, G1, 1026, None))
    assert ports.hints[GroupKey(UDP, G1, 1024)] == 1026
    assert take(ports, UDP, G1, H[6], 5000) == 1026
    assert take(ports, UDP, G1, H[7], 5000) == 1029


def test_a_full_group_gives_none():
    ports = PortAllocator()
    for port in range(512, 1024):
        ports.hold(PortKey(TCP, G1, port, None), bytes([10, 1, port >> 8, port & 255]), port)
    assert ports.choose(TCP, G1, H[0], 700) is None
    assert ports.choose(TCP, G1, H[0], 1500) == 1500       # another group
    ports.release(PortKey(TCP, G1, 1000, None))
    assert ports.choose(TCP, G1, H[0], 700) == 1000


def test_portless_protocols_hold_the_address_per_outside_address():
    ports = PortAllocator()
    key = PortKey(47, G1, None, OUT)
    assert ports.portless_free(key, H[0])
    ports.hold(key, H[0], None)
    assert ports.portless_free(key, H[0]) and not ports.portless_free(key, H[1])
    assert ports.portless_free(PortKey(47, G1, None, bytes([198, 51, 100, 2])), H[1])
    assert ports.assigned == {}
    ports.release(key)
    assert ports.portless_free(key, H[1])


def test_address_bindings():
    binder = AddressBinder()
    m = MappingKey("list", "1")
    k0, k1 = BindingKey(m, H[0]), BindingKey(m, H[1])
    binder.hold(G1, k0)
    binder.hold(G1, k0)
    assert binder.bound(k0) == G1 and binder.owned(G1) and binder.bound(k1) is None
    binder.release(G1, k0)
    assert binder.owned(G1)
    binder.release(G1, k0)
    assert not binder.owned(G1) and binder.bound(k0) is None and binder.bindings == {}


# ---------------------------------------------------------------- against a model

def lowest_free(taken: dict[tuple, int], mine: dict[tuple, int], proto: int, g: bytes, host: bytes,
                port: int) -> int | None:
    """The rule the allocator implements, the slow way."""
    if (proto, g, host, port) in mine:
        return mine[(proto, g, host, port)]
    if (proto, g, port) not in taken:
        return port
    lo, hi = port_group(port)
    first = 1 if lo == 0 and proto != ICMP else lo
    return next((p for p in range(first, hi + 1) if (proto, g, p) not in taken), None)


ops = st.lists(st.tuples(st.booleans(), st.sampled_from([UDP, ICMP]), st.sampled_from([G1, G2]),
                         st.integers(0, 7), st.sampled_from([0, 1, 2, 510, 511, 512, 513, 1024, 1025, 5000])),
               max_size=120)


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(ops, st.randoms(use_true_random=False))
def test_choices_match_the_lowest_free_port_rule(operations, rnd):
    ports = PortAllocator()
    taken: dict[tuple, int] = {}          # (proto, g, port) -> refs
    owner: dict[tuple, tuple] = {}        # (proto, g, port) -> (host, inside port)
    mine: dict[tuple, int] = {}           # (proto, g, host, inside port) -> port
    for allocate, proto, g, h, port in operations:
        if allocate or not taken:
            expected = lowest_free(taken, mine, proto, g, H[h], port)
            assert ports.choose(proto, g, H[h], port) == expected
            if expected is None:
                continue
            ports.hold(PortKey(proto, g, expected, None), H[h], port)
            key = (proto, g, expected)
            if key not in taken:
                owner[key] = (H[h], port)
                mine[(proto, g, H[h], port)] = expected
            taken[key] = taken.get(key, 0) + 1
        else:
            key = rnd.choice(sorted(taken))
            ports.release(PortKey(*key, None))
            taken[key] -= 1
            if taken[key] == 0:
                del taken[key]
                host, inside = owner.pop(key)
                del mine[(key[0], key[1], host, inside)]
        assert {(k.protocol, k.address, k.port): s.refs for k, s in ports.slots.items()} == taken
        assert {tuple(k): p for k, p in ports.assigned.items()} == mine
