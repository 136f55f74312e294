"""Half-open IKE SAs are bounded: a flood of spoofed main-mode first messages into the hub.

2,000 first messages from distinct (spoofed) addresses and cookies reach the hub at once. At most
the in-negotiation limit of them become ISAKMP SAs (the emulator's default, then the one configured
with ``crypto call admission limit ike in-negotiation-sa``), the rest are dropped and counted in
``show crypto call admission statistics``, the half-open SAs go after their retransmissions, and the
document's tunnel still comes up.
"""

from __future__ import annotations

import random
import re
from ipaddress import IPv4Address

from test_hostile_input import HostileLab, _udp, hdlc

from emulator.engines.ike.core import DEFAULT_IN_NEGOTIATION, IN_NEGOTIATION_PER_PEER, MAX_RETRANSMITS
from emulator.labtime import SECOND
from emulator.wire.chdlc import CHDLCFrame
from emulator.wire.ipv4 import IPProto, IPv4Packet
from emulator.wire.udp import UDPDatagram

FLOOD = 2000
IPV4_ETHERTYPE = 0x0800


def _first_message(lab: HostileLab) -> tuple[bytes, IPv4Address]:
    """The remote's main-mode first message, as captured on its way to the hub, and its destination."""
    lab.tunnel_up()
    ike = lab.captured(IPProto.UDP, 500)
    mm1 = UDPDatagram.decode(ike[0].payload, ike[0].src, ike[0].dst).payload
    assert mm1[8:16] == bytes(8), "a first message has no responder cookie"
    for device in (lab.hub, lab.remote):
        lab.run(device, "clear crypto isakmp")
        lab.run(device, "clear crypto sa")
    lab.lab.advance(5 * SECOND)
    return mm1, ike[0].dst


def _flood(lab: HostileLab, mm1: bytes, dst: IPv4Address, rng: random.Random, base: int) -> None:
    """FLOOD first messages, each from its own address and with its own cookie, all on the line at once."""
    for n in range(FLOOD):
        src = IPv4Address(base + n)
        lab.towards_hub.send(hdlc(CHDLCFrame(IPV4_ETHERTYPE, _udp(src, dst, rng.randbytes(8) + mm1[8:])).encode()))


def _from_hub(lab: HostileLab, sent: list[IPv4Packet]):
    hub_port = f"{lab.hub} Serial0"

    def tap(when, direction, frame):
        if direction.endswith(hub_port):
            return
        try:
            packet = IPv4Packet.decode(CHDLCFrame.decode(frame).payload)
        except Exception:  # noqa: BLE001 - keepalives are not IP
            return
        if packet.protocol == IPProto.UDP:
            sent.append(packet)
    return tap


def _stats(lab: HostileLab) -> dict[str, list[int]]:
    out = lab.run(lab.hub, "show crypto call admission statistics")
    rows = {}
    for line in out.splitlines():
        found = re.match(r"([A-Za-z ]+):\s+(\d+) .*?(\d+) .*?(\d+)$", line)
        if found:
            rows[found.group(1)] = [int(found.group(i)) for i in (2, 3, 4)]
    return rows


def test_a_flood_of_spoofed_first_messages_leaves_at_most_the_limit(record_property):
    lab = HostileLab()
    mm1, dst = _first_message(lab)
    hub = lab.lab.devices[lab.hub]
    sent: list[IPv4Packet] = []
    lab.towards_hub.link.taps.append(_from_hub(lab, sent))
    rng = random.Random(2000)
    spoofed = int(IPv4Address("198.18.0.1"))

    before = _stats(lab)["Incoming IKE Requests"]
    assert before == [1, 1, 0]                         # the document's tunnel, from the remote
    _flood(lab, mm1, dst, rng, spoofed)
    lab.lab.advance(3 * SECOND)
    ike = hub.crypto.ike
    assert ike.negotiating() == DEFAULT_IN_NEGOTIATION
    stats = _stats(lab)
    assert stats["System Resource Limit"][2] == DEFAULT_IN_NEGOTIATION
    assert stats["Total IKE SA Count"] == [DEFAULT_IN_NEGOTIATION, 0, DEFAULT_IN_NEGOTIATION]
    assert stats["Incoming IKE Requests"] == [1 + FLOOD, 1 + DEFAULT_IN_NEGOTIATION, FLOOD - DEFAULT_IN_NEGOTIATION]
    assert stats["Rejected IKE Requests"] == [FLOOD - DEFAULT_IN_NEGOTIATION, 0, FLOOD - DEFAULT_IN_NEGOTIATION]

    lab.lab.advance(120 * SECOND)                      # the half-open SAs' retransmissions run out
    assert ike.negotiating() == 0 and ike.sas() == []
    to_spoofed = [p for p in sent if int(p.dst) >= spoofed]
    assert len(to_spoofed) == DEFAULT_IN_NEGOTIATION * (1 + MAX_RETRANSMITS)

    # The limit as configured (IOS 12.3(8)T and later).
    lab.run(lab.hub, "configure terminal")
    lab.run(lab.hub, "version 12.3")
    lab.run(lab.hub, "crypto call admission limit ike in-negotiation-sa 20")
    lab.run(lab.hub, "end")
    _flood(lab, mm1, dst, rng, spoofed + FLOOD)
    lab.lab.advance(3 * SECOND)
    assert ike.negotiating() == 20
    assert _stats(lab)["System Resource Limit"][2] == 20
    lab.lab.advance(120 * SECOND)
    assert ike.negotiating() == 0

    lab.tunnel_up()
    assert lab.errors() == []
    record_property("flood", f"{2 * FLOOD} spoofed first messages: at most {DEFAULT_IN_NEGOTIATION}, then 20 "
                             f"half-open SAs; {len(to_spoofed)} datagrams to spoofed addresses")


def test_one_peer_has_at_most_its_share_of_half_open_sas():
    lab = HostileLab()
    mm1, dst = _first_message(lab)
    rng = random.Random(3)
    src = IPv4Address("198.18.7.7")
    for _ in range(50):
        lab.towards_hub.send(hdlc(CHDLCFrame(IPV4_ETHERTYPE, _udp(src, dst, rng.randbytes(8) + mm1[8:])).encode()))
    lab.lab.advance(2 * SECOND)
    ike = lab.lab.devices[lab.hub].crypto.ike
    assert ike.negotiating(src) == IN_NEGOTIATION_PER_PEER
    assert ike.admission.incoming_rejected == 50 - IN_NEGOTIATION_PER_PEER


def test_the_limit_needs_a_release_that_has_it():
    lab = HostileLab()
    lab.run(lab.hub, "configure terminal")
    out = lab.run(lab.hub, "crypto call admission limit ike in-negotiation-sa 20")
    assert out.endswith("% Invalid input detected at '^' marker.\n\n")
    caret = out.splitlines()[0]
    assert caret.index("^") == len("sam-i-am(config)#crypto ")      # under "call", unknown to 12.2
    lab.run(lab.hub, "end")
    assert "admission" not in lab.run(lab.hub, "show running-config")
