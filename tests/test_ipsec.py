"""The crypto subsystem's data path: crypto maps, SA database, ESP, lifetimes, clear.

Two ``CryptoSubsystem``s run back to back in memory with the document's
configurations (the remote's Serial0 has the address IPCP gives it in the
document, 100.100.100.1), on a fake clock, with a loop that carries the IKE
datagrams between them.  """

from __future__ import annotations

import random
import shutil
import struct
import subprocess
import warnings
from ipaddress import IPv4Address

import pytest

from emulator.cli import crypto_show
from emulator.engines.ipsec import CLEAR, DECRYPTED, DROP, PROTECTED
from emulator.labtime import SECOND
from emulator.wire.ipv4 import IPv4Packet

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from scapy.layers.inet import IP, UDP
    from scapy.layers.ipsec import ESP, SecurityAssociation

from support.ipsec_pair import FIXTURES, HARDWARE, HUB_WAN, REMOTE_WAN, Pair, Side, edit, fixture_text, icmp  # noqa: F401


def test_first_packet_dropped_then_tunnel_up_and_both_directions_protected():
    p = Pair()
    req = icmp("10.1.1.1", "10.2.2.3")
    first = p.remote.sub.outbound("Serial0", req, p.now)
    assert first.action == DROP and "IKE" in first.reason
    queued = p.remote.sub.datagrams_to_send()
    assert len(queued) == 1
    src, dst, sport, dport, mm1 = queued[0]
    assert (src, dst, sport, dport) == (REMOTE_WAN, HUB_WAN, 500, 500)
    p.hub.sub.receive_ike("Serial0", src, dst, sport, dport, mm1, p.now)
    p.run()
    assert p.ike_datagrams == 9 - 1  # MM1..MM6 and QM1..QM3, MM1 delivered by hand

    out, got = p.send(p.remote, req)
    assert out.action == PROTECTED
    outer = IPv4Packet.decode(out.packet)
    assert (outer.src, outer.dst, outer.protocol, outer.ttl) == (REMOTE_WAN, HUB_WAN, 50, 255)
    spi = struct.unpack_from("!I", outer.payload)[0]
    assert spi == p.remote.flow().current_outbound.spi == p.hub.flow().inbound[0].spi
    assert got.action == DECRYPTED and got.packet == req

    reply = icmp("10.2.2.3", "10.1.1.1", type_=0)
    out, back = p.send(p.hub, reply)
    assert out.action == PROTECTED
    assert IPv4Packet.decode(out.packet).src == HUB_WAN
    assert back.action == DECRYPTED and back.packet == reply
    p.no_errors()


def test_counters_mirror_each_other_and_first_drop_is_a_send_error():
    p = Pair()
    p.up()
    assert p.ping(5) == 5
    r, h = p.remote.flow(), p.hub.flow()
    assert (r.encaps, r.encrypt, r.digest) == (5, 5, 5)
    assert (h.decaps, h.decrypt, h.verify) == (5, 5, 5)
    assert (h.encaps, r.decaps) == (5, 5)
    assert r.send_errors == 1 and h.send_errors == 0
    assert h.inbound[0].remaining_kb() == 4607999  # 500 bytes: as in the document's sample
    assert r.recv_errors == h.recv_errors == 0
    # the engine view agrees (reference §4.4): inbound Decrypt == peer's outbound Encrypt
    r_out, h_in = r.current_outbound, h.inbound[0]
    assert r_out.packets == h_in.packets == 5
    assert r_out.spi == h_in.spi and h.current_outbound.spi == r.inbound[0].spi


def test_packets_during_negotiation_are_dropped_and_counted_without_a_second_negotiation():
    p = Pair()
    for n in range(3):
        out = p.remote.sub.outbound("Serial0", icmp("10.1.1.1", "10.2.2.3", seq=n), p.now)
        assert out.action == DROP
    assert len(p.remote.sub.datagrams_to_send()) == 1  # one MM1 only
    assert [f.send_errors for f in p.remote.sub.flows()] == [3]


def test_hub_cannot_initiate():
    p = Pair()
    out = p.hub.sub.outbound("Serial0", icmp("10.2.2.3", "10.1.1.1"), p.now)
    assert out.action == DROP and out.reason == "no SA (dynamic map)"
    assert p.hub.sub.datagrams_to_send() == []
    assert p.hub.sub.ike.sas() == [] and p.hub.sub.sas() == []
    assert p.hub.sub.drops == {"no SA (dynamic map)": 1}
    # traffic the dynamic map's ACL denies goes clear (NAT'd to the Internet in the document)
    out = p.hub.sub.outbound("Serial0", icmp("10.2.2.3", "198.51.100.7"), p.now)
    assert out.action == CLEAR


def test_hub_replies_through_existing_sa_once_remote_built_it():
    p = Pair()
    p.up()
    out = p.hub.sub.outbound("Serial0", icmp("10.2.2.9", "10.1.1.77"), p.now)
    assert out.action == PROTECTED
    assert p.remote.sub.inbound("Serial0", out.packet, p.now).action == DECRYPTED


def test_traffic_not_permitted_by_the_crypto_acl_goes_clear():
    p = Pair()
    for pkt in (icmp("10.1.1.1", "198.51.100.7"), icmp("100.100.100.1", "99.99.99.1"),
                icmp("10.1.1.1", "10.3.3.3")):
        assert p.remote.sub.outbound("Serial0", pkt, p.now).action == CLEAR
    assert p.remote.sub.outbound("Ethernet0", icmp("10.1.1.1", "10.2.2.3"), p.now).action == CLEAR
    assert p.remote.sub.datagrams_to_send() == []


def test_router_own_ike_and_esp_are_never_caught_by_the_map():
    permit_all = edit(fixture_text("dr_whoovie"), "access-list 115 permit ip 10.1.1.0 0.0.0.255 10.2.2.0 0.0.0.255",
                      "access-list 115 permit ip any any")
    p = Pair(remote_text=permit_all)
    ike = bytes(IP(src=str(REMOTE_WAN), dst=str(HUB_WAN)) / UDP(sport=500, dport=500) / (b"\0" * 28))
    assert p.remote.sub.outbound("Serial0", ike, p.now).action == CLEAR
    esp = bytes(IP(src=str(REMOTE_WAN), dst=str(HUB_WAN), proto=50) / (b"\0" * 40))
    assert p.remote.sub.outbound("Serial0", esp, p.now).action == CLEAR
    # someone else's UDP 500 is ordinary traffic for a permit-any ACL
    other = bytes(IP(src="10.1.1.5", dst=str(HUB_WAN)) / UDP(sport=500, dport=500) / b"x")
    assert p.remote.sub.outbound("Serial0", other, p.now).action == DROP


def test_remote_without_address_yet_does_not_start_ike_then_uses_the_ipcp_address():
    p = Pair(remote_address=None)
    out = p.remote.sub.outbound("Serial0", icmp("10.1.1.1", "10.2.2.3"), p.now)
    assert out.action == DROP
    assert p.remote.sub.datagrams_to_send() == []
    p.remote.address = IPv4Address("100.100.100.9")  # IPCP gave an address
    out = p.remote.sub.outbound("Serial0", icmp("10.1.1.1", "10.2.2.3"), p.now)
    assert out.action == DROP
    dgrams = p.remote.sub.datagrams_to_send()
    assert dgrams[0][0] == IPv4Address("100.100.100.9")
    p.hub.sub.receive_ike("Serial0", *dgrams[0][:4], dgrams[0][4], p.now)
    p.run()
    assert p.hub.flow().peer == IPv4Address("100.100.100.9")
    assert p.ping(2) == 2


# ----------------------------------------------------------------------------- failures

def test_psk_mismatch_gives_no_sa_and_the_ios_symptoms():
    hub = edit(fixture_text("sam-i-am"), "crypto isakmp key cisco123", "crypto isakmp key wrongkey")
    p = Pair(hub_text=hub)
    p.send(p.remote, icmp("10.1.1.1", "10.2.2.3"))
    p.run()
    assert p.hub.sub.sas() == [] and p.remote.sub.sas() == []
    assert [s.state for s in p.remote.sub.ike.sas()] == ["MM_KEY_EXCH"]
    assert [s.state for s in p.hub.sub.ike.sas()] == ["MM_KEY_EXCH"]
    assert any("%CRYPTO-4-IKMP_BAD_MESSAGE: IKE message from 100.100.100.1 failed its sanity check" in m
               for m in p.hub.logs)
    assert "QM_IDLE" not in crypto_show.show_crypto_isakmp_sa(p.remote.sub, p.now)
    p.run(15 * SECOND)  # retransmissions
    assert "retransmitting phase 1 MM_KEY_EXCH" in p.remote.debug_text()
    p.run(120 * SECOND)  # death by retransmission
    assert p.remote.sub.ike.sas() == [] and p.hub.sub.ike.sas() == []
    assert 'death by retransmission P1' in p.remote.debug_text()
    # the flow is free to try again with the next packet
    out = p.remote.sub.outbound("Serial0", icmp("10.1.1.1", "10.2.2.3"), p.now)
    assert out.action == DROP and len(p.remote.sub.datagrams_to_send()) == 1
    p.no_errors()


def test_transform_set_mismatch_gives_no_ipsec_sa():
    hub = edit(fixture_text("sam-i-am"), "crypto ipsec transform-set rtpset esp-des esp-md5-hmac",
               "crypto ipsec transform-set rtpset esp-3des esp-sha-hmac")
    p = Pair(hub_text=hub)
    p.send(p.remote, icmp("10.1.1.1", "10.2.2.3"))
    p.run()
    assert p.hub.sub.sas() == [] and p.remote.sub.sas() == []
    assert [s.state for s in p.hub.sub.ike.sas()] == ["QM_IDLE"]  # phase 1 is fine
    assert "IPSEC(validate_proposal_request): proposal part #1" in p.hub.debug_text("crypto ipsec")
    assert "transform proposal (prot 3, trans 2, hmac_alg 1) not supported" in p.hub.debug_text()
    assert any("IKMP_MODE_FAILURE: Processing of Quick mode failed with peer at 100.100.100.1" in m
               for m in p.hub.logs)
    assert "processing NOTIFY PROPOSAL_NOT_CHOSEN protocol 3" in p.remote.debug_text()
    # the next packet asks again (a new quick mode on the same IKE SA)
    out, _ = p.send(p.remote, icmp("10.1.1.1", "10.2.2.3"))
    assert out.action == DROP
    assert len(p.remote.sub.datagrams_to_send()) == 1
    assert [f.send_errors for f in p.remote.sub.flows()] == [2]
    p.no_errors()


def test_proxy_identity_mismatch_gives_invalid_id_information():
    hub = edit(fixture_text("sam-i-am"), "access-list 115 permit ip 10.2.2.0 0.0.0.255 10.1.1.0 0.0.0.255",
               "access-list 115 permit ip 10.2.2.0 0.0.0.255 10.9.9.0 0.0.0.255")
    p = Pair(hub_text=hub)
    p.send(p.remote, icmp("10.1.1.1", "10.2.2.3"))
    p.run()
    assert p.hub.sub.sas() == []
    assert "IPSEC(validate_transform_proposal): proxy identities not supported" in p.hub.debug_text()
    assert "processing NOTIFY INVALID_ID_INFO protocol 3" in p.remote.debug_text()


def test_narrower_dynamic_acl_does_not_cover_the_offer():
    hub = edit(fixture_text("sam-i-am"), "access-list 115 permit ip 10.2.2.0 0.0.0.255 10.1.1.0 0.0.0.255",
               "access-list 115 permit ip host 10.2.2.3 10.1.1.0 0.0.0.255")
    p = Pair(hub_text=hub)
    p.send(p.remote, icmp("10.1.1.1", "10.2.2.3"))
    p.run()
    assert p.hub.sub.sas() == []


def test_dynamic_map_without_acl_accepts_the_peer_proxies():
    hub = edit(fixture_text("sam-i-am"), "match address 115\n", "\n")
    p = Pair(hub_text=hub)
    p.up()
    assert p.ping(3) == 3
    # without an ACL the hub has nothing that makes it drop other traffic
    assert p.hub.sub.outbound("Serial0", icmp("10.2.2.3", "10.8.8.8"), p.now).action == CLEAR


# ----------------------------------------------------------------------------- bad input

def test_corrupted_esp_packet_is_dropped_with_the_icv_counter():
    p = Pair()
    p.up()
    out = p.remote.sub.outbound("Serial0", icmp("10.1.1.1", "10.2.2.3"), p.now)
    bad = bytearray(out.packet)
    bad[40] ^= 0x01  # inside the ciphertext
    got = p.hub.sub.inbound("Serial0", bytes(bad), p.now)
    assert got.action == DROP and got.reason == "ICV check failed"
    f = p.hub.flow()
    assert (f.recv_errors, f.verify_failed, f.decaps) == (1, 1, 0)
    assert any(m.startswith("%CRYPTO-4-RECVD_PKT_MAC_ERR: decrypt: mac verify failed for connection id=2000")
               for m in p.hub.logs)
    # the genuine packet still passes (its sequence number was not consumed)
    assert p.hub.sub.inbound("Serial0", out.packet, p.now).action == DECRYPTED
    assert "#pkts verify failed: 1" in crypto_show.show_crypto_ipsec_sa(p.hub.sub, p.now, detail=True)
    assert "#recv errors 1" in crypto_show.show_crypto_ipsec_sa(p.hub.sub, p.now)


def test_replayed_esp_packet_is_dropped():
    p = Pair()
    p.up()
    out, got = p.send(p.remote, icmp("10.1.1.1", "10.2.2.3"))
    assert got.action == DECRYPTED
    again = p.hub.sub.inbound("Serial0", out.packet, p.now)
    assert again.action == DROP and again.reason == "replayed packet"
    f = p.hub.flow()
    assert (f.replay_failed, f.recv_errors, f.decaps) == (1, 1, 1)
    assert any("PKT_REPLAY_ERR" in m for m in p.hub.logs)


def test_unknown_spi_is_dropped_and_logged_once_a_minute():
    p = Pair()
    p.up()
    esp = struct.pack("!II", 0x1234567, 1) + bytes(40)
    pkt = bytes(IP(src=str(REMOTE_WAN), dst=str(HUB_WAN), proto=50) / esp)
    for _ in range(3):
        got = p.hub.sub.inbound("Serial0", pkt, p.now)
        assert got.action == DROP and got.reason == "invalid SPI"
    inv = [m for m in p.hub.logs if "RECVD_PKT_INV_SPI" in m]
    assert inv == ["%CRYPTO-4-RECVD_PKT_INV_SPI: decaps: rec'd IPSEC packet has invalid spi for "
                   "destaddr=99.99.99.1, prot=50, spi=0x1234567(19088743), srcaddr=100.100.100.1"]
    p.now += 61 * SECOND
    p.hub.sub.inbound("Serial0", pkt, p.now)
    assert len([m for m in p.hub.logs if "RECVD_PKT_INV_SPI" in m]) == 2
    assert p.hub.sub.drops["invalid SPI"] == 4
    # ESP in transit (not to this interface's address) is not ours to judge
    transit = bytes(IP(src="1.2.3.4", dst="5.6.7.8", proto=50) / esp)
    assert p.hub.sub.inbound("Serial0", transit, p.now).action == CLEAR


def test_cleartext_packet_of_a_protected_flow_is_dropped_only_once_an_sa_exists():
    p = Pair()
    clear = icmp("10.1.1.1", "10.2.2.3")
    assert p.hub.sub.inbound("Serial0", clear, p.now).action == CLEAR
    p.up()
    got = p.hub.sub.inbound("Serial0", clear, p.now)
    assert got.action == DROP
    assert any(m.startswith("%CRYPTO-4-RECVD_PKT_NOT_IPSEC: Rec'd packet not an IPSEC packet.") for m in p.hub.logs)
    assert p.hub.sub.inbound("Serial0", icmp("10.1.1.1", "10.7.7.7"), p.now).action == CLEAR
    ike = bytes(IP(src=str(REMOTE_WAN), dst=str(HUB_WAN)) / UDP(sport=500, dport=500) / b"x")
    assert p.hub.sub.inbound("Serial0", ike, p.now).action == CLEAR


def test_decrypted_packet_outside_the_proxy_identities_is_dropped():
    p = Pair()
    p.up()
    sa = p.remote.flow().current_outbound
    inner = icmp("10.9.9.9", "10.2.2.3")  # source outside 10.1.1.0/24
    body = sa.esp.protect(inner, random.Random(1))
    pkt = bytes(IP(src=str(REMOTE_WAN), dst=str(HUB_WAN), proto=50) / body)
    got = p.hub.sub.inbound("Serial0", pkt, p.now)
    assert got.action == DROP
    assert p.hub.flow().invalid_identity == 1 and p.hub.flow().recv_errors == 1


def test_garbage_never_raises():
    p = Pair()
    p.up()
    rng = random.Random(3)
    for _ in range(200):
        junk = rng.randbytes(rng.randrange(0, 120))
        p.hub.sub.receive_ike("Serial0", REMOTE_WAN, HUB_WAN, 500, 500, junk, p.now)
        p.hub.sub.inbound("Serial0", junk, p.now)
        p.hub.sub.outbound("Serial0", junk, p.now)
    # a truncated copy of every real datagram of a fresh negotiation
    q = Pair(seed=5)
    q.send(q.remote, icmp("10.1.1.1", "10.2.2.3"))
    for src, dst, sp, dp, payload in q.remote.sub.datagrams_to_send():
        for cut in range(0, len(payload), 7):
            q.hub.sub.receive_ike("Serial0", src, dst, sp, dp, payload[:cut], q.now)
    esp = bytes(IP(src=str(REMOTE_WAN), dst=str(HUB_WAN), proto=50) / b"\x00\x00")
    assert p.hub.sub.inbound("Serial0", esp, p.now).action == DROP
    p.no_errors()
    assert q.hub.sub.errors == []
    assert p.hub.sub.ike.stats.get("malformed", 0) > 0


# ----------------------------------------------------------------------------- lifetimes

def test_lifetimes_count_down_and_expire():
    p = Pair()
    p.up()
    t0 = p.now
    sa = p.hub.flow().inbound[0]
    assert (sa.remaining_kb(), sa.remaining_seconds(p.now)) == (4608000, 3600)
    p.now = t0 + 90 * SECOND
    assert sa.remaining_seconds(p.now) in (3509, 3510)
    assert p.hub.sub.get_timer() is not None
    # the SAs carried no traffic: no rekey (reference §4.2), they die at 3600 s on both sides
    p.run(3600 * SECOND)
    assert p.hub.sub.sas() == [] and p.remote.sub.sas() == []
    assert "IPSEC(delete_sa): deleting SA" in p.hub.debug_text()
    # temporary entry gone with its SAs
    assert "65536" not in crypto_show.show_crypto_map(p.hub.sub)
    # the next packet negotiates again; the IKE SA (86400 s) is still there, so quick mode only
    out, _ = p.send(p.remote, icmp("10.1.1.1", "10.2.2.3"))
    assert out.action == DROP
    before = p.ike_datagrams
    p.run()
    assert p.ike_datagrams - before == 3
    assert [sa.conn_id for sa in p.remote.sub.sas()] == [2002, 2003]  # numbers keep increasing
    p.no_errors()


def test_soft_lifetime_rekeys_a_busy_tunnel_without_loss():
    p = Pair()
    p.up()
    first_out = p.remote.flow().current_outbound.spi
    lost = 0
    for _ in range(75):  # a ping every minute for 75 minutes
        lost += 1 - p.ping(1)
        p.run(60 * SECOND)
    assert lost == 0
    f = p.remote.flow()
    assert f.current_outbound.spi != first_out
    assert len(f.outbound) == 1 and len(p.hub.flow().outbound) == 1  # old pairs expired
    assert p.remote.flow().send_errors == 1
    p.no_errors()


def test_kilobyte_lifetime_counts_inner_bytes():
    text = edit(fixture_text("dr_whoovie"), "crypto ipsec transform-set rtpset esp-des esp-md5-hmac",
                "crypto ipsec transform-set rtpset esp-des esp-md5-hmac\n"
                "crypto ipsec security-association lifetime kilobytes 2560")
    p = Pair(remote_text=text)
    p.up()
    assert p.remote.flow().current_outbound.lifetime_kb == 2560
    assert p.hub.flow().current_outbound.lifetime_kb == 2560  # the smaller value, RESPONDER side agrees
    big = icmp("10.1.1.1", "10.2.2.3", size=1400)
    sent = 0
    while p.remote.flow().current_outbound.remaining_kb() > 200:
        p.send(p.remote, big)
        sent += 1400
    sa = p.remote.flow().current_outbound
    assert sa.remaining_kb() == 2560 - -(-sent // 1024)
    p.run()  # 90 % reached: a new pair was negotiated
    assert len(p.remote.flow().outbound) == 2


# ----------------------------------------------------------------------------- clear

def test_clear_crypto_sa_removes_sas_on_both_sides_and_needs_a_new_negotiation():
    p = Pair()
    p.up()
    p.ping(2)
    p.hub.sub.clear_crypto_sa(p.now)
    assert p.hub.sub.sas() == [] and p.hub.sub.flows() == []
    assert "65536" not in crypto_show.show_crypto_map(p.hub.sub)
    p.run()  # the DELETE notify
    assert p.remote.sub.sas() == []
    assert "rec'd delete notify from ISAKMP" in p.remote.debug_text()
    assert [s.state for s in p.remote.sub.ike.sas()] == ["QM_IDLE"]  # IKE SAs stay
    out, _ = p.send(p.remote, icmp("10.1.1.1", "10.2.2.3"))
    assert out.action == DROP
    p.run()
    assert p.ping(3) == 3
    assert "65537" in crypto_show.show_crypto_map(p.hub.sub)  # a new temporary entry


def test_clear_crypto_sa_peer_and_map_select_what_they_name():
    p = Pair()
    p.up()
    p.hub.sub.clear_crypto_sa(p.now, peer="1.2.3.4")
    p.hub.sub.clear_crypto_sa(p.now, map="other")
    assert len(p.hub.sub.sas()) == 2
    p.hub.sub.clear_crypto_sa(p.now, peer=REMOTE_WAN)
    assert p.hub.sub.sas() == []
    p.run()
    p.remote.sub.clear_crypto_sa(p.now, map="rtp")
    assert p.remote.sub.sas() == []


def test_clear_crypto_sa_counters_keeps_the_sas():
    p = Pair()
    p.up()
    p.ping(3)
    p.remote.sub.clear_crypto_sa(p.now, counters=True)
    f = p.remote.flow()
    assert (f.encaps, f.decaps, f.send_errors) == (0, 0, 0)
    assert p.ping(1) == 1 and f.encaps == 1


def test_clear_crypto_isakmp_keeps_ipsec_sas():
    p = Pair()
    p.up()
    assert p.remote.sub.clear_crypto_isakmp(p.now)
    p.run()
    assert p.remote.sub.ike.sas() == [] and p.hub.sub.ike.sas() == []  # the peer got the DELETE
    assert p.ping(3) == 3
    assert p.remote.sub.clear_crypto_isakmp(p.now, conn_id=7) is False


# ----------------------------------------------------------------------------- independent readers

def test_scapy_decrypts_a_protected_packet_with_the_sa_keys():
    p = Pair()
    p.up()
    req = icmp("10.1.1.1", "10.2.2.3", seq=9)
    out = p.remote.sub.outbound("Serial0", req, p.now)
    sa = p.remote.flow().current_outbound
    assert sa.transform.text == "esp-des esp-md5-hmac"
    oracle = SecurityAssociation(ESP, spi=sa.spi, crypt_algo="DES", crypt_key=sa.esp.enc_key,
                                 auth_algo="HMAC-MD5-96", auth_key=sa.esp.auth_key,
                                 tunnel_header=IP(src=str(REMOTE_WAN), dst=str(HUB_WAN)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        inner = oracle.decrypt(IP(out.packet))
    assert bytes(inner) == req
    # and the hub's inbound SA has the same keys: one KEYMAT per SPI on both sides
    h = p.hub.flow().inbound[0].esp
    assert (h.spi, h.enc_key, h.auth_key) == (sa.spi, sa.esp.enc_key, sa.esp.auth_key)


def _tshark(args: list[str]) -> str:
    r = subprocess.run(["tshark", *args], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return r.stdout


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed (apt-get install tshark)")
def test_tshark_decrypts_the_esp_and_isakmp_of_the_capture(tmp_path):
    p = Pair()
    p.up()
    assert p.ping(2) == 2
    path = tmp_path / "tunnel.pcap"
    path.write_bytes(p.pcap())
    rows = [sa.wireshark_row() for sa in p.remote.sub.sas()]
    esp_opts = ["-o", "esp.enable_encryption_decode:TRUE", "-o", "esp.enable_authentication_check:TRUE"]
    for row in rows:
        esp_opts += ["-o", f"uat:esp_sa:{row}"]
    out = _tshark(["-r", str(path), *esp_opts, "-Y", "esp", "-T", "fields", "-e", "esp.icv_good",
                   "-e", "esp.icv_bad", "-e", "ip.src", "-e", "ip.dst", "-e", "icmp.type"])
    lines = [line.split("\t") for line in out.strip().splitlines()]
    assert len(lines) == 4
    assert all(line[0] == "1" and line[1] in ("", "0") for line in lines)
    # the inner ICMP is dissected after decryption: ip.src lists outer then inner
    assert {line[4] for line in lines} == {"8", "0"}
    assert all("10.1.1.1" in line[2] or "10.2.2.3" in line[2] for line in lines)
    # ISAKMP: decrypt main mode 5/6 and quick mode with the phase 1 key
    ike = p.remote.sub.ike.sas()[0]
    text = _tshark(["-r", str(path), "-o", f"uat:ikev1_decryption_table:{ike.keys.wireshark_row(ike.icookie)}",
                    "-Y", "isakmp", "-V"])
    assert "Identification" in text and "100.100.100.1" in text
    # quick mode decrypted too: IDci / IDcr are the crypto ACL's subnets
    assert "Identification Data:10.1.1.0/255.255.255.0" in text
    assert "Identification Data:10.2.2.0/255.255.255.0" in text


# ----------------------------------------------------------------------------- determinism and cost

def test_same_seed_same_bytes():
    a, b = Pair(seed=7), Pair(seed=7)
    for p in (a, b):
        p.up()
        p.ping(2)
    assert a.wire == b.wire
    c = Pair(seed=8)
    c.up()
    assert c.wire[0][1] != a.wire[0][1]



# ----------------------------------------------------------------------------- quiet data path

def test_the_data_path_is_quiet_exactly_when_a_poke_would_find_nothing_to_do():
    """``quiet`` lets the owner leave out the binding's poke: only a packet passed, protected or decrypted
    with no SA expiring, no re-key and nothing for IKE; a drop that starts IKE, or a re-key, is not quiet."""
    text = edit(fixture_text("dr_whoovie"), "crypto ipsec transform-set rtpset esp-des esp-md5-hmac",
                "crypto ipsec transform-set rtpset esp-des esp-md5-hmac\n"
                "crypto ipsec security-association lifetime kilobytes 2560")
    p = Pair(remote_text=text)
    remote, hub = p.remote.sub, p.hub.sub
    first = remote.outbound("Serial0", icmp("10.1.1.1", "10.2.2.3"), p.now)
    assert first.action == DROP and not remote.quiet          # IKE was asked for SAs
    p.run()
    assert remote.outbound("Ethernet0", icmp("10.1.1.1", "10.2.2.3"), p.now).action == CLEAR and remote.quiet
    timer = remote.get_timer()
    out = remote.outbound("Serial0", icmp("10.1.1.1", "10.2.2.3"), p.now)
    assert out.action == PROTECTED and remote.quiet
    assert hub.inbound("Serial0", out.packet, p.now).action == DECRYPTED and hub.quiet
    assert remote.get_timer() == timer and remote.datagrams_to_send() == []
    assert hub.inbound("Serial0", out.packet, p.now).action == DROP and not hub.quiet      # a replay
    big = icmp("10.1.1.1", "10.2.2.3", size=1400)
    quiet = 0
    while quiet < 5000:
        out = remote.outbound("Serial0", big, p.now)
        assert out.action == PROTECTED
        if not remote.quiet:
            break
        quiet += 1
    sa = p.remote.flow().current_outbound
    # the packet that reached the soft limit (the ones before it were quiet)
    assert sa.rekeyed and quiet > 1 and sa.esp.octets - 1400 < sa.soft_bytes <= sa.esp.octets
    assert remote.datagrams_to_send()                               # the re-key's quick mode, for the poke
    p.no_errors()
