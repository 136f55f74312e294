"""Both routers translate internet-bound traffic with overload and exempt the LAN-to-LAN traffic."""

from __future__ import annotations

import ipaddress

import pytest

from drivers.base import Capability
from suites.helpers import ping, requires, show


def _global_address(role, scenario):
    return scenario["remote.negotiated_address"] if role == "remote" else scenario["hub.wan_address"]


def _translations(session):
    return show(session, "show ip nat translations")


@pytest.mark.claim("NAT-OVERLOAD")
@pytest.mark.parametrize("role", ["remote", "hub"])
def test_internet_traffic_is_translated_to_the_serial_address(role, driver, scenario):
    requires(driver, Capability.HOSTS, "a host on each LAN and one on the internet side")
    router, host = driver.session(role), driver.session(f"{role}_host")
    host_address, internet = scenario[f"hosts.{role}_host"], scenario["hosts.internet_host"]
    text, result = ping(host, internet)
    if result["received"] == "0":
        text, result = ping(host, internet)  # the first echoes may wait for ARP on the way
    assert int(result["received"]) > 0, f"the {role} LAN host cannot reach the internet host:\n{text}"
    table_text, rows = _translations(router)
    mine = [r for r in rows if r["inside_local_ip"] == host_address]
    assert mine, f"no translation for {host_address} on the {role}:\n{table_text}"
    for row in mine:
        assert row["inside_global_ip"] == _global_address(role, scenario), (
            f"{host_address} should be translated to the {role}'s Serial0 address "
            f"{_global_address(role, scenario)} (overload), not {row['inside_global_ip']}")
        assert row["outside_global_ip"] == internet
    # Overload: the inside port (ICMP identifier) is kept on the global address when free.
    assert all(r["inside_global_port"] == r["inside_local_port"] for r in mine), table_text


@pytest.mark.claim("NAT-EXEMPT")
@pytest.mark.parametrize("role", ["remote", "hub"])
def test_lan_to_lan_traffic_is_not_translated(role, driver, scenario):
    router = driver.session(role)
    other = "hub" if role == "remote" else "remote"
    ping(router, scenario[f"{other}.lan_address"], source=scenario[f"{role}.lan_address"])
    if driver.has(Capability.HOSTS):
        ping(driver.session(f"{role}_host"), scenario[f"hosts.{other}_host"])
    text, rows = _translations(router)
    far_lan = ipaddress.ip_network(scenario[f"{other}.lan_network"])
    leaked = [r for r in rows if r["outside_local_ip"] not in ("", "---")
              and ipaddress.ip_address(r["outside_local_ip"]) in far_lan]
    assert not leaked, (f"traffic to the {other}'s LAN {far_lan} was translated by NAT on the {role} "
                        f"(the route-map must exempt it, or it leaves unencrypted):\n{text}")
