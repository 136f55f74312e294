"""The SA database's indexes answer as the walks they replace did: the dynamic map's flow for an
outbound packet (newest temporary entry first), the cleartext check's flow, the deadlines' heap."""

from __future__ import annotations

from ipaddress import IPv4Address

from emulator.engines import esp_sa as E
from emulator.engines.ike.events import Phase2Result
from emulator.engines.ike.policy import EspTransform, ProxyId
from emulator.engines.ipsec.sad import REKEY_BEFORE, SaDatabase
from emulator.labtime import SECOND

LOCAL = IPv4Address("192.0.2.1")
HUB_LAN = ProxyId(0xAC100000, 0xFFFFFF00)          # 172.16.0.0/24
T = EspTransform(E.ESP_3DES, E.AUTH_HMAC_SHA)


def _net(third: int) -> ProxyId:
    return ProxyId(0x0A000000 | third << 8, 0xFFFFFF00)   # 10.0.<third>.0/24


def _install(sad: SaDatabase, peer: str, remote: ProxyId, spi: int, now: int = 0, lifetime: int = 3600,
             static: bool = False):
    ctx = ("static", "Serial0", "vpn", 10) if static else ("dynamic", "Serial0", "vpn", 10, "dyn", 10)
    r = Phase2Result(False, IPv4Address(peer), LOCAL, "Serial0", 1, HUB_LAN, remote, T, "ts", lifetime, 4608000,
                     None, spi, spi + 1, (bytes(24), bytes(20)), (bytes(24), bytes(20)), 1, ctx)
    return sad.install_result(r, now)


def _ints(dst: str) -> tuple[int, int]:
    return 0xAC100005, int(IPv4Address(dst))


def test_dynamic_flow_is_found_by_destination_among_many_peers():
    sad = SaDatabase()
    pairs = {k: _install(sad, f"198.51.100.{k}", _net(k), 0x1000 + 2 * k) for k in range(1, 201)}
    src, dst = _ints("10.0.77.9")
    f = sad.dynamic_flow("Serial0", "vpn", 10, src, dst, 1, None, None)
    assert f is pairs[77][1].flow and f.peer == IPv4Address("198.51.100.77")
    assert sad.dynamic_flow("Serial0", "vpn", 10, src, int(IPv4Address("10.1.0.1")), 1, None, None) is None
    assert sad.dynamic_flow("Serial1", "vpn", 10, src, dst, 1, None, None) is None
    assert sad.dynamic_flow("Serial0", "vpn", 20, src, dst, 1, None, None) is None


def test_dynamic_flow_prefers_the_newest_temporary_entry_and_forgets_removed_flows():
    sad = SaDatabase()
    wide = ProxyId(0x0A000000, 0xFFFF0000)                  # 10.0.0.0/16 from one peer
    _, old_out = _install(sad, "198.51.100.1", wide, 0x2000)
    _, new_out = _install(sad, "198.51.100.2", _net(5), 0x3000)    # 10.0.5.0/24 from a newer one
    src, dst = _ints("10.0.5.1")
    assert sad.dynamic_flow("Serial0", "vpn", 10, src, dst, 6, 1024, 80) is new_out.flow
    sad.remove_pair(new_out)
    assert sad.dynamic_flow("Serial0", "vpn", 10, src, dst, 6, 1024, 80) is old_out.flow  # no outbound SA
    sad.remove_flow(old_out.flow)
    assert sad.dynamic_flow("Serial0", "vpn", 10, src, dst, 6, 1024, 80) is None


def test_cleartext_check_flow_by_source_in_activation_order():
    sad = SaDatabase()
    _, first = _install(sad, "198.51.100.1", ProxyId(0x0A000000, 0xFFFF0000), 0x4000)
    _, second = _install(sad, "198.51.100.2", _net(9), 0x5000)
    hub = 0xAC100005
    assert sad.has_active("Serial0") and not sad.has_active("Ethernet0")
    assert sad.active("Serial0") == [first.flow, second.flow]
    assert sad.active_flow("Serial0", int(IPv4Address("10.0.9.1")), hub, 1, None, None) is first.flow
    assert sad.active_flow("Serial0", int(IPv4Address("10.0.9.1")), 0x08080808, 1, None, None) is None
    sad.remove_pair(first)
    assert sad.active_flow("Serial0", int(IPv4Address("10.0.9.1")), hub, 1, None, None) is second.flow
    assert sad.active("Serial0") == [second.flow]


def test_deadline_heap_follows_installs_rekeys_and_removals():
    sad = SaDatabase()
    assert sad.deadline() is None
    sa_in, sa_out = _install(sad, "198.51.100.1", _net(1), 0x6000, now=0, lifetime=3600, static=True)
    soft = max(1800 * SECOND, 3600 * SECOND - REKEY_BEFORE)
    assert sad.deadline() == soft == sa_out.soft_at            # a static flow's outbound SA re-keys
    _install(sad, "198.51.100.2", _net(2), 0x7000, now=10 * SECOND, lifetime=600)   # dynamic: expiry only
    assert sad.deadline() == 610 * SECOND
    assert sad.due(609 * SECOND) == [] and sad.deadline() == 610 * SECOND
    [late_in, late_out] = sad.due(610 * SECOND)
    assert late_in.inbound and not late_out.inbound and late_in.sibling is late_out
    sad.remove_pair(late_in)
    assert sad.deadline() == soft
    sad.mark_rekeyed(sa_out)
    assert sa_in.rekeyed and sa_out.rekeyed and sad.deadline() == 3600 * SECOND
    sad.remove_pair(sa_in)
    assert sad.deadline() is None and sad.due(10_000 * SECOND) == []


def test_deadline_heap_stays_small_when_sas_come_and_go():
    sad = SaDatabase()
    keep_in, _ = _install(sad, "198.51.100.1", _net(1), 0x8000, lifetime=86400)
    for k in range(500):                            # peers that come and go long before their SAs expire
        sa_in, _ = _install(sad, "198.51.100.2", _net(2), 0x9000 + 2 * k, lifetime=86400)
        sad.remove_pair(sa_in)
    assert len(sad._deadlines) <= 64 + 8 * len(sad.in_sas) + 2
    assert sad.deadline() == keep_in.expires_at


def test_temporary_entries_and_flows_are_found_by_peer():
    sad = SaDatabase()
    a_in, a_out = _install(sad, "198.51.100.1", _net(1), 0xA000)
    b_in, _ = _install(sad, "198.51.100.2", _net(2), 0xB000)
    again_in, _ = _install(sad, "198.51.100.1", _net(1), 0xC000)        # the same peer and proxies: same entry
    assert a_in.flow is again_in.flow and a_in.flow.seq == 65536 and b_in.flow.seq == 65537
    assert [t.seq for t in sad.temporaries_under("vpn", 10)] == [65537, 65536]       # newest first
    peer_a = IPv4Address("198.51.100.1")
    assert sad.flows_with_peer(peer_a) == [a_in.flow]
    assert sad.find_pairs(peer_a, {a_out.spi}) == [a_out] and sad.find_pairs(peer_a, {b_in.spi}) == []
    sad.set_peer(a_in.flow, IPv4Address("198.51.100.9"))                # a flow's peer moves: so does the index
    assert sad.flows_with_peer(peer_a) == [] and sad.flows_with_peer(IPv4Address("198.51.100.9")) == [a_in.flow]
    sad.remove_flow(b_in.flow)
    assert sad.flows_with_peer(IPv4Address("198.51.100.2")) == []
    assert [t.seq for t in sad.temporaries_under("vpn", 10)] == [65536]
    c_in, _ = _install(sad, "198.51.100.2", _net(2), 0xD000)            # the entry went with its last flow
    assert c_in.flow.seq == 65538
