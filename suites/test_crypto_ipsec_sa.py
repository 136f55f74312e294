"""`show crypto ipsec sa` on the hub shows each remote's tunnel, fields and counters."""

from __future__ import annotations

import ipaddress

import pytest

from drivers.scenario import ROOT
from suites.golden import differences
from suites.helpers import expect, extended_ping, flows, hub_sa_command, sas, show
from suites.parsing import parse

DOCUMENT_SAMPLE = ROOT / "fixtures" / "doc14131" / "hub-show-crypto-ipsec-sa.txt"


def _mask(network: str) -> tuple[str, str]:
    net = ipaddress.ip_network(network)
    return str(net.network_address), str(net.netmask)


@pytest.fixture(scope="module")
def tunnel(driver, scenario):
    """The tunnels as the document shows them: each remote's LAN pings the hub's LAN (the first
    echoes may be lost while IKE negotiates), then the documented ping."""
    for spoke in scenario.remote_roles():
        remote = driver.session(spoke)
        target, source = scenario["hub.lan_address"], scenario[scenario.remote_key(spoke, "lan_address")]
        extended_ping(remote, target, source)
        extended_ping(remote, target, source)


def _hub_flow(hub, scenario, value, spoke):
    text, records = show(hub, hub_sa_command(scenario, value(spoke, "negotiated_address")))
    local, remote_net = _mask(value("hub", "lan_network")), _mask(value(spoke, "lan_network"))
    mine = [f for f in flows(records)
            if (f["local_ident_addr"], f["local_ident_mask"]) == local
            and (f["remote_ident_addr"], f["remote_ident_mask"]) == remote_net]
    assert len(mine) == 1, f"expected one flow {local} <-> {remote_net} on the hub:\n{text}"
    return text, records, mine[0]


@pytest.mark.claim("SA-FIELDS", "TUNNEL-UNKNOWN-PEER")
def test_hub_flow_fields(spoke, tunnel, hub, scenario, value):
    text, records, flow = _hub_flow(hub, scenario, value, spoke)
    peer = value(spoke, "negotiated_address")
    expected = {
        "interface": value("hub", "wan_interface"),
        "crypto_map_tag": value("hub", "crypto_map"),
        "local_addr": value("hub", "wan_address"),
        "local_ident_prot": "0", "local_ident_port": "0", "remote_ident_prot": "0", "remote_ident_port": "0",
        # The hub learnt the peer from the remote's IKE: the address IPCP gave the remote.
        "current_peer": peer,
        "flow_action": "PERMIT",
        "local_crypto_endpt": value("hub", "wan_address"),
        "remote_crypto_endpt": peer,
        "path_mtu": "1500",
    }
    expect(f"the hub's flow {value('hub', 'lan_network')} <-> {value(spoke, 'lan_network')}", expected, flow)
    outbound = [s for s in sas(records, "outbound", "esp") if s["local_ident_addr"] == flow["local_ident_addr"]
                and s["remote_ident_addr"] == flow["remote_ident_addr"]]
    assert outbound and int(flow["current_outbound_spi"], 16) == int(outbound[0]["spi"], 16), (
        "current outbound spi must be the outbound ESP SA's SPI")


@pytest.mark.claim("SA-ESP-PAIR")
def test_one_inbound_and_one_outbound_esp_sa(spoke, tunnel, hub, scenario, expected, value):
    text, records, flow = _hub_flow(hub, scenario, value, spoke)
    transform = " ".join(expected("ipsec.transforms"))
    for direction in ("inbound", "outbound"):
        found = [s for s in sas(records, direction, "esp") if s["local_ident_addr"] == flow["local_ident_addr"]
                 and s["remote_ident_addr"] == flow["remote_ident_addr"]]
        assert len(found) == 1, f"expected one {direction} ESP SA for {spoke}'s flow:\n{text}"
        sa = found[0]
        expect(f"the hub's {direction} ESP SA", {
            "transform": transform, "in_use_settings": expected("ipsec.mode"),
            "sa_crypto_map": value("hub", "crypto_map"), "iv_size": expected("ipsec.iv_size"),
            "replay_detection": "Y"}, sa)
        kb, sec = int(sa["remaining_key_lifetime_kb"]), int(sa["remaining_key_lifetime_sec"])
        assert 0 < kb <= expected("ipsec.lifetime_kilobytes"), f"{direction}: {kb} KB left"
        assert 0 < sec <= expected("ipsec.lifetime_seconds"), f"{direction}: {sec} s left"


@pytest.mark.claim("SA-NO-AH")
def test_no_ah_sas(tunnel, hub):
    text, records = show(hub, "show crypto ipsec sa")
    assert flows(records), f"the hub shows no IPsec flow at all, so there is no SA display to check:\n{text}"
    assert sas(records, protocol="ah") == [], f"AH SAs are not configured, none may exist:\n{text}"
    assert "inbound ah sas:" in text and "outbound ah sas:" in text


@pytest.mark.claim("SA-COUNTERS")
def test_counters_rise_by_the_echoes_and_match_the_peer(spoke, tunnel, driver, hub, scenario, expected, value):
    remote = driver.session(spoke)
    _, _, before = _hub_flow(hub, scenario, value, spoke)
    count = expected("ping.count")
    ping_text, result = extended_ping(remote, value("hub", "lan_address"), value(spoke, "lan_address"), count=count)
    assert result["received"] == str(count), ping_text
    text, _, after = _hub_flow(hub, scenario, value, spoke)
    rise = {k: int(after[k]) - int(before[k]) for k in ("pkts_encaps", "pkts_encrypt", "pkts_digest",
                                                           "pkts_decaps", "pkts_decrypt", "pkts_verify")}
    expect(f"the hub's counters after {count} echoes (rise)", {k: count for k in rise}, rise)
    expect("the hub's error counters", {"send_errors": 0, "recv_errors": 0}, after)
    for a, b, c in (("pkts_encaps", "pkts_encrypt", "pkts_digest"), ("pkts_decaps", "pkts_decrypt", "pkts_verify")):
        assert after[a] == after[b] == after[c], f"{a}, {b} and {c} must be equal:\n{text}"
    remote_text = remote.send("show crypto ipsec sa")
    mirror = [f for f in flows(parse("show crypto ipsec sa", remote_text))
              if f["current_peer"] == value("hub", "wan_address")]
    assert len(mirror) == 1, remote_text
    assert mirror[0]["pkts_encaps"] == after["pkts_decaps"], (
        f"{spoke} encapsulated {mirror[0]['pkts_encaps']} packets, the hub decapsulated {after['pkts_decaps']}")
    assert mirror[0]["pkts_decaps"] == after["pkts_encaps"]


@pytest.mark.claim("SA-GOLDEN")
def test_hub_output_matches_the_document_line_by_line(tunnel, hub, scenario):
    if not scenario.document_values:
        pytest.skip("not applicable: the document's sample holds its own addresses and transforms; "
                    + scenario.not_document)
    version = hub.send("show version")
    if "Version 12.2" not in version:
        pytest.skip("the golden comparison applies to 12.2 images (the document's); the field checks stand alone")
    text = hub.send("show crypto ipsec sa")
    diff = differences(DOCUMENT_SAMPLE.read_text(), text)
    assert not diff, "differs from the document beyond SPIs, ids, counters and lifetimes:\n" + "\n".join(diff)
