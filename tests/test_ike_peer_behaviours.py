"""What a trusted IKE peer (strongSwan, for one) expects of us: DELETEs naming either SPI, INITIAL-CONTACT,
and SAs that follow the interface's address when IPCP hands out a new one.

The first two on the back-to-back ``Pair`` of test_ipsec.py, the last in the document's lab.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from emulator.cli.session import CliSession
from emulator.engines.ike.crypto import IkeCipherState
from emulator.engines.ipsec import DROP
from emulator.lab.labfile import Lab
from emulator.labtime import SECOND
from emulator.wire import isakmp as K
from support import ROOT
from support.ipsec_pair import HUB_WAN, REMOTE_WAN, Pair, Side, fixture_text, icmp

LAB = ROOT / "fixtures" / "doc14131" / "lab.yml"


def kinds(side: Side) -> list[str]:
    return [t.kind for t in side.traces]


# ----------------------------------------------------------------------------- DELETE


def test_a_delete_naming_our_inbound_spi_deletes_that_pair():
    p = Pair()
    p.up()
    hub_in = next(sa for sa in p.hub.sub.sas() if sa.inbound)
    # the remote names the hub's own inbound SPI (not its own, as IOS would): the hub must still drop the pair
    assert p.remote.sub.ike.send_delete(HUB_WAN, [hub_in.spi])
    p.run()
    assert p.hub.sub.sas() == []
    assert "IPSEC(key_engine_delete_sas): rec'd delete notify from ISAKMP" in p.hub.debug_text()
    out = p.hub.sub.outbound("Serial0", icmp("10.2.2.3", "10.1.1.1"), p.now)
    assert out.action == DROP and out.reason == "no SA (dynamic map)"   # nothing goes into the dropped SA
    p.no_errors()


def test_a_delete_naming_the_peers_inbound_spi_still_works():
    p = Pair()
    p.up()
    remote_in = next(sa for sa in p.remote.sub.sas() if sa.inbound)
    assert p.remote.sub.ike.send_delete(HUB_WAN, [remote_in.spi])      # what IOS itself sends
    p.run()
    assert p.hub.sub.sas() == []
    assert f"delete SA with spi {remote_in.spi}/50 for {REMOTE_WAN}" in p.hub.debug_text()


def test_a_delete_for_an_unknown_spi_changes_nothing():
    p = Pair()
    p.up()
    assert p.remote.sub.ike.send_delete(HUB_WAN, [0xDEAD])
    p.run()
    assert len(p.hub.sub.sas()) == 2 and p.ping(2) == 2


# ----------------------------------------------------------------------------- INITIAL-CONTACT


def initial_contact_in_mm5(p: Pair) -> bool:
    """Whether the remote's MM5 carried N(INITIAL-CONTACT): decrypted with the remote's phase 1 keys."""
    (ike,) = [sa for sa in p.remote.sub.ike.sas() if sa.initiator]
    cipher = IkeCipherState.from_keys(ike.keys, ike.gxi, ike.gxr)
    for _, pkt in p.wire:
        payload = pkt[28:]
        msg = K.IsakmpMessage.decode(payload)
        if msg.exchange == K.EXCH_MAIN_MODE and msg.encrypted and msg.icookie == ike.icookie \
                and pkt[12:16] == REMOTE_WAN.packed:
            payloads = msg.open(lambda ct: cipher.decrypt(0, ct))
            notes = [n for n in payloads if isinstance(n, K.NotificationPayload)]
            return any(n.notify_type == K.INITIAL_CONTACT and n.protocol_id == K.PROTO_ISAKMP
                       and n.spi == ike.icookie + ike.rcookie for n in notes)
    raise AssertionError("no MM5 on the wire")


def test_initial_contact_goes_in_mm5_of_a_first_negotiation():
    p = Pair()
    p.up()
    assert initial_contact_in_mm5(p)
    assert "send_initial_contact" in kinds(p.remote) and "process_initial_contact" in kinds(p.hub)
    assert "ISAKMP (0:1): Send initial contact" in p.remote.debug_text()


def test_a_restarted_peer_announcing_initial_contact_clears_every_older_sa():
    p = Pair()
    p.up()
    assert p.ping(2) == 2
    old_ike = p.hub.sub.ike.sas()[0]
    old_spis = {sa.spi for sa in p.hub.sub.sas()}
    # the remote reboots: same configuration, no state; its next packet negotiates from scratch
    p.remote = Side("dr_whoovie", fixture_text("dr_whoovie"), REMOTE_WAN, 999)
    p.up()
    assert [sa.conn_id for sa in p.hub.sub.ike.sas()] == [2] and old_ike not in p.hub.sub.ike.sas()
    assert len(p.hub.sub.sas()) == 2 and not old_spis & {sa.spi for sa in p.hub.sub.sas()}
    assert [t.seq for t in p.hub.sub.temporary_entries()] == [65537]
    assert ("bring down existing phase 1 and 2 SA's with local 99.99.99.1 remote 100.100.100.1 remote port 500"
            in p.hub.debug_text())
    assert p.ping(3) == 3
    p.no_errors()


def test_no_initial_contact_when_ipsec_sas_outlived_the_isakmp_sa():
    p = Pair()
    p.up()
    p.remote.sub.clear_crypto_isakmp(p.now)
    p.run()
    assert p.remote.sub.ike.sas() == [] and len(p.remote.sub.sas()) == 2
    before = kinds(p.remote).count("send_initial_contact")
    # soft lifetime: the remote re-keys its busy tunnel over a new phase 1, without a first contact
    assert p.ping(1) == 1
    p.run(3600 * SECOND - 25 * SECOND)
    assert kinds(p.remote).count("beginning_main_mode") == 2
    assert kinds(p.remote).count("send_initial_contact") == before
    assert len(p.hub.sub.sas()) == 4        # the old pair lives to its expiry beside the new one
    p.no_errors()


# ----------------------------------------------------------------------------- a new IPCP address


def cli(lab: Lab, device: str) -> CliSession:
    return CliSession(lab.device(device), privileged=True, line="vty0")


def test_a_new_ipcp_address_removes_the_sas_of_the_old_one_and_the_tunnel_is_rebuilt_from_the_new():
    lab = Lab.from_file(LAB)
    remote, isp = cli(lab, "dr_whoovie"), cli(lab, "isp")
    assert ".!!!!" in remote.execute("ping ip 10.2.2.3 source 10.1.1.1")
    router = lab.device("dr_whoovie")
    assert {sa.local for sa in router.crypto.sas()} == {REMOTE_WAN}
    # the access server hands out another address after the line flaps
    for line in ("configure terminal", "ip local pool REMOTES 100.100.100.3", "interface Serial0", "shutdown",
                 "end"):
        isp.execute(line)
    lab.advance(5 * SECOND)
    isp.execute("configure terminal")
    isp.execute("interface Serial0")
    isp.execute("no shutdown")
    isp.execute("end")
    lab.advance(30 * SECOND)
    assert "Internet address is 100.100.100.3/32" in remote.execute("show interfaces Serial0")
    # nothing is left bound to the address the router no longer has
    assert router.crypto.sas() == [] and router.crypto.ike.sas() == []
    out = remote.execute("ping ip 10.2.2.3 source 10.1.1.1")
    assert out.count("!") >= 4, out
    assert {sa.local for sa in router.crypto.sas()} == {router.crypto.local_address("Serial0")}
    assert "100.100.100.3" in remote.execute("show crypto isakmp sa")
    hub = lab.device("sam-i-am")
    assert {str(sa.peer) for sa in hub.crypto.sas() if sa.rekeyed is False} >= {"100.100.100.3"}
    assert router.crypto.errors == [] and hub.crypto.errors == []


def test_the_same_address_again_keeps_the_sas():
    p = Pair()
    p.up()
    p.remote.sub.interface_address_changed("Serial0", p.now)
    assert len(p.remote.sub.sas()) == 2 and len(p.remote.sub.ike.sas()) == 1
    p.remote.address = IPv4Address("100.100.100.9")
    p.remote.sub.interface_address_changed("Serial0", p.now)
    assert p.remote.sub.sas() == [] and p.remote.sub.ike.sas() == []
    assert [f.send_errors for f in p.remote.sub.flows()] == [1]      # the flow of the map entry stays
    assert p.remote.sub.errors == []


def test_clear_crypto_sa_shows_each_sa_deleted_once():
    p = Pair()
    p.up()
    before = p.hub.debug_text().count("IPSEC(delete_sa): deleting SA,")
    p.hub.sub.clear_crypto_sa(p.now)
    p.run()
    assert p.hub.debug_text().count("IPSEC(delete_sa): deleting SA,") - before == 2
    assert p.remote.debug_text().count("IPSEC(delete_sa): deleting SA,") == 2   # on the peer's DELETE
