"""Crypto show commands: the document's ``show crypto ipsec sa`` layout, and every output
parses with the project's TextFSM templates (``suites.parsing.parse``)."""

from __future__ import annotations

from emulator.cli import crypto_show
from emulator.labtime import SECOND
from suites.parsing import parse
from support.ipsec_pair import Pair, edit, fixture_text, icmp

# The hub's output in Document 14131 ("Sample Output"), verbatim.
DOC_HUB_SHOW_CRYPTO_IPSEC_SA = """\
interface: Serial0
    Crypto map tag: rtptrans, local addr. 99.99.99.1

   local  ident (addr/mask/prot/port): (10.2.2.0/255.255.255.0/0/0)
   remote ident (addr/mask/prot/port): (10.1.1.0/255.255.255.0/0/0)
   current_peer: 100.100.100.1
     PERMIT, flags={}
    #pkts encaps: 6, #pkts encrypt: 6, #pkts digest 6
    #pkts decaps: 6, #pkts decrypt: 6, #pkts verify 6
    #pkts compressed: 0, #pkts decompressed: 0
    #pkts not compressed: 0, #pkts compr. failed: 0, 
    #pkts decompress failed: 0, #send errors 0, #recv errors 0

     local crypto endpt.: 99.99.99.1, remote crypto endpt.: 100.100.100.1
     path mtu 1500, ip mtu 1500, ip mtu interface Serial0
     current outbound spi: 52456533

     inbound esp sas:
      spi: 0x6462305C(1684156508)
        transform: esp-des esp-md5-hmac ,
        in use settings ={Tunnel, }
        slot: 0, conn id: 2000, flow_id: 1, crypto map: rtptrans
        sa timing: remaining key lifetime (k/sec): (4607999/3510)
        IV size: 8 bytes
        replay detection support: Y

     inbound ah sas:

     inbound pcp sas:

     outbound esp sas:
      spi: 0x52456533(1380279603)
        transform: esp-des esp-md5-hmac ,
        in use settings ={Tunnel, }
        slot: 0, conn id: 2001, flow_id: 2, crypto map: rtptrans
        sa timing: remaining key lifetime (k/sec): (4607999/3510)
        IV size: 8 bytes
        replay detection support: Y

     outbound ah sas:

     outbound pcp sas:
"""


def tunnel(pings: int = 6) -> Pair:
    p = Pair()
    p.up()
    assert p.ping(pings) == pings
    return p


def records(text: str, command: str = "show crypto ipsec sa") -> list[dict]:
    return parse(command, text)


# ----------------------------------------------------------------------------- show crypto ipsec sa

def test_hub_output_reproduces_the_document_layout():
    p = tunnel(6)
    f = p.hub.flow()
    sa_in, sa_out = f.inbound[0], f.outbound[0]
    # the SPIs are the lab's own (random from the seed); print the document's to compare the text
    sa_in.spi, sa_out.spi = 0x6462305C, 0x52456533
    text = crypto_show.show_crypto_ipsec_sa(p.hub.sub, sa_in.created + 90 * SECOND)
    assert text.startswith("\ninterface: Serial0\n")
    assert text.strip("\n") == DOC_HUB_SHOW_CRYPTO_IPSEC_SA.strip("\n")


def test_show_crypto_ipsec_sa_parses_with_the_documented_values_on_both_routers():
    p = tunnel(5)
    hub = records(crypto_show.show_crypto_ipsec_sa(p.hub.sub, p.now))
    flows = [r for r in hub if r["entry"] == "ident"]
    sas = [r for r in hub if r["entry"] == "spi"]
    assert len(flows) == 1 and len(sas) == 2
    f = flows[0]
    assert (f["interface"], f["crypto_map_tag"], f["local_addr"], f["current_peer"]) == (
        "Serial0", "rtptrans", "99.99.99.1", "100.100.100.1")
    assert (f["local_ident_addr"], f["local_ident_mask"], f["local_ident_prot"], f["local_ident_port"]) == (
        "10.2.2.0", "255.255.255.0", "0", "0")
    assert (f["remote_ident_addr"], f["remote_ident_mask"]) == ("10.1.1.0", "255.255.255.0")
    assert f["flow_action"] == "PERMIT" and f["flags"] == ""
    for sa in sas:
        assert sa["transform"] == "esp-des esp-md5-hmac"
        assert sa["in_use_settings"] == "Tunnel"
        assert sa["iv_size"] == "8" and sa["replay_detection"] == "Y" and sa["slot"] == "0"
        assert sa["sa_crypto_map"] == "rtptrans"
        assert int(sa["remaining_key_lifetime_kb"]) <= 4608000 and int(sa["remaining_key_lifetime_sec"]) <= 3600
    assert [s["sa_direction"] for s in sas] == ["inbound", "outbound"]
    assert [s["conn_id"] for s in sas] == ["2000", "2001"] and [s["flow_id"] for s in sas] == ["1", "2"]
    assert int(f["current_outbound_spi"], 16) == int(sas[1]["spi"], 16) == p.hub.flow().current_outbound.spi

    remote = records(crypto_show.show_crypto_ipsec_sa(p.remote.sub, p.now))
    rf = [r for r in remote if r["entry"] == "ident"][0]
    assert (rf["crypto_map_tag"], rf["local_addr"], rf["current_peer"]) == ("rtp", "100.100.100.1", "99.99.99.1")
    assert rf["flags"] == "origin_is_acl,"
    # counters mirror each other across the tunnel
    assert rf["pkts_encaps"] == f["pkts_decaps"] == "5" and rf["pkts_decaps"] == f["pkts_encaps"] == "5"
    assert rf["send_errors"] == "1" and f["send_errors"] == "0"
    # the remote's outbound SPI is the hub's inbound SPI
    rsas = [r for r in remote if r["entry"] == "spi"]
    assert rsas[1]["spi"] == sas[0]["spi"] and rsas[0]["spi"] == sas[1]["spi"]


def test_before_any_sa_the_remote_shows_its_acl_flow_and_the_hub_only_its_map():
    p = Pair()
    remote = crypto_show.show_crypto_ipsec_sa(p.remote.sub, p.now)
    (flow,) = records(remote)
    assert flow["current_outbound_spi"] == "0" and flow["pkts_encaps"] == "0"
    assert "     inbound esp sas:\n\n     inbound ah sas:" in remote
    hub = crypto_show.show_crypto_ipsec_sa(p.hub.sub, p.now)
    assert hub == "\ninterface: Serial0\n    Crypto map tag: rtptrans, local addr. 99.99.99.1\n\n"
    assert records(hub) == []


def test_detail_filters_and_address_forms():
    p = tunnel(2)
    detail = crypto_show.show_crypto_ipsec_sa(p.hub.sub, p.now, detail=True)
    assert "#pkts verify failed: 0" in detail and "##pkts replay failed (rcv): 0" in detail
    assert len(records(detail)) == 3
    assert (crypto_show.show_crypto_ipsec_sa(p.hub.sub, p.now, peer="100.100.100.1")
            == crypto_show.show_crypto_ipsec_sa(p.hub.sub, p.now))
    assert records(crypto_show.show_crypto_ipsec_sa(p.hub.sub, p.now, peer="1.1.1.1")) == []
    assert records(crypto_show.show_crypto_ipsec_sa(p.hub.sub, p.now, map="rtptrans"),
                   "show crypto ipsec sa map rtptrans")
    assert records(crypto_show.show_crypto_ipsec_sa(p.hub.sub, p.now, interface="Serial0"),
                   "show crypto ipsec sa interface Serial0")
    by_address = crypto_show.show_crypto_ipsec_sa(p.hub.sub, p.now, address=True)
    assert "dest address: 99.99.99.1" in by_address and "dest address: 100.100.100.1" in by_address


def test_lifetime_counts_down_in_the_output():
    p = tunnel(1)
    f = p.hub.flow()
    t0 = f.inbound[0].created
    a = records(crypto_show.show_crypto_ipsec_sa(p.hub.sub, t0 + 10 * SECOND))[1]
    b = records(crypto_show.show_crypto_ipsec_sa(p.hub.sub, t0 + 1000 * SECOND))[1]
    assert (a["remaining_key_lifetime_sec"], b["remaining_key_lifetime_sec"]) == ("3590", "2600")


# ----------------------------------------------------------------------------- show crypto isakmp sa

def test_show_crypto_isakmp_sa_12_2_layout():
    p = tunnel(1)
    for side in (p.hub, p.remote):
        text = crypto_show.show_crypto_isakmp_sa(side.sub, p.now)
        assert text == ("dst             src             state           conn-id    slot\n"
                        "99.99.99.1      100.100.100.1   QM_IDLE               1       0\n\n")
        (rec,) = parse("show crypto isakmp sa", text)
        assert (rec["dst"], rec["src"], rec["state"], rec["conn_id"], rec["slot"]) == (
            "99.99.99.1", "100.100.100.1", "QM_IDLE", "1", "0")
    empty = crypto_show.show_crypto_isakmp_sa(Pair().hub.sub, 0)
    assert parse("show crypto isakmp sa", empty) == []


def test_show_crypto_isakmp_sa_during_a_failed_main_mode():
    hub = edit(fixture_text("sam-i-am"), "crypto isakmp key cisco123", "crypto isakmp key wrong")
    p = Pair(hub_text=hub)
    p.send(p.remote, icmp("10.1.1.1", "10.2.2.3"))
    p.run()
    (rec,) = parse("show crypto isakmp sa", crypto_show.show_crypto_isakmp_sa(p.remote.sub, p.now))
    assert rec["state"] == "MM_KEY_EXCH"


# ----------------------------------------------------------------------------- show crypto map

def test_show_crypto_map_remote_static_entry():
    p = Pair()
    text = crypto_show.show_crypto_map(p.remote.sub)
    (rec,) = parse("show crypto map", text)
    assert (rec["map_name"], rec["seq"], rec["type"]) == ("rtp", "1", "ipsec-isakmp")
    assert rec["peers"] == ["99.99.99.1"] and rec["acl"] == "115"
    assert rec["acl_entries"] == ["access-list 115 permit ip 10.1.1.0 0.0.0.255 10.2.2.0 0.0.0.255",
                                  "access-list 115 deny ip 10.1.1.0 0.0.0.255 any"]
    assert (rec["lifetime_kb"], rec["lifetime_sec"], rec["pfs"]) == ("4608000", "3600", "N")
    assert rec["transform_sets"] == ["rtpset"] and rec["interfaces"] == ["Serial0"]


def test_show_crypto_map_hub_with_the_temporary_dynamic_entry():
    p = Pair()
    (before,) = parse("show crypto map", crypto_show.show_crypto_map(p.hub.sub))
    assert before["dynamic_map_template"] == "rtpmap" and before["interfaces"] == ["Serial0"]
    p.up()
    text = crypto_show.show_crypto_map(p.hub.sub)
    parent, temp = parse("show crypto map", text)
    assert (parent["seq"], parent["dynamic_map_template"], parent["interfaces"]) == ("10", "rtpmap", [])
    assert (temp["seq"], temp["peers"], temp["current_peer"]) == ("65536", ["100.100.100.1"], "100.100.100.1")
    assert (temp["dynamic_from_map"], temp["dynamic_from_seq"]) == ("rtpmap", "10")
    assert temp["acl_entries"] == ["access-list  permit ip 10.2.2.0 0.0.0.255 10.1.1.0 0.0.0.255"]
    assert temp["transform_sets"] == ["rtpset"] and temp["interfaces"] == ["Serial0"]
    assert parse("show crypto map interface Serial0", crypto_show.show_crypto_map(p.hub.sub, interface="Serial0"))
    assert crypto_show.show_crypto_map(p.hub.sub, tag="nothing") == ""


# ----------------------------------------------------------------------------- the others

def test_show_crypto_isakmp_policy():
    text = crypto_show.show_crypto_isakmp_policy(Pair().hub.sub)
    assert text == (
        "Protection suite of priority 1\n"
        "        encryption algorithm:   DES - Data Encryption Standard (56 bit keys).\n"
        "        hash algorithm:         Message Digest 5\n"
        "        authentication method:  Pre-Shared Key\n"
        "        Diffie-Hellman group:   #1 (768 bit)\n"
        "        lifetime:               86400 seconds, no volume limit\n"
        "Default protection suite\n"
        "        encryption algorithm:   DES - Data Encryption Standard (56 bit keys).\n"
        "        hash algorithm:         Secure Hash Standard\n"
        "        authentication method:  Rivest-Shamir-Adleman Signature\n"
        "        Diffie-Hellman group:   #1 (768 bit)\n"
        "        lifetime:               86400 seconds, no volume limit\n")


def test_show_crypto_engine_connections_active_counts_mirror():
    p = tunnel(4)
    lines = crypto_show.show_crypto_engine_connections_active(p.hub.sub).splitlines()
    assert lines[1].split() == ["ID", "Interface", "IP-Address", "State", "Algorithm", "Encrypt", "Decrypt"]
    rows = {line.split()[0]: line.split() for line in lines[2:] if line.strip()}
    assert rows["1"][4] == "HMAC_MD5+DES_56_CB"
    assert rows["2000"][5:] == ["0", "4"] and rows["2001"][5:] == ["4", "0"]
    active = crypto_show.show_crypto_engine_connections_active(p.remote.sub)
    remote = {ln.split()[0]: ln.split() for ln in active.splitlines()[2:]
              if ln.strip()}
    assert remote["2001"][5] == rows["2000"][6]


def test_show_transform_set_and_lifetime():
    p = Pair()
    assert crypto_show.show_crypto_ipsec_transform_set(p.hub.sub) == (
        "Transform set rtpset: { esp-des esp-md5-hmac  } \n   will negotiate = { Tunnel,  }, \n\n")
    assert crypto_show.show_crypto_ipsec_sa_lifetime(p.hub.sub) == (
        "Security association lifetime: 4608000 kilobytes/3600 seconds\n")
