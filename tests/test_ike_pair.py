"""Two bare IKE engines paired in memory, no router: the engine alone, with a fake policy and a fake clock.

In the manner of aioquic's ``client_and_server`` / ``roundtrip``: ``Pair``
carries the datagrams each engine queued to the other on an integer-ns clock,
can lose, duplicate or reorder them, and fires the engines' timers.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from typing import Callable

from emulator.cli.crypto_debug import render_text
from emulator.engines import esp_sa as E
from emulator.engines.ike.core import MAX_RETRANSMITS, RETRANSMIT_INTERVAL
from emulator.engines.ike.engine import TRANSITIONS, IkeEngine
from emulator.engines.ike.events import (
    IkeEvent,
    InitialContact,
    Phase1Established,
    Phase2Established,
    Phase2Failed,
    Phase2Offer,
    Phase2Rejection,
    Phase2Request,
    Phase2Selection,
    SasDeleted,
    Syslog,
    Trace,
)
from emulator.engines.ike.policy import EspTransform, Phase1Proposal, ProxyId
from emulator.engines.ike.sa import MainModeState, QuickModeState
from emulator.wire import isakmp as K

A = IPv4Address("192.0.2.1")
B = IPv4Address("198.51.100.1")
DES_MD5 = EspTransform(E.ESP_DES, E.AUTH_HMAC_MD5)


@dataclass
class FakePolicy:
    psk: bytes = b"shared secret"
    spi: int = 0x1000
    ipsec_sas: bool = False
    limit: int | None = None
    offers: list[Phase2Offer] = field(default_factory=list)

    def psk_for(self, peer: IPv4Address) -> bytes | None:
        return self.psk

    def isakmp_policies(self) -> list[Phase1Proposal]:
        return [Phase1Proposal(K.ENC_DES_CBC, K.HASH_MD5, K.AUTH_PRE_SHARED, 1, 86400, None, 10)]

    def select_phase2(self, offer: Phase2Offer, now: int) -> Phase2Selection | Phase2Rejection:
        self.offers.append(offer)
        prop = offer.proposals[0]
        return Phase2Selection(prop, "ts", 3600, 4608000, prop.group, context=("accepted", offer.remote_proxy))

    def allocate_spi(self, peer: IPv4Address, local: IPv4Address) -> int:
        self.spi += 1
        return self.spi

    def peek_conn_ids(self) -> tuple[int, int]:
        return 2000, 2001

    def has_ipsec_sas(self, peer: IPv4Address, local: IPv4Address) -> bool:
        return self.ipsec_sas

    def in_negotiation_limit(self) -> int | None:
        return self.limit


class Side:
    def __init__(self, address: IPv4Address, seed: int, policy: FakePolicy):
        self.address = address
        self.policy = policy
        self.engine = IkeEngine(policy, random.Random(seed))
        self.events: list[IkeEvent] = []

    def drain(self) -> None:
        event = self.engine.next_event()
        while event is not None:
            self.events.append(event)
            event = self.engine.next_event()

    def of(self, kind: type) -> list:
        return [e for e in self.events if isinstance(e, kind)]

    def traces(self) -> list[str]:
        return [e.kind for e in self.events if isinstance(e, Trace)]


Deliver = Callable[[list[tuple["Side", "Side", bytes]]], list[tuple["Side", "Side", bytes]]]


class Pair:
    """Initiator ``i`` at A, responder ``r`` at B; ``now`` is lab time in ns."""

    def __init__(self, i_policy: FakePolicy | None = None, r_policy: FakePolicy | None = None):
        self.i = Side(A, 1, i_policy or FakePolicy())
        self.r = Side(B, 2, r_policy or FakePolicy(spi=0x2000))
        self.now = 0
        self.sent: list[tuple[Side, bytes]] = []
        self.deliver: Deliver = lambda batch: batch     # may drop, duplicate or reorder a batch

    def other(self, side: Side) -> Side:
        return self.r if side is self.i else self.i

    def roundtrip(self) -> int:
        """Carry datagrams both ways until neither side has any; how many were carried."""
        carried = 0
        while True:
            batch = []
            for side in (self.i, self.r):
                for src, dst, _sp, _dp, payload in side.engine.datagrams_to_send(self.now):
                    assert (src, dst) == (side.address, self.other(side).address)
                    batch.append((side, self.other(side), payload))
                    self.sent.append((side, payload))
                side.drain()
            if not batch:
                return carried
            self.now += 2 * 10**6
            for src_side, dst_side, payload in self.deliver(batch):
                carried += 1
                dst_side.engine.receive("Serial0", src_side.address, dst_side.address, payload, self.now)
                dst_side.drain()

    def advance(self, duration: int) -> None:
        """Fire every timer due within ``duration``, carrying what each one sends."""
        end = self.now + duration
        while True:
            due = [(t, s) for s in (self.i, self.r) if (t := s.engine.get_timer()) is not None and t <= end]
            if not due:
                break
            when, side = min(due, key=lambda d: d[0])
            self.now = max(self.now, when)
            side.engine.handle_timer(self.now)
            side.drain()
            self.roundtrip()
        self.now = end

    def request(self, local_net: str = "10.1.1.0", remote_net: str = "10.2.2.0", spi: int = 0x501) -> Phase2Request:
        mask = 0xFFFFFF00
        req = Phase2Request(B, A, "Serial0", ProxyId(int(IPv4Address(local_net)), mask),
                            ProxyId(int(IPv4Address(remote_net)), mask), [("ts", DES_MD5)], 3600, 4608000, None,
                            spi, context=("flow", local_net))
        self.i.engine.request_phase2(req, self.now)
        self.i.drain()
        return req


def test_the_transition_table_names_handlers_the_engine_has():
    engine = IkeEngine(FakePolicy(), random.Random(0))
    assert all(callable(getattr(engine, step.handler)) for step in TRANSITIONS.values())
    assert {step.next_state for step in TRANSITIONS.values()} >= {MainModeState.QM_IDLE,
                                                                   QuickModeState.IKE_QM_PHASE2_COMPLETE}


def test_main_mode_and_quick_mode_complete_with_the_same_keys_on_both_sides():
    p = Pair()
    p.request()
    assert p.roundtrip() == 9           # MM1-MM6, QM1-QM3
    (ii,), (rr,) = p.i.engine.sas(), p.r.engine.sas()
    assert (ii.state, rr.state) == ("QM_IDLE", "QM_IDLE") == (MainModeState.QM_IDLE, MainModeState.QM_IDLE)
    assert ii.keys == rr.keys and ii.keys is not None
    assert [type(e) for e in p.i.events if not isinstance(e, Trace)] == [Phase1Established, Phase2Established]
    assert [type(e) for e in p.r.events if not isinstance(e, Trace)] == [InitialContact, Phase1Established,
                                                                          Phase2Established]
    (iq,), (rq,) = p.i.of(Phase2Established), p.r.of(Phase2Established)
    ri, rr_ = iq.result, rq.result
    assert (ri.initiator, rr_.initiator) == (True, False)
    assert (ri.spi_in, ri.spi_out) == (0x501, 0x2001) and (rr_.spi_in, rr_.spi_out) == (0x2001, 0x501)
    assert ri.keys_in == rr_.keys_out and ri.keys_out == rr_.keys_in
    assert len(ri.keys_in[0]) == 8 and len(ri.keys_in[1]) == 16          # DES key, HMAC-MD5 key
    assert ri.context == ("flow", "10.1.1.0") and rr_.context == ("accepted", ri.local_proxy)
    assert (rr_.local_proxy, rr_.remote_proxy) == (ri.remote_proxy, ri.local_proxy)
    # the initiator announced its first contact in MM5, the responder read it
    assert "send_initial_contact" in p.i.traces() and "process_initial_contact" in p.r.traces()
    assert p.i.engine.get_timer() == ii.expires_at      # only lifetimes left to wait for


def test_traces_are_records_the_cli_words():
    p = Pair()
    p.request()
    p.roundtrip()
    sending = next(e for e in p.i.events if isinstance(e, Trace) and e.kind == "sending")
    assert sending.category == "crypto isakmp" and dict(sending.fields) == {
        "peer": B, "role": "I", "state": "MM_NO_STATE", "conn": 1}
    assert render_text(sending) == "ISAKMP (0:1): sending packet to 198.51.100.1 (I) MM_NO_STATE"
    assert not any("\n" in str(v) for e in p.i.of(Trace) for v in e.fields.values())


def test_a_lost_message_is_retransmitted_and_the_exchange_completes():
    p = Pair()
    lost = []

    def lose_first_mm2(batch):
        if not lost and batch and batch[0][0] is p.r:
            lost.append(batch[0])
            return batch[1:]
        return batch
    p.deliver = lose_first_mm2
    p.request()
    p.roundtrip()
    assert [s.state for s in p.i.engine.sas()] == ["MM_NO_STATE"]
    assert [s.state for s in p.r.engine.sas()] == ["MM_SA_SETUP"]
    p.advance(RETRANSMIT_INTERVAL)
    assert "retransmitting_phase1" in p.i.traces()          # MM1 again after 10 s
    assert "phase1_duplicate" in p.r.traces()               # answered with the copy of MM2
    assert len(p.i.of(Phase2Established)) == len(p.r.of(Phase2Established)) == 1


def test_duplicated_messages_are_answered_once_and_do_not_repeat_the_negotiation():
    p = Pair()
    seen: set[bytes] = set()

    def duplicate_once(batch):     # every message arrives twice (a copy of a copy is not made again)
        out = []
        for item in batch:
            out += [item, item] if item[2] not in seen else [item]
            seen.add(item[2])
        return out
    p.deliver = duplicate_once
    p.request()
    p.roundtrip()
    assert len(p.i.of(Phase2Established)) == len(p.r.of(Phase2Established)) == 1
    assert p.r.traces().count("phase1_duplicate") >= 2 and "phase2_duplicate" in p.r.traces()
    assert len(p.i.engine.sas()) == len(p.r.engine.sas()) == 1


def test_reordered_quick_modes_both_complete():
    p = Pair()
    p.deliver = lambda batch: batch[::-1]
    p.request("10.1.1.0", "10.2.2.0", spi=0x501)
    p.request("10.1.3.0", "10.2.4.0", spi=0x502)       # queued behind the same main mode
    p.roundtrip()
    starts = [e for e in p.i.of(Trace) if e.kind == "beginning_quick_mode"]
    assert len(starts) == 2
    got = sorted(e.result.spi_in for e in p.i.of(Phase2Established))
    assert got == [0x501, 0x502] and len(p.r.of(Phase2Established)) == 2
    assert [o.remote_proxy.address for o in p.r.policy.offers] == [IPv4Address("10.1.3.0"), IPv4Address("10.1.1.0")]


def test_wrong_pre_shared_key_fails_as_ios_reports_it():
    p = Pair(r_policy=FakePolicy(psk=b"another secret", spi=0x2000))
    req = p.request()
    p.roundtrip()
    assert [s.state for s in p.i.engine.sas()] == [s.state for s in p.r.engine.sas()] == ["MM_KEY_EXCH"]
    # the responder cannot read MM5: IOS's syslog and debug, no Python error text
    assert p.r.of(Syslog)[0].text == ("%CRYPTO-4-IKMP_BAD_MESSAGE: IKE message from 192.0.2.1 failed its "
                                      "sanity check or is malformed")
    bad = [render_text(e) for e in p.r.of(Trace) if e.kind == "reserved_not_zero"]
    assert bad == ["ISAKMP: reserved not zero on payload 5!\nISAKMP: malformed payload"]
    p.advance((MAX_RETRANSMITS + 1) * RETRANSMIT_INTERVAL)
    assert p.i.engine.sas() == []
    (failed,) = p.i.of(Phase2Failed)
    assert failed.request is req and failed.reason == "death by retransmission P1"
    assert p.r.engine.stats["bad message"] >= MAX_RETRANSMITS + 1   # every copy of MM5 refused


def test_quick_mode_before_main_mode_ends_is_dropped_and_counted():
    p = Pair()
    held = []

    def hold_mm5(batch):
        out = []
        for item in batch:
            if item[0] is p.i and K.IsakmpMessage.decode(item[2]).encrypted and not held:
                held.append(item)
            else:
                out.append(item)
        return out
    p.deliver = hold_mm5
    p.request()
    p.roundtrip()
    (rsa,) = p.r.engine.sas()
    assert rsa.state == "MM_KEY_EXCH"
    # a quick mode message on these cookies while the responder still waits for MM5
    early = K.IsakmpMessage(rsa.icookie, rsa.rcookie, K.EXCH_QUICK_MODE, flags=K.FLAG_ENCRYPTION,
                            message_id=0x1234, encrypted_body=bytes(16), first_payload=K.PT_HASH).encode()
    p.r.engine.receive("Serial0", A, B, early, p.now)
    p.r.drain()
    assert p.r.engine.stats["quick mode before phase 1"] == 1
    assert rsa.state == "MM_KEY_EXCH" and "qm_before_phase1" in p.r.traces()
    assert p.r.engine.datagrams_to_send() == []
    p.deliver = lambda batch: batch
    p.r.engine.receive("Serial0", A, B, held[0][2], p.now)      # MM5 after all: phase 1 goes on
    p.r.drain()
    p.roundtrip()
    assert len(p.i.of(Phase2Established)) == len(p.r.of(Phase2Established)) == 1


def test_a_delete_is_reported_with_the_spis_it_names():
    p = Pair()
    p.request()
    p.roundtrip()
    assert p.r.engine.send_delete(A, [0x2001])
    p.r.drain()
    p.roundtrip()
    assert p.i.of(SasDeleted) == [SasDeleted(B, A, (0x2001,))]


def test_no_initial_contact_while_ipsec_sas_with_the_peer_exist():
    p = Pair(i_policy=FakePolicy(ipsec_sas=True))
    p.request()
    p.roundtrip()
    assert "send_initial_contact" not in p.i.traces() and "process_initial_contact" not in p.r.traces()
    assert len(p.r.of(Phase2Established)) == 1
