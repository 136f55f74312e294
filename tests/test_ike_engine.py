"""IKEv1 main mode + quick mode between two crypto subsystems: negotiation, failures, retransmission.

Uses the back-to-back ``Pair`` of test_ipsec.py (the document's two configs,
a fake clock, an in-memory loop for the UDP 500 datagrams).
"""

from __future__ import annotations

import warnings
from ipaddress import IPv4Address

from emulator.cli import crypto_show
from emulator.engines.ike.engine import MAX_RETRANSMITS, RETRANSMIT_INTERVAL
from emulator.engines.ike.policy import Phase1Proposal, ProxyId
from emulator.engines.ipsec import DECRYPTED, DROP, PROTECTED
from emulator.labtime import SECOND
from emulator.wire import isakmp as K
from support.ipsec_pair import HUB_WAN, REMOTE_WAN, Pair, edit, fixture_text, icmp

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from scapy.layers.inet import IP
    from scapy.layers.ipsec import ESP, SecurityAssociation
    from scapy.layers.isakmp import ISAKMP

HUB = fixture_text("sam-i-am")
REMOTE = fixture_text("dr_whoovie")


def negotiate(p: Pair) -> None:
    out, _ = p.send(p.remote, icmp("10.1.1.1", "10.2.2.3"))
    assert out.action == DROP
    p.run()


def ike_payloads(p: Pair) -> list[tuple[str, str, int]]:
    """(src, exchange, first payload) of every ISAKMP datagram on the wire, read by scapy."""
    out = []
    for _, pkt in p.wire:
        ip = IP(pkt)
        if ip.proto == 17:
            isakmp = ISAKMP(bytes(ip.payload.payload))
            out.append((ip.src, isakmp.exch_type, isakmp.next_payload))
    return out


# ----------------------------------------------------------------------------- the exchange

def test_main_mode_and_quick_mode_on_the_wire():
    p = Pair()
    negotiate(p)
    seen = ike_payloads(p)
    r, h = str(REMOTE_WAN), str(HUB_WAN)
    # scapy reads the exchange types and first payloads independently of our codec
    assert seen == [(r, 2, K.PT_SA), (h, 2, K.PT_SA), (r, 2, K.PT_KE), (h, 2, K.PT_KE),
                    (r, 2, K.PT_ID), (h, 2, K.PT_ID), (r, 32, K.PT_HASH), (h, 32, K.PT_HASH), (r, 32, K.PT_HASH)]
    mm1 = K.IsakmpMessage.decode(bytes(IP(p.wire[0][1]).payload.payload))
    (transform,) = mm1.first(K.SAPayload).proposals[0].transforms
    offer, _, reason = Phase1Proposal.from_transform(transform)
    assert reason == ""
    assert (offer.encryption, offer.hash, offer.auth, offer.group, offer.lifetime) == (
        K.ENC_DES_CBC, K.HASH_MD5, K.AUTH_PRE_SHARED, 1, 86400)
    # MM5 onwards are encrypted
    assert [K.IsakmpMessage.decode(bytes(IP(w).payload.payload)).encrypted for _, w in p.wire[:9]] == \
        [False] * 4 + [True] * 5
    r_ike, h_ike = p.remote.sub.ike.sas()[0], p.hub.sub.ike.sas()[0]
    assert (r_ike.state, h_ike.state) == ("QM_IDLE", "QM_IDLE")
    assert (r_ike.initiator, h_ike.initiator) == (True, False)
    assert r_ike.keys.skeyid_d == h_ike.keys.skeyid_d and r_ike.icookie == h_ike.icookie
    assert (r_ike.dst, r_ike.src) == (h_ike.dst, h_ike.src) == (HUB_WAN, REMOTE_WAN)
    assert r_ike.expires_at == r_ike.established_at + 86400 * SECOND


def test_initiator_debug_follows_the_12_2_sequence():
    p = Pair()
    negotiate(p)
    lines = [t.splitlines()[0] for c, t in p.remote.debugs]
    order = ["IPSEC(sa_request): ,", "ISAKMP: received ke message (1/1)", "ISAKMP: local port 500, remote port 500",
             "ISAKMP (0:1): beginning Main Mode exchange",
             "ISAKMP (0:1): sending packet to 99.99.99.1 (I) MM_NO_STATE",
             "ISAKMP (0:1): received packet from 99.99.99.1 (I) MM_NO_STATE",
             "ISAKMP (0:1): processing SA payload. message ID = 0",
             "ISAKMP (0:1): found peer pre-shared key matching 99.99.99.1",
             "ISAKMP (0:1): Checking ISAKMP transform 1 against priority 1 policy",
             "ISAKMP:      encryption DES-CBC", "ISAKMP:      hash MD5", "ISAKMP:      default group 1",
             "ISAKMP:      auth pre-share",
             "ISAKMP (0:1): atts are acceptable. Next payload is 0",
             "CryptoEngine0: generate alg parameter", "CRYPTO_ENGINE: Dh phase 1 status: 0",
             "ISAKMP (0:1): SA is doing pre-shared key authentication using id type ID_IPV4_ADDR",
             "ISAKMP (0:1): sending packet to 99.99.99.1 (I) MM_SA_SETUP",
             "ISAKMP (0:1): sending packet to 99.99.99.1 (I) MM_KEY_EXCH",
             "ISAKMP (0:1): SA has been authenticated with 99.99.99.1",
             "ISAKMP (0:1): sending packet to 99.99.99.1 (I) QM_IDLE",
             "ISAKMP (0:1): Creating IPSec SAs", "IPSEC(initialize_sas): ,", "IPSEC(create_sa): sa created,"]
    pos = -1
    for want in order:
        assert want in lines[pos + 1:], want
        pos = lines.index(want, pos + 1)
    assert any(line.startswith("ISAKMP (0:1): beginning Quick Mode exchange, M-ID of ") for line in lines)
    hub = [t.splitlines()[0] for c, t in p.hub.debugs]
    assert hub[0] == "ISAKMP (0:0): received packet from 100.100.100.1 (N) NEW SA"
    assert "ISAKMP (0:1): sending packet to 100.100.100.1 (R) MM_SA_SETUP" in hub
    assert "ISAKMP (0:1): sending packet to 100.100.100.1 (R) QM_IDLE" in hub
    assert "IPSEC(validate_proposal_request): proposal part #1," in hub
    create = [t for c, t in p.hub.debugs if t.startswith("IPSEC(create_sa)")]
    sa_in = p.hub.flow().inbound[0]
    assert create[0] == ("IPSEC(create_sa): sa created,\n  (sa) sa_dest= 99.99.99.1, sa_prot= 50, \n"
                         f"    sa_spi= 0x{sa_in.spi:X}({sa_in.spi}),\n"
                         "    sa_trans= esp-des esp-md5-hmac , sa_conn_id= 2000")


# ----------------------------------------------------------------------------- loss and retransmission

def test_lost_mm2_is_recovered_by_retransmission_after_10_seconds():
    p = Pair()
    lost = []

    def lose(src, dst, payload):
        if src == HUB_WAN and not lost:
            lost.append(payload)
            return True
        return False
    p.lose = lose
    negotiate(p)
    assert p.remote.sub.sas() == []
    assert [s.state for s in p.remote.sub.ike.sas()] == ["MM_NO_STATE"]
    t0 = p.now
    p.run(RETRANSMIT_INTERVAL + SECOND)
    assert "ISAKMP (0:1): retransmitting phase 1 MM_NO_STATE..." in p.remote.debug_text()
    # the hub got MM1 twice: the copy is answered with the same MM2
    assert "phase 1 packet is a duplicate of a previous packet." in p.hub.debug_text()
    assert len(p.remote.sub.sas()) == len(p.hub.sub.sas()) == 2
    assert p.now - t0 <= RETRANSMIT_INTERVAL + SECOND


def test_lost_mm6_makes_the_responder_answer_the_copy_of_mm5():
    p = Pair()
    seen = []

    def lose(src, dst, payload):
        msg = K.IsakmpMessage.decode(payload)
        if src == HUB_WAN and msg.encrypted and msg.exchange == K.EXCH_MAIN_MODE and not seen:
            seen.append(1)
            return True
        return False
    p.lose = lose
    negotiate(p)
    assert [s.state for s in p.hub.sub.ike.sas()] == ["QM_IDLE"]
    assert [s.state for s in p.remote.sub.ike.sas()] == ["MM_KEY_EXCH"]
    p.run(RETRANSMIT_INTERVAL + SECOND)
    assert len(p.remote.sub.sas()) == 2
    p.no_errors()


def test_lost_qm3_delays_the_responder_sas_until_qm2_is_retransmitted():
    p = Pair()
    seen = []

    def lose(src, dst, payload):
        msg = K.IsakmpMessage.decode(payload)
        if src == REMOTE_WAN and msg.exchange == K.EXCH_QUICK_MODE and len(payload) < 100 and not seen:
            seen.append(1)  # QM3 is HDR + HASH(3)
            return True
        return False
    p.lose = lose
    negotiate(p)
    assert len(p.remote.sub.sas()) == 2 and p.hub.sub.sas() == []
    out, got = p.send(p.remote, icmp("10.1.1.1", "10.2.2.3"))
    assert out.action == PROTECTED and got.action == DROP and got.reason == "invalid SPI"
    p.run(RETRANSMIT_INTERVAL + SECOND)
    assert "phase 2 packet is a duplicate of a previous packet." in p.remote.debug_text()
    assert len(p.hub.sub.sas()) == 2
    assert p.ping(2) == 2


def test_unreachable_peer_dies_by_retransmission_and_frees_the_request():
    p = Pair()
    p.lose = lambda src, dst, payload: True
    negotiate(p)
    p.run(RETRANSMIT_INTERVAL * (MAX_RETRANSMITS + 1) + SECOND)
    text = p.remote.debug_text()
    assert text.count("retransmitting phase 1 MM_NO_STATE...") == MAX_RETRANSMITS
    assert 'deleting SA reason "death by retransmission P1"' in text
    assert p.remote.sub.ike.sas() == []
    out = p.remote.sub.outbound("Serial0", icmp("10.1.1.1", "10.2.2.3"), p.now)
    assert out.action == DROP and len(p.remote.sub.datagrams_to_send()) == 1  # a new attempt


# ----------------------------------------------------------------------------- phase 1 policy

def test_isakmp_policy_mismatch_fails_in_main_mode():
    hub = edit(HUB, "hash md5", "hash sha")
    p = Pair(hub_text=hub)
    negotiate(p)
    h = p.hub.debug_text()
    assert "ISAKMP (0:1): Hash algorithm offered does not match policy!" in h
    assert "ISAKMP (0:1): atts are not acceptable. Next payload is 0" in h
    assert "Checking ISAKMP transform 1 against priority 65535 policy" in h  # the default suite is tried last
    assert "ISAKMP (0:1): no offers accepted!" in h
    assert any("IKMP_MODE_FAILURE: Processing of Main mode failed with peer at 100.100.100.1" in m for m in p.hub.logs)
    assert "Notify has no hash. Rejected." in p.remote.debug_text()
    assert [s.state for s in p.remote.sub.ike.sas()] == ["MM_NO_STATE"]
    assert p.hub.sub.ike.sas() == []
    p.run(70 * SECOND)
    assert p.remote.sub.ike.sas() == []


def test_responder_takes_its_first_policy_that_matches_one_offer():
    remote = edit(REMOTE, "crypto isakmp policy 1\n", "crypto isakmp policy 1\n encryption 3des\n group 2\n"
                  " authentication pre-share\ncrypto isakmp policy 5\n")
    p = Pair(remote_text=remote)
    negotiate(p)
    assert "Checking ISAKMP transform 2 against priority 1 policy" in p.hub.debug_text()
    ike = p.hub.sub.ike.sas()[0]
    assert (ike.proposal.encryption, ike.proposal.group, ike.proposal.priority) == (K.ENC_DES_CBC, 1, 1)
    assert p.remote.sub.ike.sas()[0].proposal.priority == 5
    assert p.ping(1) == 1


def test_phase1_lifetime_offered_must_not_exceed_the_responders():
    shorter_hub = edit(HUB, "authentication pre-share", "authentication pre-share\nlifetime 3600")
    p = Pair(hub_text=shorter_hub)
    negotiate(p)
    assert p.hub.sub.ike.sas() == []
    assert "Lifetime offered is greater than policy!" in p.hub.debug_text()

    shorter_remote = edit(REMOTE, "authentication pre-share", "authentication pre-share\nlifetime 600")
    q = Pair(remote_text=shorter_remote)
    negotiate(q)
    h, r = q.hub.sub.ike.sas()[0], q.remote.sub.ike.sas()[0]
    assert h.proposal.lifetime == r.proposal.lifetime == 600


def test_ike_sa_expiry_keeps_the_ipsec_sas():
    both = "authentication pre-share\nlifetime 60"
    p = Pair(hub_text=edit(HUB, "authentication pre-share", both),
             remote_text=edit(REMOTE, "authentication pre-share", both))
    negotiate(p)
    p.run(61 * SECOND)
    assert p.remote.sub.ike.sas() == [] and p.hub.sub.ike.sas() == []
    assert "purging SA." in p.remote.debug_text() + p.hub.debug_text()
    assert len(p.hub.sub.sas()) == 2 and p.ping(2) == 2


def test_ike_and_esp_with_3des_sha_group2_and_aes():
    pol = "hash md5\nauthentication pre-share"
    new = "encryption 3des\nhash sha\nauthentication pre-share\ngroup 2"
    ts_old = "crypto ipsec transform-set rtpset esp-des esp-md5-hmac"
    ts_new = "crypto ipsec transform-set rtpset esp-aes esp-sha-hmac"
    hub = edit(edit(HUB, "hash md5\nauthentication pre-share", new), ts_old, ts_new)
    remote = edit(edit(REMOTE, " hash md5\nauthentication pre-share", new), ts_old, ts_new)
    assert pol  # both documents write the policy on two lines
    p = Pair(hub_text=hub, remote_text=remote)
    negotiate(p)
    ike = p.remote.sub.ike.sas()[0]
    assert (ike.proposal.encryption, ike.proposal.hash, ike.proposal.group) == (K.ENC_3DES_CBC, K.HASH_SHA, 2)
    sa = p.remote.flow().current_outbound
    assert sa.transform.text == "esp-aes esp-sha-hmac" and len(sa.esp.enc_key) == 16
    req = icmp("10.1.1.1", "10.2.2.3")
    out = p.remote.sub.outbound("Serial0", req, p.now)
    oracle = SecurityAssociation(ESP, spi=sa.spi, crypt_algo="AES-CBC", crypt_key=sa.esp.enc_key,
                                 auth_algo="HMAC-SHA1-96", auth_key=sa.esp.auth_key,
                                 tunnel_header=IP(src=str(REMOTE_WAN), dst=str(HUB_WAN)))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert bytes(oracle.decrypt(IP(out.packet))) == req
    assert p.hub.sub.inbound("Serial0", out.packet, p.now).action == DECRYPTED
    assert "IV size: 16 bytes" in crypto_show.show_crypto_ipsec_sa(p.hub.sub, p.now)


# ----------------------------------------------------------------------------- phase 2 policy

def test_pfs_group2_on_both_sides():
    hub = edit(HUB, "set transform-set rtpset\n", "set transform-set rtpset\nset pfs group2\n")
    remote = edit(REMOTE, "set transform-set rtpset \n", "set transform-set rtpset\nset pfs group2\n")
    p = Pair(hub_text=hub, remote_text=remote)
    negotiate(p)
    qm1 = [w for _, w in p.wire if len(w) > 300]  # quick mode with a 128-byte KE payload
    assert qm1
    assert p.remote.flow().current_outbound.transform.text == "esp-des esp-md5-hmac"
    assert p.ping(2) == 2
    assert "PFS (Y/N): Y" in crypto_show.show_crypto_map(p.remote.sub)


def test_pfs_required_by_the_responder_but_not_offered_is_refused():
    hub = edit(HUB, "set transform-set rtpset\n", "set transform-set rtpset\nset pfs group2\n")
    p = Pair(hub_text=hub)
    negotiate(p)
    assert p.hub.sub.sas() == []
    assert "PROPOSAL_NOT_CHOSEN" in p.remote.debug_text()


def test_second_transform_set_of_the_initiator_is_accepted():
    remote = edit(REMOTE, "crypto ipsec transform-set rtpset esp-des esp-md5-hmac",
                  "crypto ipsec transform-set rtpset esp-des esp-md5-hmac\n"
                  "crypto ipsec transform-set strong esp-3des esp-sha-hmac")
    remote = edit(remote, "set transform-set rtpset \n", "set transform-set strong rtpset\n")
    p = Pair(remote_text=remote)
    negotiate(p)
    sa = p.remote.flow().current_outbound
    assert (sa.transform_set, sa.transform.text) == ("rtpset", "esp-des esp-md5-hmac")
    assert "Checking IPSec proposal 2" in p.hub.debug_text()


def test_responder_lifetime_notify_shortens_both_sides():
    hub = edit(HUB, "set transform-set rtpset\n", "set transform-set rtpset\n"
                                                  "set security-association lifetime seconds 1800\n")
    p = Pair(hub_text=hub)
    negotiate(p)
    assert p.remote.flow().current_outbound.lifetime_s == p.hub.flow().current_outbound.lifetime_s == 1800
    assert "processing NOTIFY RESPONDER_LIFETIME" in p.remote.debug_text()
    assert "Security association lifetime: 4608000 kilobytes/1800 seconds" in crypto_show.show_crypto_map(p.hub.sub)


def test_static_map_on_both_sides_lets_either_side_initiate():
    hub = edit(HUB, "crypto map rtptrans 10 ipsec-isakmp dynamic rtpmap",
               "crypto map rtptrans 10 ipsec-isakmp\n set peer 100.100.100.1\n set transform-set rtpset\n"
               " match address 115")
    p = Pair(hub_text=hub)
    out = p.hub.sub.outbound("Serial0", icmp("10.2.2.3", "10.1.1.1"), p.now)
    assert out.action == DROP
    assert len(p.hub.sub.datagrams_to_send()) == 1  # the hub can initiate now
    q = Pair(hub_text=hub)
    negotiate(q)  # the remote initiates; the hub answers from its static entry
    f = q.hub.flow()
    assert (f.seq, f.origin_is_acl) == (10, True)
    assert "flags={origin_is_acl,}" in crypto_show.show_crypto_ipsec_sa(q.hub.sub, q.now)
    assert q.ping(2) == 2


# ----------------------------------------------------------------------------- keys and identities

def test_pre_shared_key_is_the_longest_match_on_the_peer_address():
    hub = edit(HUB, "crypto isakmp key cisco123 address 0.0.0.0 0.0.0.0",
               "crypto isakmp key nomatch address 0.0.0.0 0.0.0.0\n"
               "crypto isakmp key cisco123 address 100.100.100.0 255.255.255.0\n"
               "crypto isakmp key other address 100.100.0.0 255.255.0.0")
    p = Pair(hub_text=hub)
    assert p.hub.sub.policy.psk_for(REMOTE_WAN) == b"cisco123"
    assert p.hub.sub.policy.psk_for(IPv4Address("100.100.7.7")) == b"other"
    assert p.hub.sub.policy.psk_for(IPv4Address("1.2.3.4")) == b"nomatch"
    assert p.remote.sub.policy.psk_for(IPv4Address("1.2.3.4")) is None
    negotiate(p)
    assert p.ping(1) == 1


def test_no_key_for_the_peer_means_no_main_mode():
    remote = edit(REMOTE, "crypto isakmp key cisco123 address 99.99.99.1", "crypto isakmp key cisco123 address 1.1.1.1")
    p = Pair(remote_text=remote)
    negotiate(p)
    assert p.ike_datagrams == 0
    assert "No cert, and no keys (public or pre-shared) with remote peer 99.99.99.1" in p.remote.debug_text()


def test_proxy_identity_encoding():
    net = ProxyId(0x0A010100, 0xFFFFFF00)
    assert net.text() == "10.1.1.0/255.255.255.0/0/0"
    assert net.to_id_payload().id_type == K.ID_IPV4_ADDR_SUBNET
    host = ProxyId.host(IPv4Address("10.1.1.1"))
    assert host.to_id_payload().id_type == K.ID_IPV4_ADDR
    assert ProxyId.from_id_payload(net.to_id_payload()) == net
    assert net.covers(host) and not host.covers(net)
    rng = K.IDPayload.ipv4_range("10.1.1.0", "10.1.1.255")
    assert ProxyId.from_id_payload(rng) == net


def test_isakmp_enabled_only_with_a_crypto_map_applied():
    no_map = edit(HUB, "crypto map rtptrans\n", "\n")
    p = Pair(hub_text=no_map)
    assert not p.hub.sub.isakmp_enabled() and p.remote.sub.isakmp_enabled()
    assert p.hub.sub.isakmp_on_message() == "%CRYPTO-6-ISAKMP_ON_OFF: ISAKMP is ON"
    negotiate(p)
    assert p.hub.sub.ike.sas() == [] and p.hub.sub.drops["isakmp off"] >= 1
