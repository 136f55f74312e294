"""NAT engine (emulator/engines/nat/) with its CLI text (emulator/cli/nat_show.py): PAT with route-map nonat,
statics, pools, timeouts, show/clear/debug."""

from ipaddress import IPv4Address

import pytest

from emulator.cli import iostime
from emulator.cli.acl_show import show_access_lists
from emulator.cli.nat_show import debug_lines, show_statistics, show_translations, translation_row
from emulator.config.loader import load_config
from emulator.engines.acl import AclEngine
from emulator.engines.nat import DROP, TRANSLATED, UNTOUCHED, NatEngine
from emulator.labtime import MS, SECOND
from emulator.wire.checksum import internet_checksum
from emulator.wire.icmp import ICMPMessage
from emulator.wire.ipv4 import FLAG_MF, IPv4Packet
from emulator.wire.tcp import ACK, FIN, SYN
from emulator.wire.udp import UDPDatagram
from support.nat_packets import (
    H1,
    H2,
    HUB_LAN,
    HW,
    NET1,
    NET2,
    NET3,
    S0,
    Addresses,
    back,
    decode,
    echo,
    out,
    remote_config,
    scapy_checksums_ok,
    tcp,
    udp,
)


@pytest.fixture
def addrs():
    return Addresses(Serial0=S0)


@pytest.fixture
def nat(addrs):
    return NatEngine(remote_config(), addrs)


def test_icmp_echo_translated_and_reply_translated_back(nat):
    req = echo(H1, NET1, ident=512)
    r = out(nat, req, 10 * SECOND)
    assert r.action == TRANSLATED and r.created
    ip_, msg = decode(r.packet)
    assert (ip_.src, ip_.dst, msg.identifier, msg.sequence, ip_.ttl) == (S0, NET1, 512, 1, 254)
    assert msg.payload == b"abcdefgh" * 9
    assert scapy_checksums_ok(r.packet)
    assert debug_lines(r.trace) == ["NAT: s=10.1.1.2->100.100.100.1, d=198.51.100.10 [25]"]
    assert debug_lines(r.trace, detailed=True) == [
        "NAT: i: icmp (10.1.1.2, 512) -> (198.51.100.10, 512) [25]",
        "NAT: s=10.1.1.2->100.100.100.1, d=198.51.100.10 [25]"]

    rep = echo(NET1, S0, ident=512, reply=True, ipid=77)
    r2 = back(nat, rep, 10500 * MS)
    assert r2.action == TRANSLATED and r2.entry is r.entry
    ip2, msg2 = decode(r2.packet)
    assert (ip2.src, ip2.dst, msg2.type, msg2.identifier) == (NET1, H1, 0, 512)
    assert scapy_checksums_ok(r2.packet)
    assert debug_lines(r2.trace) == ["NAT*: s=198.51.100.10, d=100.100.100.1->10.1.1.2 [77]"]
    assert debug_lines(r2.trace, detailed=True)[0] == "NAT*: o: icmp (198.51.100.10, 512) -> (100.100.100.1, 512) [77]"
    # The second echo of the same ping hits the entry (Serial0 has "no ip route-cache": NAT, not NAT*).
    r3 = out(nat, echo(H1, NET1, ident=512, seq=2, ipid=26), 11 * SECOND)
    assert r3.translated and not r3.created and r3.entry is r.entry
    assert debug_lines(r3.trace) == ["NAT: s=10.1.1.2->100.100.100.1, d=198.51.100.10 [26]"]
    assert (nat.hits, nat.misses) == (2, 1)


def test_icmp_identifier_in_use_gets_next_port_of_its_group(nat):
    out(nat, echo(H1, NET1, ident=512), 0)
    r = out(nat, echo(H2, NET1, ident=512), 0)
    ip_, msg = decode(r.packet)
    assert msg.identifier == 513                       # 512-1023 group, first free
    assert scapy_checksums_ok(r.packet)
    rep = back(nat, echo(NET1, S0, ident=513, reply=True), 100 * MS)
    ip2, msg2 = decode(rep.packet)
    assert (ip2.dst, msg2.identifier) == (H2, 512)
    assert scapy_checksums_ok(rep.packet)


def test_udp_and_tcp_keep_port_then_next_host_gets_another_in_same_range(nat):
    r1 = out(nat, udp(H1, NET2, 5000, 53), 1 * SECOND)
    r2 = out(nat, udp(H2, NET2, 5000, 53), 2 * SECOND)
    _, d1 = decode(r1.packet)
    _, d2 = decode(r2.packet)
    assert (d1.src_port, d2.src_port) == (5000, 1024)
    assert d2.payload == b"hello world"
    assert scapy_checksums_ok(r1.packet) and scapy_checksums_ok(r2.packet)
    # Ports of the 0-511 and 512-1023 groups stay in their group.
    low1 = out(nat, udp(H1, NET2, 123, 123), 3 * SECOND)
    low2 = out(nat, udp(H2, NET2, 123, 123), 3 * SECOND)
    mid1 = out(nat, tcp(H1, NET3, 700, 23, SYN), 3 * SECOND)
    mid2 = out(nat, tcp(H2, NET3, 700, 23, SYN), 3 * SECOND)
    assert decode(low1.packet)[1].src_port == 123
    assert decode(low2.packet)[1].src_port == 1
    assert decode(mid1.packet)[1].src_port == 700
    assert decode(mid2.packet)[1].src_port == 512
    for r in (low2, mid2):
        assert scapy_checksums_ok(r.packet)
    # TCP and UDP have their own port spaces: TCP 5000 is free although UDP 5000 is taken.
    t = out(nat, tcp(H2, NET3, 5000, 80, SYN, b"GET /"), 4 * SECOND)
    assert decode(t.packet)[1].src_port == 5000
    # Replies reach the right host and port.
    rep = back(nat, udp(NET2, S0, 53, 1024, b"answer"), 5 * SECOND)
    ip_, d = decode(rep.packet)
    assert (ip_.dst, d.dst_port, d.payload) == (H2, 5000, b"answer")
    assert scapy_checksums_ok(rep.packet)
    rep = back(nat, tcp(NET3, S0, 23, 512, SYN | ACK), 5 * SECOND)
    ip_, seg = decode(rep.packet)
    assert (ip_.dst, seg.dst_port, seg.flags) == (H2, 700, SYN | ACK)
    assert scapy_checksums_ok(rep.packet)


def test_same_inside_port_to_new_destination_reuses_its_global_port(nat):
    out(nat, udp(H1, NET2, 5000, 53), 0)
    out(nat, udp(H2, NET2, 5000, 53), 0)          # H2:5000 -> 1024
    r = out(nat, udp(H2, NET3, 5000, 53), 0)
    assert decode(r.packet)[1].src_port == 1024
    assert len(nat.entries) == 3


def test_udp_without_checksum_stays_without(nat):
    raw_udp = bytearray(udp(H1, NET2, 4000, 69))
    raw_udp[26:28] = b"\x00\x00"
    r = out(nat, bytes(raw_udp), 0)
    assert r.packet[26:28] == b"\x00\x00"
    assert IPv4Packet.decode(r.packet).src == S0


def test_lan_to_lan_is_untouched_and_creates_nothing(nat):
    pkt = echo(H1, HUB_LAN)
    r = out(nat, pkt, 0)
    assert r.action == UNTOUCHED and r.packet == pkt
    assert r.reason == "no NAT rule permits the flow"
    assert r.trace is None  # nothing for debug ip nat to show
    assert nat.entries == [] and (nat.hits, nat.misses) == (0, 0)
    # The route-map's ACL counted the evaluation.
    assert nat.acl.counts("120") == [1, 0]


def test_no_interface_address_drops_with_reason(addrs, nat):
    del addrs["Serial0"]
    r = out(nat, echo(H1, NET1), 0)
    assert r.action == DROP and r.reason == "interface Serial0 has no address"
    assert nat.entries == [] and nat.misses == 1
    addrs["Serial0"] = "0.0.0.0"
    assert out(nat, echo(H1, NET1), 0).dropped


def test_changed_interface_address_used_for_new_translations(addrs, nat):
    out(nat, echo(H1, NET1, ident=1), 0)
    addrs["Serial0"] = IPv4Address("100.100.100.7")
    r = out(nat, echo(H1, NET1, ident=2), 1 * SECOND)
    assert IPv4Packet.decode(r.packet).src == IPv4Address("100.100.100.7")
    assert scapy_checksums_ok(r.packet)
    assert [translation_row(e)[1] for e in nat.entries] == ["100.100.100.1:1", "100.100.100.7:2"]


def test_not_a_nat_path_or_unknown_translation(nat):
    pkt = echo(H1, NET1)
    assert nat.inside_to_outside(pkt, "Serial0", "Ethernet0", 0).action == UNTOUCHED
    assert nat.outside_to_inside(pkt, "Ethernet0", 0).action == UNTOUCHED
    ike = udp(IPv4Address("99.99.99.1"), S0, 500, 500)
    r = back(nat, ike, 0)
    assert r.action == UNTOUCHED and r.reason == "no translation" and r.packet == ike


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("data", [
    b"",
    b"\x45\x00",
    bytes(20),                                                   # version 0
    echo(H1, NET1)[:30],                                         # shorter than total length
    IPv4Packet(H1, NET1, 6, b"\x13\x88\x00\x50").encode(),       # TCP header cut short
    IPv4Packet(H1, NET1, 17, b"\x13\x88").encode(),              # UDP header cut short
    IPv4Packet(H1, NET1, 1, b"\x08\x00").encode(),               # ICMP header cut short
    b"\x46" + echo(H1, NET1)[1:20],                              # IHL beyond the data
])
def test_garbage_gives_a_reason_never_an_exception(nat, data):
    r = out(nat, data, 0)
    assert r.action == DROP and r.reason
    r = back(nat, data, 0)
    assert r.action == DROP and r.reason
    assert nat.entries == []


def test_bad_header_checksum_is_dropped(nat):
    bad = bytearray(echo(H1, NET1))
    bad[10] ^= 0xFF
    r = out(nat, bytes(bad), 0)
    assert r.dropped and r.reason == "ipv4: bad header checksum"


# ---------------------------------------------------------------- timeouts

def test_icmp_timeout_default_60s(nat):
    out(nat, echo(H1, NET1), 100 * SECOND)
    assert nat.next_expiry() == 160 * SECOND
    assert nat.expire(159900 * MS) == 0 and len(nat.entries) == 1
    assert nat.expire(160 * SECOND) == 1 and nat.entries == []
    assert nat.expired == 1 and nat.next_expiry() is None


def test_use_refreshes_and_expired_entry_is_rebuilt(nat):
    out(nat, echo(H1, NET1), 0)
    out(nat, echo(H1, NET1, seq=2), 50 * SECOND)
    assert nat.next_expiry() == 110 * SECOND
    r = out(nat, echo(H1, NET1, seq=3), 111 * SECOND)     # timed out before the timer ran
    assert r.created and nat.expired == 1


def test_configured_timeouts(addrs):
    nat = NatEngine(remote_config("ip nat translation udp-timeout 120\n"
                                  "ip nat translation icmp-timeout never\n"), addrs)
    out(nat, udp(H1, NET2, 5000, 5001), 0)
    out(nat, echo(H1, NET1), 0)
    assert nat.next_expiry() == 120 * SECOND
    out(nat, udp(H1, NET2, 5002, 53), 10 * SECOND)          # DNS: dns-timeout 60
    assert nat.next_expiry() == 70 * SECOND
    assert nat.expire(1000 * SECOND) == 2
    assert [e.protocol for e in nat.entries] == [1]     # icmp-timeout never


def test_tcp_syn_established_and_finrst_timeouts(nat):
    out(nat, tcp(H1, NET3, 1025, 23, SYN), 0)
    assert nat.next_expiry() == 60 * SECOND                  # syn-timeout
    back(nat, tcp(NET3, S0, 23, 1025, SYN | ACK), 1 * SECOND)
    assert nat.next_expiry() == (1 + 86400) * SECOND     # tcp-timeout
    out(nat, tcp(H1, NET3, 1025, 23, FIN | ACK), 2 * SECOND)
    assert nat.next_expiry() == 62 * SECOND                  # finrst-timeout
    assert nat.entries[0].timing_out
    assert nat.expire(62 * SECOND) == 1


# ---------------------------------------------------------------- show and clear

def _known_state(nat):
    out(nat, echo(H1, NET1, ident=512), 0)
    back(nat, echo(NET1, S0, ident=512, reply=True), 200 * MS)
    out(nat, udp(H1, NET2, 5000, 53), 1 * SECOND)
    out(nat, udp(H2, NET2, 5000, 53), 2 * SECOND)
    out(nat, tcp(H2, NET3, 1025, 23, SYN), 3 * SECOND)
    back(nat, tcp(NET3, S0, 23, 1025, SYN | ACK), 3500 * MS)
    out(nat, echo(H1, HUB_LAN), 4 * SECOND)                 # VPN traffic: not translated


TRANSLATIONS = (
    "Pro Inside global      Inside local       Outside local      Outside global\n"
    "icmp 100.100.100.1:512 10.1.1.2:512       198.51.100.10:512  198.51.100.10:512\n"
    "udp 100.100.100.1:5000 10.1.1.2:5000      198.51.100.20:53   198.51.100.20:53\n"
    "udp 100.100.100.1:1024 10.1.1.3:5000      198.51.100.20:53   198.51.100.20:53\n"
    "tcp 100.100.100.1:1025 10.1.1.3:1025      198.51.100.30:23   198.51.100.30:23\n")


def test_show_ip_nat_translations(nat):
    assert show_translations(nat, 0) == ""            # empty table: not even the header
    _known_state(nat)
    assert show_translations(nat, 10 * SECOND) == TRANSLATIONS
    assert show_translations(nat, 10 * SECOND, verbose=True) == (
        "Pro Inside global      Inside local       Outside local      Outside global\n"
        "icmp 100.100.100.1:512 10.1.1.2:512       198.51.100.10:512  198.51.100.10:512\n"
        "    create 00:00:10, use 00:00:09, left 00:00:50, \n"
        "    flags: extended, use_count: 0\n"
        "udp 100.100.100.1:5000 10.1.1.2:5000      198.51.100.20:53   198.51.100.20:53\n"
        "    create 00:00:09, use 00:00:09, left 00:00:51, \n"
        "    flags: extended, use_count: 0\n"
        "udp 100.100.100.1:1024 10.1.1.3:5000      198.51.100.20:53   198.51.100.20:53\n"
        "    create 00:00:08, use 00:00:08, left 00:00:52, \n"
        "    flags: extended, use_count: 0\n"
        "tcp 100.100.100.1:1025 10.1.1.3:1025      198.51.100.30:23   198.51.100.30:23\n"
        "    create 00:00:07, use 00:00:06, left 23:59:53, \n"
        "    flags: extended, use_count: 0\n")


def test_show_ip_nat_statistics(nat):
    _known_state(nat)
    assert show_statistics(nat) == (
        "Total translations: 4 (0 static, 4 dynamic; 4 extended)\n"
        "Outside interfaces: Serial0\n"
        "Inside interfaces: Ethernet0\n"
        "Hits: 2  Misses: 4\n"
        "Expired translations: 0\n"
        "Dynamic mappings:\n"
        "-- Inside Source\n"
        "route-map nonat interface Serial0 refcount 4\n")
    nat.expire(70 * SECOND)
    nat.clear_statistics()
    assert show_statistics(nat).splitlines()[0] == "Total translations: 1 (0 static, 1 dynamic; 1 extended)"
    assert "Hits: 0  Misses: 0\nExpired translations: 0\n" in show_statistics(nat)
    assert show_statistics(nat).endswith("route-map nonat interface Serial0 refcount 1\n")


def test_nat_evaluations_show_in_access_list_counters(addrs):
    cfg = remote_config()
    acl = AclEngine(cfg)
    nat = NatEngine(cfg, addrs, acl)
    _known_state(nat)
    # Four flows built (permit) and one VPN packet exempted (deny); hits do not evaluate the list.
    assert show_access_lists(acl, "120") == (
        "Extended IP access list 120\n"
        "    deny   ip 10.1.1.0 0.0.0.255 10.2.2.0 0.0.0.255 (1 match)\n"
        "    permit ip 10.1.1.0 0.0.0.255 any (4 matches)\n")


def test_clear_forms(nat):
    _known_state(nat)
    assert nat.clear_extended("udp", S0, 1024, H2, 5000) == 1
    assert nat.clear_extended("udp", S0, 1024, H2, 5000) == 0
    assert nat.clear_extended("tcp", "100.100.100.1", 1025, "10.1.1.3", 1025,
                              "198.51.100.30", 23, "198.51.100.99", 23) == 0
    assert nat.clear_extended("tcp", "100.100.100.1", 1025, "10.1.1.3", 1025,
                              "198.51.100.30", 23, "198.51.100.30", 23) == 1
    assert nat.clear_inside(S0, H1) == 0               # extended entries need the protocol form
    # The freed global port is available again.
    r = out(nat, udp(H2, NET3, 5000, 53), 20 * SECOND)
    assert decode(r.packet)[1].src_port == 1024
    assert nat.clear_all() == 3
    assert nat.entries == [] and show_translations(nat, 30 * SECOND) == ""
    assert "route-map nonat interface Serial0 refcount 0" in show_statistics(nat)


# ---------------------------------------------------------------- statics, pools, ICMP errors, fragments

def test_static_translation(addrs):
    nat = NatEngine(remote_config("ip nat inside source static 10.1.1.5 100.100.100.5\n"), addrs, now=0)
    assert show_translations(nat, 0) == (
        "Pro Inside global      Inside local       Outside local      Outside global\n"
        "--- 100.100.100.5      10.1.1.5           ---                ---\n")
    # From outside to the static global: translated, and the flow gets an extended entry.
    r = back(nat, tcp(NET3, IPv4Address("100.100.100.5"), 40000, 80, SYN), 5 * SECOND)
    ip_, seg = decode(r.packet)
    assert (ip_.dst, seg.dst_port) == (IPv4Address("10.1.1.5"), 80)
    assert scapy_checksums_ok(r.packet)
    r = out(nat, tcp(IPv4Address("10.1.1.5"), NET3, 80, 40000, SYN | ACK), 6 * SECOND)
    assert IPv4Packet.decode(r.packet).src == IPv4Address("100.100.100.5")
    assert not r.created
    assert show_translations(nat, 10 * SECOND, verbose=True) == (
        "Pro Inside global      Inside local       Outside local      Outside global\n"
        "--- 100.100.100.5      10.1.1.5           ---                ---\n"
        "    create 00:00:10, use 00:00:10, \n"
        "    flags: static, use_count: 1\n"
        "tcp 100.100.100.5:80   10.1.1.5:80        198.51.100.30:40000 198.51.100.30:40000\n"
        "    create 00:00:05, use 00:00:04, left 23:59:56, \n"
        "    flags: extended, use_count: 0\n")
    assert show_statistics(nat).startswith("Total translations: 2 (1 static, 1 dynamic; 1 extended)\n")
    assert nat.clear_all() == 1 and len(nat.entries) == 1     # the static stays


def test_pool_without_overload_builds_simple_entries(addrs):
    cfg, errors = load_config(
        "interface Ethernet0\n ip address 10.1.1.1 255.255.255.0\n ip nat inside\n"
        "interface Serial0\n ip address 172.16.233.193 255.255.255.192\n ip nat outside\n"
        "ip nat pool net-208 172.16.233.208 172.16.233.209 netmask 255.255.255.240\n"
        "ip nat inside source list 1 pool net-208\n"
        "access-list 1 permit 10.1.1.0 0.0.0.255\n", "pool.cfg", HW)
    assert errors == []
    nat = NatEngine(cfg, addrs)
    r1 = out(nat, udp(H1, NET2, 5000, 53), 0)
    r2 = out(nat, tcp(H1, NET3, 1025, 23, SYN), 1 * SECOND)        # same host: same simple entry
    r3 = out(nat, echo(H2, NET1), 1 * SECOND)
    r4 = out(nat, echo(IPv4Address("10.1.1.4"), NET1), 1 * SECOND)  # pool exhausted
    assert IPv4Packet.decode(r1.packet).src == IPv4Address("172.16.233.208")
    assert decode(r1.packet)[1].src_port == 5000             # no port translation
    assert r2.entry is r1.entry and not r2.created
    assert IPv4Packet.decode(r3.packet).src == IPv4Address("172.16.233.209")
    assert r4.dropped and r4.reason == "NAT pool net-208 exhausted"
    for r in (r1, r2, r3):
        assert scapy_checksums_ok(r.packet)
    assert show_translations(nat, 2 * SECOND) == (
        "Pro Inside global      Inside local       Outside local      Outside global\n"
        "--- 172.16.233.208     10.1.1.2           ---                ---\n"
        "--- 172.16.233.209     10.1.1.3           ---                ---\n")
    assert show_statistics(nat) == (
        "Total translations: 2 (0 static, 2 dynamic; 0 extended)\n"
        "Outside interfaces: Serial0\n"
        "Inside interfaces: Ethernet0\n"
        "Hits: 1  Misses: 3\n"
        "Expired translations: 0\n"
        "Dynamic mappings:\n"
        "-- Inside Source\n"
        "access-list 1 pool net-208 refcount 2\n"
        "pool net-208: netmask 255.255.255.240\n"
        "        start 172.16.233.208 end 172.16.233.209\n"
        "        type generic, total addresses 2, allocated 2 (100%), misses 1\n")
    assert nat.next_expiry() == (1 + 86400) * SECOND              # "timeout" for simple entries, from last use
    back_in = back(nat, udp(NET2, IPv4Address("172.16.233.209"), 53, 7777), 3 * SECOND)
    assert IPv4Packet.decode(back_in.packet).dst == H2
    assert nat.clear_inside("172.16.233.208", "10.1.1.2") == 1
    assert out(nat, echo(IPv4Address("10.1.1.4"), NET1), 4 * SECOND).translated


def test_icmp_error_from_outside_is_translated_back(nat):
    sent = out(nat, udp(H2, NET2, 5000, 33434), 0)
    out(nat, udp(H1, NET2, 5000, 33434), 0)               # H2 holds 5000: H1 gets 1024
    unreachable = ICMPMessage.dest_unreachable(3, sent.packet).encode()
    err = IPv4Packet(NET2, S0, 1, unreachable, identification=300).encode()
    r = back(nat, err, 500 * MS)
    assert r.translated
    outer, msg = decode(r.packet)                            # outer ICMP checksum verified
    assert outer.dst == H2
    inner = msg.payload
    assert internet_checksum(inner[:20]) == 0                # quoted header checksum patched
    assert inner[12:16] == H2.packed and int.from_bytes(inner[20:22], "big") == 5000
    assert scapy_checksums_ok(r.packet)
    # The quoted UDP checksum still verifies against the original datagram's data.
    original = udp(H2, NET2, 5000, 33434)
    assert inner[26:28] == original[26:28]


def test_fragments_follow_their_first_fragment(nat):
    payload = UDPDatagram(5000, 53, bytes(range(40))).encode(H1, NET2)
    first = IPv4Packet(H1, NET2, 17, payload[:24], identification=4242, flags=FLAG_MF).encode()
    second = IPv4Packet(H1, NET2, 17, payload[24:], identification=4242, fragment_offset=3).encode()
    r1 = out(nat, first, 0)
    r2 = out(nat, second, 0)
    assert r1.translated and r2.translated
    p1, p2 = IPv4Packet.decode(r1.packet), IPv4Packet.decode(r2.packet)
    assert p1.src == p2.src == S0
    UDPDatagram.decode(p1.payload + p2.payload, S0, NET2)   # reassembled checksum verifies
    lone = IPv4Packet(H2, NET2, 17, bytes(16), identification=1, fragment_offset=3).encode()
    r = out(nat, lone, 0)
    assert r.dropped and "fragment" in r.reason


def test_nat_ages_use_the_ios_stamp():
    assert iostime.stamp(0) == "00:00:00"
    assert iostime.stamp(SECOND - 1) == "00:00:00"
    assert iostime.stamp(86399 * SECOND) == "23:59:59"
    assert iostime.stamp((86400 + 7200) * SECOND) == "1d02h"
    assert iostime.stamp(8 * 86400 * SECOND) == "1w1d"
