"""Each remote's serial line gets its address from the access server by PPP/IPCP."""

from __future__ import annotations

import pytest

from suites.helpers import expect, show, wait


def _serial(session, interface):
    text, records = show(session, f"show interfaces {interface}")
    assert len(records) == 1, f"expected one interface in:\n{text}"
    return text, records[0]


@pytest.mark.claim("IPCP-AFTER")
def test_remote_serial_has_the_negotiated_address(spoke, driver, value):
    wan = value(spoke, "wan_interface")
    text, s0 = _serial(driver.session(spoke), wan)
    address = value(spoke, "negotiated_address")
    assert address, f"{spoke}: no address to expect: the access server offers none the configurations show"
    shown = dict(s0)
    shown["internet_address"] = (f"{s0['ip_address']}/{s0['prefix_length']}" if s0["ip_address"] else
                                 "will be negotiated using IPCP" if s0["ip_negotiation"] else "")
    expect(f"{spoke}'s {wan} after IPCP", {
        "link_status": "up", "protocol_status": "up", "internet_address": f"{address}/32",
        "encapsulation": value(spoke, "wan_encapsulation"), "lcp_state": "Open", "open_ncps": "IPCP"}, shown)


@pytest.mark.claim("IPCP-AFTER")
def test_remote_address_method_is_ipcp(spoke, driver, value):
    text, records = show(driver.session(spoke), "show ip interface brief")
    row = next((r for r in records if r["interface"] == value(spoke, "wan_interface")), None)
    assert row is not None, text
    assert (row["ip_address"], row["status"], row["proto"]) == (value(spoke, "negotiated_address"), "up", "up")


@pytest.mark.claim("IPCP-BEFORE")
@pytest.mark.disruptive
def test_before_negotiation_the_address_will_be_negotiated(spoke, driver, value):
    iface, remote = value(spoke, "wan_interface"), driver.session(spoke)
    remote.configure([f"interface {iface}", "shutdown"])
    try:
        wait(driver, 2)
        text, s0 = _serial(remote, iface)
        assert s0["ip_negotiation"] == "IPCP" and not s0["ip_address"], (
            f"before negotiation the document shows 'Internet address will be negotiated using IPCP':\n{text}")
    finally:
        remote.configure([f"interface {iface}", "no shutdown"])
        wait(driver, 5)


@pytest.mark.claim("IPCP-AFTER")
@pytest.mark.disruptive
def test_address_is_negotiated_again_after_the_line_comes_back(spoke, driver, value):
    iface, remote = value(spoke, "wan_interface"), driver.session(spoke)
    remote.configure([f"interface {iface}", "shutdown"])
    wait(driver, 2)
    remote.configure([f"interface {iface}", "no shutdown"])
    wait(driver, 5)
    text, s0 = _serial(remote, iface)
    assert (s0["ip_address"], s0["prefix_length"]) == (value(spoke, "negotiated_address"), "32"), text
