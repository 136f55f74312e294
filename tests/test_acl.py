"""Access lists and route-maps: matching, counters (emulator/engines/acl.py), show output (emulator/cli/acl_show.py)."""

from ipaddress import IPv4Address

import pytest

from emulator.cli.acl_show import show_access_lists, show_route_map
from emulator.config.loader import load_config
from emulator.engines.acl import (
    DENY,
    PERMIT,
    UNDEFINED_FILTER,
    AclEngine,
    Flow,
    route_map_permits,
)
from emulator.wire.icmp import ICMPMessage
from emulator.wire.ipv4 import FLAG_MF, IPv4Packet
from emulator.wire.tcp import ACK, RST, SYN, TCPSegment
from emulator.wire.udp import UDPDatagram
from support import FIXTURES

HW = ["Ethernet0", "Serial0", "Serial1"]


def ip(text: str) -> int:
    return int(IPv4Address(text))


def load(name: str):
    # sam-i-am.cfg has the document's typo "service timestamps log up time", which IOS rejects.
    cfg, errors = load_config((FIXTURES / name).read_text(), name, HW)
    assert all("timestamps" in e.text for e in errors)
    return cfg


def config(text: str):
    cfg, errors = load_config(text, "t.cfg", HW)
    assert errors == []
    return cfg


def flow(proto, src, dst, sport=None, dport=None, **kw) -> Flow:
    return Flow(proto, ip(src), ip(dst), sport, dport, **kw)


@pytest.fixture
def remote():
    return load("dr_whoovie.cfg")


@pytest.fixture
def hub():
    return load("sam-i-am.cfg")


# ---------------------------------------------------------------- the document's lists

def test_remote_lists_115_and_120(remote):
    acl = AclEngine(remote)
    lan_to_lan = flow(1, "10.1.1.2", "10.2.2.5")
    lan_to_net = flow(6, "10.1.1.2", "198.51.100.10", 1025, 80)
    outsider = flow(1, "192.0.2.1", "10.2.2.5")
    assert acl.evaluate("115", lan_to_lan) == PERMIT      # crypto: encrypt LAN to LAN
    assert acl.evaluate("115", lan_to_net) == DENY
    assert acl.evaluate("120", lan_to_lan) == DENY        # NAT: exempt LAN to LAN
    assert acl.evaluate("120", lan_to_net) == PERMIT
    assert acl.evaluate("115", outsider) == DENY          # implicit deny
    assert acl.evaluate("120", outsider) == DENY
    assert acl.check("115", outsider) == (DENY, None)
    assert acl.check("120", lan_to_net) == (PERMIT, 1)


def test_hub_lists_115_and_120(hub):
    acl = AclEngine(hub)
    assert acl.evaluate("115", flow(17, "10.2.2.9", "10.1.1.200", 1000, 53)) == PERMIT
    assert acl.evaluate("115", flow(1, "10.2.2.9", "8.8.8.8")) == DENY
    assert acl.evaluate("120", flow(1, "10.2.2.9", "10.1.1.1")) == DENY
    assert acl.evaluate("120", flow(1, "10.2.2.9", "8.8.8.8")) == PERMIT
    assert acl.evaluate("120", flow(1, "10.2.3.9", "8.8.8.8")) == DENY


def test_route_map_nonat(remote, hub):
    acl = AclEngine(remote)
    assert acl.route_map_permits("nonat", flow(1, "10.1.1.2", "198.51.100.10")) is True
    assert acl.route_map_permits("nonat", flow(1, "10.1.1.2", "10.2.2.5")) is False
    assert acl.route_map_permits("nonat", flow(1, "172.16.0.1", "198.51.100.10")) is False
    assert acl.route_map_permits("no-such-map", flow(1, "10.1.1.2", "198.51.100.10")) is False
    assert route_map_permits(hub, "nonat", flow(1, "10.2.2.3", "192.0.2.1")) is True
    assert route_map_permits(hub, "nonat", flow(1, "10.2.2.3", "10.1.1.1")) is False


def test_route_map_entries_in_sequence_order():
    cfg = config("access-list 1 permit 10.0.0.0 0.255.255.255\n"
                 "access-list 2 permit 192.168.0.0 0.0.255.255\n"
                 "route-map m permit 30\n"
                 "route-map m deny 10\n match ip address 1\n"
                 "route-map m permit 20\n match ip address 9 2\n"
                 "route-map only deny 10\n")
    acl = AclEngine(cfg)
    assert acl.route_map_permits("m", flow(1, "10.1.1.1", "1.1.1.1")) is False      # seq 10 deny
    assert acl.route_map_permits("m", flow(1, "192.168.3.3", "1.1.1.1")) is True    # seq 20: list 2
    assert acl.route_map_permits("m", flow(1, "172.16.1.1", "1.1.1.1")) is True     # seq 30: no match clause
    assert acl.route_map_permits("only", flow(1, "172.16.1.1", "1.1.1.1")) is False


# ---------------------------------------------------------------- matching details

def test_non_contiguous_wildcards():
    cfg = config("access-list 5 permit 192.168.0.1 0.0.0.254\n"
                 "access-list 130 permit ip 10.0.0.0 0.255.0.255 any\n")
    acl = AclEngine(cfg)
    assert acl.evaluate("5", flow(1, "192.168.0.7", "1.1.1.1")) == PERMIT   # odd hosts
    assert acl.evaluate("5", flow(1, "192.168.0.8", "1.1.1.1")) == DENY
    assert acl.evaluate("5", flow(1, "192.168.1.7", "1.1.1.1")) == DENY
    assert acl.evaluate("130", flow(1, "10.99.0.42", "1.1.1.1")) == PERMIT  # 10.*.0.*
    assert acl.evaluate("130", flow(1, "10.99.1.42", "1.1.1.1")) == DENY
    assert acl.evaluate("130", flow(1, "11.99.0.42", "1.1.1.1")) == DENY


def test_ports_established_icmp_types():
    cfg = config(
        "access-list 140 permit tcp any host 192.0.2.1 eq www\n"
        "access-list 140 permit udp any range 1000 2000 any\n"
        "access-list 140 deny   tcp any any gt 1023\n"
        "access-list 140 permit tcp any any lt 1024\n"
        "access-list 140 permit udp any any neq 53\n"
        "access-list 141 permit tcp any any established\n"
        "access-list 141 permit icmp any any echo-reply\n"
        "access-list 141 permit udp any eq isakmp any eq isakmp\n")
    acl = AclEngine(cfg)
    assert acl.evaluate("140", flow(6, "10.0.0.1", "192.0.2.1", 40000, 80)) == PERMIT
    assert acl.evaluate("140", flow(6, "10.0.0.1", "192.0.2.2", 40000, 80)) == PERMIT    # lt 1024
    assert acl.evaluate("140", flow(6, "10.0.0.1", "192.0.2.2", 40000, 8080)) == DENY    # gt 1023
    assert acl.evaluate("140", flow(17, "10.0.0.1", "192.0.2.2", 1000, 53)) == PERMIT    # range, inclusive
    assert acl.evaluate("140", flow(17, "10.0.0.1", "192.0.2.2", 2000, 53)) == PERMIT
    assert acl.evaluate("140", flow(17, "10.0.0.1", "192.0.2.2", 2001, 53)) == DENY      # neq 53
    assert acl.evaluate("140", flow(17, "10.0.0.1", "192.0.2.2", 2001, 54)) == PERMIT
    assert acl.evaluate("140", flow(1, "10.0.0.1", "192.0.2.1", icmp_type=8)) == DENY
    assert acl.evaluate("141", flow(6, "1.1.1.1", "2.2.2.2", 80, 5000, tcp_flags=SYN)) == DENY
    assert acl.evaluate("141", flow(6, "1.1.1.1", "2.2.2.2", 80, 5000, tcp_flags=SYN | ACK)) == PERMIT
    assert acl.evaluate("141", flow(6, "1.1.1.1", "2.2.2.2", 80, 5000, tcp_flags=RST)) == PERMIT
    assert acl.evaluate("141", flow(1, "1.1.1.1", "2.2.2.2", icmp_type=0)) == PERMIT
    assert acl.evaluate("141", flow(1, "1.1.1.1", "2.2.2.2", icmp_type=8)) == DENY
    assert acl.evaluate("141", flow(17, "1.1.1.1", "2.2.2.2", 500, 500)) == PERMIT
    assert acl.evaluate("141", flow(17, "1.1.1.1", "2.2.2.2", 500, 4500)) == DENY
    # A flow without ports (truncated) never matches a port condition.
    assert acl.evaluate("140", flow(17, "10.0.0.1", "192.0.2.2")) == DENY


def test_non_initial_fragments():
    """Cisco Doc 8014: a permit entry with layer-4 conditions permits a non-initial fragment
    whose addresses match; a deny entry with layer-4 conditions is skipped."""
    cfg = config("access-list 150 deny   tcp any any eq telnet\n"
                 "access-list 150 permit tcp any host 192.0.2.1 eq www\n")
    acl = AclEngine(cfg)
    frag = flow(6, "10.0.0.1", "192.0.2.1", fragment=True)
    assert acl.check("150", frag) == (PERMIT, 1)
    assert acl.evaluate("150", flow(6, "10.0.0.1", "192.0.2.9", fragment=True)) == DENY


def test_undefined_list():
    acl = AclEngine(config("access-list 1 permit any\n"))
    f = flow(1, "10.0.0.1", "10.0.0.2")
    assert acl.evaluate("99", f) == DENY                         # NAT / crypto / route-map
    assert acl.evaluate("99", f, undefined=UNDEFINED_FILTER) == PERMIT   # interface filter
    assert acl.check("99", f, count=True) == (DENY, None)
    assert show_access_lists(acl, "99") == ""


def test_standard_and_named_lists_text():
    cfg = config("access-list 5 permit 192.168.0.1 0.0.0.254\n"
                 "access-list 5 permit 10.1.1.1\n"
                 "access-list 5 deny any\n"
                 "access-list 5 remark not shown by show access-lists\n"
                 "ip access-list extended OUTSIDE-IN\n"
                 " permit udp host 99.99.99.1 any eq isakmp\n"
                 " permit esp host 99.99.99.1 any\n")
    acl = AclEngine(cfg)
    acl.evaluate("5", flow(1, "10.1.1.1", "1.1.1.1"), count=True)
    acl.evaluate("OUTSIDE-IN", flow(50, "99.99.99.1", "100.100.100.1"), count=True)
    assert show_access_lists(acl) == (
        "Standard IP access list 5\n"
        "    permit 192.168.0.1, wildcard bits 0.0.0.254\n"
        "    permit 10.1.1.1 (1 match)\n"
        "    deny   any\n"
        "Extended IP access list OUTSIDE-IN\n"
        "    permit udp host 99.99.99.1 any eq isakmp\n"
        "    permit esp host 99.99.99.1 any (1 match)\n")


# ---------------------------------------------------------------- counters

REMOTE_LISTS = (
    "Extended IP access list 115\n"
    "    permit ip 10.1.1.0 0.0.0.255 10.2.2.0 0.0.0.255 (2 matches)\n"
    "    deny   ip 10.1.1.0 0.0.0.255 any\n"
    "Extended IP access list 120\n"
    "    deny   ip 10.1.1.0 0.0.0.255 10.2.2.0 0.0.0.255 (1 match)\n"
    "    permit ip 10.1.1.0 0.0.0.255 any (3 matches)\n")


def _exercise(acl: AclEngine) -> None:
    vpn = flow(1, "10.1.1.2", "10.2.2.5")
    net = flow(17, "10.1.1.2", "198.51.100.10", 5000, 53)
    acl.evaluate("115", vpn, count=True)
    acl.evaluate("115", vpn, count=True)
    acl.evaluate("115", vpn)                  # not a real evaluation: not counted
    acl.evaluate("120", vpn, count=True)
    for _ in range(3):
        acl.evaluate("120", net, count=True)
    acl.evaluate("120", flow(1, "1.1.1.1", "2.2.2.2"), count=True)   # implicit deny: not shown


def test_counters_and_show_text(remote):
    acl = AclEngine(remote)
    _exercise(acl)
    assert show_access_lists(acl) == REMOTE_LISTS
    assert show_access_lists(acl, 120) == REMOTE_LISTS[REMOTE_LISTS.index("Extended IP access list 120"):]
    assert acl.counts("115") == [2, 0]
    assert acl.counter("120", 1) == 3
    assert acl.counter("120", 7) == 0


def test_clear_counters(remote):
    acl = AclEngine(remote)
    _exercise(acl)
    assert acl.clear_counters("115") is True
    assert acl.counts("115") == [0, 0]
    assert acl.counts("120") == [1, 3]
    assert acl.clear_counters("999") is False
    assert acl.clear_counters() is True
    assert acl.counts("120") == [0, 0]
    assert show_access_lists(acl, "120") == (
        "Extended IP access list 120\n"
        "    deny   ip 10.1.1.0 0.0.0.255 10.2.2.0 0.0.0.255\n"
        "    permit ip 10.1.1.0 0.0.0.255 any\n")


def test_counters_survive_reconfiguration(remote):
    holder = {"cfg": remote}
    acl = AclEngine(lambda: holder["cfg"])
    _exercise(acl)
    # An entry added: the list is rebuilt, the unchanged entries keep their counts.
    load_config("access-list 120 deny ip any host 192.0.2.99\n", "t", HW, cfg=remote)
    assert acl.counts("120") == [1, 3, 0]
    assert acl.evaluate("120", flow(1, "192.0.2.1", "192.0.2.99"), count=True) == DENY
    assert acl.counts("120") == [1, 3, 1]
    # The same configuration loaded again (new objects, same lists): counts stay.
    holder["cfg"] = load("dr_whoovie.cfg")
    assert acl.counts("115") == [2, 0]
    assert acl.counts("120") == [1, 3]
    # A named list with an entry removed keeps the others' counts.
    cfg = config("ip access-list extended X\n permit tcp any any eq www\n permit udp any any\n"
                 " permit icmp any any\n")
    acl2 = AclEngine(cfg)
    acl2.evaluate("X", flow(17, "1.1.1.1", "2.2.2.2", 1, 2), count=True)
    acl2.evaluate("X", flow(1, "1.1.1.1", "2.2.2.2", icmp_type=8), count=True)
    load_config("ip access-list extended X\n no permit tcp any any eq www\n", "t", HW, cfg=cfg)
    assert acl2.counts("X") == [1, 1]


def test_show_route_map(remote):
    acl = AclEngine(remote)
    assert show_route_map(acl) == (
        "route-map nonat, permit, sequence 10\n"
        "  Match clauses:\n"
        "    ip address (access-lists): 120 \n"
        "  Set clauses:\n"
        "  Policy routing matches: 0 packets, 0 bytes\n")
    assert show_route_map(acl, "nonat") == show_route_map(acl)
    assert show_route_map(acl, "other") == ""


# ---------------------------------------------------------------- Flow.from_ipv4

A, B = IPv4Address("10.1.1.2"), IPv4Address("198.51.100.10")


def test_flow_from_packets():
    tcp = IPv4Packet(A, B, 6, TCPSegment(1025, 23, flags=SYN).encode(A, B)).encode()
    udp = IPv4Packet(A, B, 17, UDPDatagram(5000, 53, b"q").encode(A, B)).encode()
    icmp = IPv4Packet(A, B, 1, ICMPMessage.echo_request(7, 1).encode()).encode()
    esp = IPv4Packet(A, B, 50, bytes(40)).encode()
    assert Flow.from_ipv4(tcp) == Flow(6, int(A), int(B), 1025, 23, tcp_flags=SYN)
    assert Flow.from_ipv4(udp) == Flow(17, int(A), int(B), 5000, 53)
    assert Flow.from_ipv4(icmp) == Flow(1, int(A), int(B), icmp_type=8, icmp_code=0)
    assert Flow.from_ipv4(esp) == Flow(50, int(A), int(B))
    second = IPv4Packet(A, B, 17, bytes(16), flags=0, fragment_offset=185).encode()
    first = IPv4Packet(A, B, 17, UDPDatagram(5000, 53, bytes(8)).encode(A, B), flags=FLAG_MF).encode()
    assert Flow.from_ipv4(second) == Flow(17, int(A), int(B), fragment=True)
    assert Flow.from_ipv4(first).sport == 5000


@pytest.mark.parametrize("data", [b"", b"\x45", b"\x60" + bytes(39), bytes(20),
                                  IPv4Packet(A, B, 6, b"\x00\x01").encode()])
def test_flow_from_bad_packets(data):
    flow_, reason = Flow.parse(data)
    assert flow_ is None and reason
    assert Flow.from_ipv4(data) is None
