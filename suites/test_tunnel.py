"""Each remote initiates its tunnel; the hub, which only has a dynamic map, cannot."""

from __future__ import annotations

import pytest

from suites.helpers import extended_ping, flows, show


def _sa_to(session, peer):
    text, records = show(session, "show crypto ipsec sa")
    return text, [f for f in flows(records) if f["current_peer"] == peer and f["current_outbound_spi"].strip("0x")]


def _clear(*sessions):
    for session in sessions:
        session.send("clear crypto sa")
        session.send("clear crypto isakmp")


@pytest.mark.claim("HUB-CANNOT-INITIATE")
@pytest.mark.disruptive
def test_hub_cannot_initiate(driver, hub, scenario, value):
    spokes = scenario.remote_roles()
    _clear(hub, *(driver.session(s) for s in spokes))
    hub_lan = value("hub", "lan_address")
    for spoke in spokes:
        text, result = extended_ping(hub, value(spoke, "lan_address"), hub_lan)
        assert result["received"] == "0", \
            f"the hub has no peer to negotiate with, yet its ping to {spoke}'s LAN got through:\n{text}"
        sa_text, found = _sa_to(hub, value(spoke, "negotiated_address"))
        assert not found, f"an SA with {spoke} appeared although only the hub sent traffic:\n{sa_text}"
    ike_text, ike = show(hub, "show crypto isakmp sa")
    assert not ike, f"the hub started IKE although its dynamic map has no peer:\n{ike_text}"


@pytest.mark.claim("REMOTE-INITIATES", "TUNNEL-UNKNOWN-PEER")
@pytest.mark.disruptive
def test_remote_initiates_and_then_the_hub_traffic_flows(spoke, driver, hub, value):
    remote = driver.session(spoke)
    _clear(hub, remote)
    hub_lan, remote_lan = value("hub", "lan_address"), value(spoke, "lan_address")
    extended_ping(remote, hub_lan, remote_lan)           # the remote initiates
    text, result = extended_ping(remote, hub_lan, remote_lan)
    assert result["success_percent"] == "100", text
    sa_text, found = _sa_to(hub, value(spoke, "negotiated_address"))
    assert found, f"{spoke}'s traffic should have built the SAs with the hub:\n{sa_text}"
    text, result = extended_ping(hub, remote_lan, hub_lan)
    assert result["success_percent"] == "100", f"with the SAs up the hub's traffic must flow:\n{text}"


@pytest.mark.claim("PING-LAN")
def test_documented_extended_ping(spoke, driver, expected, value):
    remote = driver.session(spoke)
    target, source = value("hub", "lan_address"), value(spoke, "lan_address")
    extended_ping(remote, target, source)   # IKE may take the first echoes
    count, size = expected("ping.count"), expected("ping.size")
    text, result = extended_ping(remote, target, source, count=count, size=size, timeout=expected("ping.timeout"))
    assert f"Sending {count}, {size}-byte ICMP Echos to {target}" in text
    assert f"Packet sent with a source address of {source}" in text
    assert result["success_percent"] == str(expected("ping.success_percent")), text
    assert result["rtt_min"] and result["rtt_avg"] and result["rtt_max"], f"no round-trip figures:\n{text}"
    assert int(result["rtt_min"]) <= int(result["rtt_avg"]) <= int(result["rtt_max"])


@pytest.mark.claim("IKE-SA")
def test_phase_one_sa_is_up(driver, hub, scenario, value):
    """One phase 1 SA in QM_IDLE per remote on the hub, and one on each remote."""
    spokes = scenario.remote_roles()
    hub_wan = value("hub", "wan_address")
    for spoke in spokes:
        extended_ping(driver.session(spoke), value("hub", "lan_address"), value(spoke, "lan_address"))
    hub_text, hub_records = show(hub, "show crypto isakmp sa")
    for spoke in spokes:
        ends = {hub_wan, value(spoke, "negotiated_address")}
        for session, text, records in ((hub, hub_text, hub_records),
                                       (driver.session(spoke), *show(driver.session(spoke), "show crypto isakmp sa"))):
            up = [r for r in records if {r["dst"], r["src"]} == ends and r["state"] == "QM_IDLE"]
            assert up, f"{session.name}: no phase 1 SA between {' and '.join(sorted(map(str, ends)))} " \
                       f"in QM_IDLE:\n{text}"
    peers = {r["src"] if r["dst"] == hub_wan else r["dst"] for r in hub_records if r["state"] == "QM_IDLE"}
    assert len(peers) >= len(spokes), f"the hub should have {len(spokes)} peers in QM_IDLE:\n{hub_text}"
