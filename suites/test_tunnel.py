"""The remote initiates the tunnel; the hub, which only has a dynamic map, cannot."""

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
def test_hub_cannot_initiate(hub, remote, scenario):
    _clear(hub, remote)
    hub_lan, remote_lan = scenario["hub.lan_address"], scenario["remote.lan_address"]
    text, result = extended_ping(hub, remote_lan, hub_lan)
    assert result["received"] == "0", f"the hub has no peer to negotiate with, yet its ping got through:\n{text}"
    sa_text, found = _sa_to(hub, scenario["remote.negotiated_address"])
    assert not found, f"an SA appeared although only the hub sent traffic:\n{sa_text}"
    ike_text, ike = show(hub, "show crypto isakmp sa")
    assert not ike, f"the hub started IKE although its dynamic map has no peer:\n{ike_text}"


@pytest.mark.claim("REMOTE-INITIATES", "TUNNEL-UNKNOWN-PEER")
@pytest.mark.disruptive
def test_remote_initiates_and_then_the_hub_traffic_flows(hub, remote, scenario):
    _clear(hub, remote)
    hub_lan, remote_lan = scenario["hub.lan_address"], scenario["remote.lan_address"]
    extended_ping(remote, hub_lan, remote_lan)           # the remote initiates
    text, result = extended_ping(remote, hub_lan, remote_lan)
    assert result["success_percent"] == "100", text
    sa_text, found = _sa_to(hub, scenario["remote.negotiated_address"])
    assert found, f"the remote's traffic should have built the SAs with the hub:\n{sa_text}"
    text, result = extended_ping(hub, remote_lan, hub_lan)
    assert result["success_percent"] == "100", f"with the SAs up the hub's traffic must flow:\n{text}"


@pytest.mark.claim("PING-LAN")
def test_documented_extended_ping(remote, scenario):
    target, source = scenario["hub.lan_address"], scenario["remote.lan_address"]
    extended_ping(remote, target, source)   # IKE may take the first echoes
    text, result = extended_ping(remote, target, source, count=scenario["ping.count"], size=scenario["ping.size"],
                                 timeout=scenario["ping.timeout"])
    assert f"Sending {scenario['ping.count']}, {scenario['ping.size']}-byte ICMP Echos to {target}" in text
    assert f"Packet sent with a source address of {source}" in text
    assert result["success_percent"] == str(scenario["ping.success_percent"]), text
    assert result["rtt_min"] and result["rtt_avg"] and result["rtt_max"], f"no round-trip figures:\n{text}"
    assert int(result["rtt_min"]) <= int(result["rtt_avg"]) <= int(result["rtt_max"])


@pytest.mark.claim("IKE-SA")
def test_phase_one_sa_is_up(remote, hub, scenario):
    extended_ping(remote, scenario["hub.lan_address"], scenario["remote.lan_address"])
    ends = {scenario["hub.wan_address"], scenario["remote.negotiated_address"]}
    for session in (hub, remote):
        text, records = show(session, "show crypto isakmp sa")
        up = [r for r in records if {r["dst"], r["src"]} == ends and r["state"] == "QM_IDLE"]
        assert up, f"{session.name}: no phase 1 SA between {' and '.join(sorted(ends))} in QM_IDLE:\n{text}"
