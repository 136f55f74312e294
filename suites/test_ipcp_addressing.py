"""The remote's Serial0 gets its address from the access server by PPP/IPCP."""

from __future__ import annotations

import pytest

from suites.helpers import expect, show, wait


def _serial(session, scenario, role):
    text, records = show(session, f"show interfaces {scenario[f'{role}.wan_interface']}")
    assert len(records) == 1, f"expected one interface in:\n{text}"
    return text, records[0]


@pytest.mark.claim("IPCP-AFTER")
def test_remote_serial_has_the_negotiated_address(remote, scenario):
    text, s0 = _serial(remote, scenario, "remote")
    expected = f"{scenario['remote.negotiated_address']}/32"
    shown = dict(s0)
    shown["internet_address"] = (f"{s0['ip_address']}/{s0['prefix_length']}" if s0["ip_address"] else
                                 "will be negotiated using IPCP" if s0["ip_negotiation"] else "")
    expect(f"the remote's {scenario['remote.wan_interface']} after IPCP", {
        "link_status": "up", "protocol_status": "up", "internet_address": expected,
        "encapsulation": scenario["remote.wan_encapsulation"], "lcp_state": "Open", "open_ncps": "IPCP"}, shown)


@pytest.mark.claim("IPCP-AFTER")
def test_remote_address_method_is_ipcp(remote, scenario):
    text, records = show(remote, "show ip interface brief")
    row = next((r for r in records if r["interface"] == scenario["remote.wan_interface"]), None)
    assert row is not None, text
    assert (row["ip_address"], row["status"], row["proto"]) == (scenario["remote.negotiated_address"], "up", "up")


@pytest.mark.claim("IPCP-BEFORE")
@pytest.mark.disruptive
def test_before_negotiation_the_address_will_be_negotiated(driver, remote, scenario):
    iface = scenario["remote.wan_interface"]
    remote.configure([f"interface {iface}", "shutdown"])
    try:
        wait(driver, 2)
        text, s0 = _serial(remote, scenario, "remote")
        assert s0["ip_negotiation"] == "IPCP" and not s0["ip_address"], (
            f"before negotiation the document shows 'Internet address will be negotiated using IPCP':\n{text}")
    finally:
        remote.configure([f"interface {iface}", "no shutdown"])
        wait(driver, 5)


@pytest.mark.claim("IPCP-AFTER")
@pytest.mark.disruptive
def test_address_is_negotiated_again_after_the_line_comes_back(driver, remote, scenario):
    iface = scenario["remote.wan_interface"]
    remote.configure([f"interface {iface}", "shutdown"])
    wait(driver, 2)
    remote.configure([f"interface {iface}", "no shutdown"])
    wait(driver, 5)
    text, s0 = _serial(remote, scenario, "remote")
    assert (s0["ip_address"], s0["prefix_length"]) == (scenario["remote.negotiated_address"], "32"), text
