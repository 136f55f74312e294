"""Named causes of a failed claim, read from what the routers' CLI shows.

Each outcome is a (code, text) pair an engineer recognises: the report and the
JUnit properties carry the codes, so a CI system can count them too.
"""

from __future__ import annotations

import ipaddress

from drivers.base import DriverError
from suites.parsing import ParseError, parse

NO_IPCP_ADDRESS = "no-ipcp-address"
NO_ROUTE = "no-route"
PHASE1_NOT_STARTED = "phase1-not-started"
PHASE1_NO_POLICY = "phase1-no-policy-match"
PHASE1_PSK = "phase1-psk-mismatch"
PHASE2 = "phase2-not-established"
NAT_NOT_EXEMPT = "nat-not-exempt"
HUB_INITIATES = "hub-can-initiate"


def _show(session, command):
    try:
        text = session.send(command)
        return text, parse(command, text)
    except (DriverError, ParseError):
        return "", []


def diagnose(driver, scenario, role: str = "remote") -> list[tuple[str, str]]:
    """What the CLI says went wrong between the hub and the remote ``role`` (``remote``, ``remote2``...),
    most basic cause first."""
    out: list[tuple[str, str]] = []
    try:
        hub, remote = driver.session("hub"), driver.session(role)
    except DriverError as err:
        return [("unreachable", f"cannot reach the routers: {err}")]
    the = "the remote" if role == "remote" else f"the remote {role}"
    wan = scenario[scenario.remote_key(role, "wan_interface")]
    _, records = _show(remote, f"show interfaces {wan}")
    if not records or not records[0].get("ip_address"):
        out.append((NO_IPCP_ADDRESS, f"{the}'s {wan} has no address from IPCP (is 'peer default ip address' "
                                     "set on the access server, and is its pool free?)"))
        return out
    # Exercise the tunnel once, as the document does, so that its state shows.
    try:
        remote.send(f"ping {scenario['hub.lan_address']} source {scenario[scenario.remote_key(role, 'lan_address')]}")
    except DriverError:
        pass
    route_text = remote.send("show ip route")
    if "0.0.0.0/0" not in route_text:
        out.append((NO_ROUTE, f"{the} has no default route to its serial interface"))
    _, ike = _show(remote, "show crypto isakmp sa")
    hub_addr = scenario["hub.wan_address"]
    mine = [r for r in ike if hub_addr in (r.get("dst"), r.get("src"))]
    states = {r.get("state") for r in mine}
    if not mine:
        out.append((PHASE1_NOT_STARTED, f"no phase 1 SA with {hub_addr}: IKE never started (no crypto map "
                                        "traffic, or the peer is unreachable)"))
    elif "QM_IDLE" not in states:
        if states & {"MM_KEY_EXCH"}:
            out.append((PHASE1_PSK, "phase 1 stopped at MM_KEY_EXCH: the pre-shared keys do not match"))
        else:
            out.append((PHASE1_NO_POLICY, f"phase 1 not established ({', '.join(sorted(s for s in states if s))}): "
                                          "no ISAKMP policy in common, or the peer does not answer"))
    else:
        _, sa = _show(remote, "show crypto ipsec sa")
        live = [f for f in sa if f.get("entry") == "ident" and f.get("current_peer") == hub_addr
                and (f.get("current_outbound_spi") or "0").strip("0x")]
        if not live:
            out.append((PHASE2, "phase 1 is up but phase 2 is not: the transform sets or the proxy identities "
                                "(crypto access lists, mirror images of each other) do not match"))
    far = ipaddress.ip_network(scenario["hub.lan_network"])
    _, nat = _show(remote, "show ip nat translations")   # NAT on the remote that failed
    for row in nat:
        ip = row.get("outside_local_ip", "")
        if ip and ip != "---" and ipaddress.ip_address(ip) in far:
            out.append((NAT_NOT_EXEMPT, "traffic to the other LAN is translated by NAT, so it no longer matches "
                                        "the crypto access list and leaves unencrypted (route-map exemption)"))
            break
    _, hub_map = _show(hub, "show crypto map")
    if any(r.get("peers") and not r.get("dynamic_from_map") and not r.get("dynamic_map_template") for r in hub_map):
        out.append((HUB_INITIATES, "the hub has a static crypto map entry with a peer: it can initiate, "
                                   "unlike the document's dynamic-only hub"))
    return out
