"""Every router translates internet-bound traffic with overload and exempts the LAN-to-LAN traffic."""

from __future__ import annotations

import ipaddress

import pytest

from drivers.base import Capability
from suites.helpers import ping, requires, show


def _global_address(role, value):
    return value("hub", "wan_address") if role == "hub" else value(role, "negotiated_address")


def _translations(session):
    return show(session, "show ip nat translations")


@pytest.mark.claim("NAT-OVERLOAD")
def test_internet_traffic_is_translated_to_the_serial_address(role, driver, scenario, expected, value):
    requires(driver, Capability.HOSTS, "a host on each LAN and one on the internet side")
    if scenario.get(f"hosts.{role}_host") is None or f"{role}_host" not in driver.roles():
        pytest.skip(f"no host on {role}'s LAN (a device with the role {role}_host)")
    router, host = driver.session(role), driver.session(f"{role}_host")
    host_address, internet = expected(f"hosts.{role}_host"), expected("hosts.internet_host")
    text, result = ping(host, internet)
    if result["received"] == "0":
        text, result = ping(host, internet)  # the first echoes may wait for ARP on the way
    assert int(result["received"]) > 0, f"the {role} LAN host cannot reach the internet host:\n{text}"
    table_text, rows = _translations(router)
    mine = [r for r in rows if r["inside_local_ip"] == host_address]
    assert mine, f"no translation for {host_address} on the {role}:\n{table_text}"
    address = _global_address(role, value)
    for row in mine:
        assert row["inside_global_ip"] == address, (
            f"{host_address} should be translated to the {role}'s WAN address {address} (overload), "
            f"not {row['inside_global_ip']}")
        assert row["outside_global_ip"] == internet
    # Overload: the inside port (ICMP identifier) is kept on the global address when free.
    assert all(r["inside_global_port"] == r["inside_local_port"] for r in mine), table_text


@pytest.mark.claim("NAT-EXEMPT")
def test_lan_to_lan_traffic_is_not_translated(role, driver, scenario, value):
    router = driver.session(role)
    others = scenario.remote_roles() if role == "hub" else ["hub"]
    for other in others:
        ping(router, value(other, "lan_address"), source=value(role, "lan_address"))
        host = f"{role}_host"
        if driver.has(Capability.HOSTS) and host in driver.roles() and scenario.get(f"hosts.{other}_host"):
            ping(driver.session(host), scenario[f"hosts.{other}_host"])
    text, rows = _translations(router)
    for other in others:
        far_lan = ipaddress.ip_network(value(other, "lan_network"))
        leaked = [r for r in rows if r["outside_local_ip"] not in ("", "---")
                  and ipaddress.ip_address(r["outside_local_ip"]) in far_lan]
        assert not leaked, (f"traffic to the {other}'s LAN {far_lan} was translated by NAT on the {role} "
                            f"(the route-map must exempt it, or it leaves unencrypted):\n{text}")
