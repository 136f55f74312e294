"""IKEv1 for one router: main mode and quick mode with pre-shared keys (RFC 2409).

Sans-I/O in the manner of aioquic's ``QuicConnection``: :meth:`IkeEngine.receive`
takes one UDP 500 payload and the current time (integer nanoseconds of lab
time), :meth:`datagrams_to_send` hands out what to send, :meth:`next_event`
what happened (``events.Phase1Established``, ``Phase2Established``,
``Phase2Failed``, ``SasDeleted``, ``InitialContact``, a ``Trace`` per debug
line and a ``Syslog`` per log message), :meth:`get_timer` /
:meth:`handle_timer` drive retransmissions and lifetimes.  Policy questions
go to the ``events.IkePolicy`` given at construction.  Every random value
(cookies, nonces, message IDs, DH private values) comes from the
``random.Random`` given too, so a lab seed fixes them.

Exchanges (RFC 2409 §5.4 main mode with pre-shared keys, §5.5 quick mode):

    MM1 I->R  HDR, SA                      MM2 R->I  HDR, SA
    MM3 I->R  HDR, KE, Ni                  MM4 R->I  HDR, KE, Nr
    MM5 I->R  HDR*, IDii, HASH_I [, N(INITIAL-CONTACT)]
                                           MM6 R->I  HDR*, IDir, HASH_R
    QM1 I->R  HDR*, HASH(1), SA, Ni [, KE] [, IDci, IDcr]
    QM2 R->I  HDR*, HASH(2), SA, Nr [, KE] [, IDci, IDcr] [, N(RESPONDER-LIFETIME)]
    QM3 I->R  HDR*, HASH(3)

The state machine is one table, :data:`TRANSITIONS`, in the manner of h11's
``_state.py``: (state, exchange, role) -> the handler of that message and the
state the SA is in once the handler's reply is sent.  No commit bit, no vendor
IDs, no NAT-T, no aggressive mode: 12.2(24a) mainline has no NAT-T (reference
§1.2) and the 12.1/12.2 debug sample (§3.2) shows no vendor ID processing.
INITIAL-CONTACT (RFC 2407 §4.6.3.3) goes in MM5 when this is the first SA with
the peer, as IOS does (reference §3.3: ``Send initial contact`` before MM5).

Retransmission: a side waiting for the next message resends its last one
every 10 seconds (12.x capture: ``00:01:01 ... sending packet (R)
MM_SA_SETUP`` then ``00:01:11 ... retransmitting``, itcertnotes.blogspot.com
2011, "IPsec Stuck in MM_SA_SETUP and MM_NO_STATE"), 5 times, then gives up
(``death by retransmission P1``/``P2``; the count of 5 is from memory of IOS
debugs, not from a source here).  A copy of the last message received is
answered with the last message sent (``phase 1 packet is a duplicate of a
previous packet.``, same capture).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from ipaddress import IPv4Address

from emulator.engines.deadlines import earliest, take_due
from emulator.engines.ike.core import (
    DONE_QM_KEEP,
    ISAKMP,
    ISAKMP_PORT,
    MAX_RETRANSMITS,
    RETRANSMIT_INTERVAL,
    ZERO_COOKIE,
    Bad,
    Datagram,
    one_call,
)
from emulator.engines.ike.events import (
    IkeEvent,
    IkePolicy,
    Phase1Established,
    Phase2Offer,
    Phase2Rejection,
    Phase2Request,
    Phase2Result,
    Phase2Selection,
)
from emulator.engines.ike.informational import Informational
from emulator.engines.ike.main_mode import MainMode
from emulator.engines.ike.policy import Phase1Proposal
from emulator.engines.ike.sa import IkeSA, MainModeState, QuickMode, QuickModeState, Role, signed_mid
from emulator.wire import isakmp as K
from emulator.wire.errors import DecodeError

__all__ = ["IkeEngine", "IkeSA", "Phase2Request", "Phase2Offer", "Phase2Selection", "Phase2Rejection",
           "Phase2Result", "RETRANSMIT_INTERVAL", "MAX_RETRANSMITS", "ISAKMP_PORT", "TRANSITIONS", "Transition",
           "IkeEvent", "Datagram", "signed_mid"]

MM, QM = K.EXCH_MAIN_MODE, K.EXCH_QUICK_MODE
INIT, RESP = Role.INITIATOR, Role.RESPONDER
S = MainModeState
Q = QuickModeState
MAX_QUICK_MODES = 64     # exchanges in progress on one ISAKMP SA before new ones are refused


@dataclass(frozen=True)
class Transition:
    """A message received in ``state``: ``handler`` reads it; the SA (or node) then is in ``next_state``
    and the handler's reply, if any, goes out (retransmitted until answered when ``timed``)."""

    handler: str
    next_state: MainModeState | QuickModeState | None
    timed: bool = False


# (state, exchange, role) -> transition.  Main mode states belong to the ISAKMP SA; quick mode states to a
# node (one message ID), None being a message ID not seen before.  An exchange a state has no row for is
# dropped and counted.
TRANSITIONS: dict[tuple[MainModeState | QuickModeState | None, int, Role | None], Transition] = {
    (S.MM_NO_STATE, MM, INIT): Transition("_mm2", S.MM_SA_SETUP, timed=True),
    (S.MM_SA_SETUP, MM, INIT): Transition("_mm4", S.MM_KEY_EXCH, timed=True),
    (S.MM_KEY_EXCH, MM, INIT): Transition("_mm6", S.QM_IDLE),
    (S.MM_SA_SETUP, MM, RESP): Transition("_mm3", S.MM_KEY_EXCH, timed=True),
    (S.MM_KEY_EXCH, MM, RESP): Transition("_mm5", S.QM_IDLE),
    (None, QM, None): Transition("_qm1", Q.IKE_QM_R_QM2),
    (Q.IKE_QM_I_QM1, QM, None): Transition("_qm2", Q.IKE_QM_PHASE2_COMPLETE),
    (Q.IKE_QM_R_QM2, QM, None): Transition("_qm3", Q.IKE_QM_PHASE2_COMPLETE),
}


class IkeEngine(MainMode, Informational):
    """The ISAKMP SAs of one router and their exchanges (see the module docstring)."""

    def __init__(self, policy: IkePolicy, rng: random.Random):
        super().__init__(policy, rng)
        self._sa_bodies: dict[tuple[Phase1Proposal, ...], bytes] = {}

    # ------------------------------------------------------------ public
    def find(self, conn_id: int) -> IkeSA | None:
        return next((sa for sa in self._sas.values() if sa.conn_id == conn_id), None)

    @one_call
    def request_phase2(self, req: Phase2Request, now: int) -> None:
        """Negotiate SAs for ``req``: quick mode on an IKE SA to the peer, main mode first if none."""
        same_peer = self.peer_sas(req.peer)
        for sa in same_peer:
            if sa.established and sa.local == req.local:
                self._start_quick_mode(sa, req, now)
                return
        for sa in same_peer:
            if sa.initiator and not sa.established and sa.local == req.local:
                sa.pending.append(req)
                return
        if not self._admit(req.peer, incoming=False):
            self._fail(req, "in-negotiation limit")
            return
        self._trace("received_ke_message", index=1)
        psk = self.policy.psk_for(req.peer)
        if psk is None:
            self._trace("no_key", peer=req.peer)
            self._fail(req, "no pre-shared key")
            return
        offers = [p for p in self.policy.isakmp_policies() if p.auth == K.AUTH_PRE_SHARED]
        if not offers:
            self._trace("no_psk_policy")
            self._fail(req, "no usable ISAKMP policy")
            return
        sa = IkeSA(self._conn_id(), True, req.local, req.peer, req.iface, self.rng.randbytes(8), ZERO_COOKIE,
                   now, psk=psk, offered=offers, pending=[req])
        self._add_sa(sa)
        self._trace("local_port")
        self._trace("beginning_main_mode", sa)
        sa.sai_b = self._phase1_sa_body(offers)
        self._send(sa, K.message_bytes(sa.icookie, sa.rcookie, K.EXCH_MAIN_MODE, K.PT_SA,
                                       K.with_generic_header(sa.sai_b)), now=now)

    def _phase1_sa_body(self, offers: list[Phase1Proposal]) -> bytes:
        """MM1's SA payload body (SAi_b): one ISAKMP transform per policy offered, encoded once per set of
        policies (the bodies kept for the last few sets)."""
        key = tuple(offers)
        body = self._sa_bodies.get(key)
        if body is None:
            sa_payload = K.SAPayload([K.Proposal(1, K.PROTO_ISAKMP, b"",
                                                 [p.to_transform(n) for n, p in enumerate(offers, start=1)])])
            body = sa_payload.encode_body()
            if len(self._sa_bodies) >= 8:
                self._sa_bodies.clear()
            self._sa_bodies[key] = body
        return body

    def remove_stale(self, iface: str, current: IPv4Address | None, now: int) -> int:
        """``iface``'s address is now ``current``: ISAKMP SAs bound to another address on it go (the peer
        cannot be told from an address the router no longer has); how many went."""
        gone = [sa for sa in self.sas() if sa.iface == iface and sa.local != current]
        for sa in gone:
            self._trace("deleting_sa_reason", sa, reason="local address changed")
            self.delete_sa(sa, "local address changed", now)
        return len(gone)

    # ------------------------------------------------------------ timers
    def get_timer(self) -> int | None:
        return earliest(self._deadlines, self._live)

    @one_call
    def handle_timer(self, now: int) -> None:
        # Only the SAs with a deadline due are visited, in the order they were made.
        due = dict(take_due(self._deadlines, now, self._live))       # by conn id
        for _, sa in sorted(due.items()):
            if self._sa_timers(sa, now):
                for qm in list(sa.quick.values()):
                    self._qm_timers(sa, qm, now)

    def _sa_timers(self, sa: IkeSA, now: int) -> bool:
        """Lifetime and retransmission of one ISAKMP SA; False once it is deleted."""
        if sa.expires_at is not None and now >= sa.expires_at:
            self._trace("purging_sa", sa, lifetime=sa.prop.lifetime)
            self.delete_sa(sa, "lifetime expired", now, notify_peer=True)
            return False
        if sa.retransmit_at is not None and now >= sa.retransmit_at:
            if sa.retransmits >= MAX_RETRANSMITS:
                self._trace("deleting_sa_reason", sa, reason="death by retransmission P1")
                self.delete_sa(sa, "death by retransmission P1", now)
                return False
            sa.retransmits += 1
            self._trace("retransmit_counter", sa)
            self._trace("retransmitting_phase1", sa, state=sa.state)
            self._send(sa, sa.last_sent, note=False, arm=False)
            sa.retransmit_at = self._arm(sa, now + RETRANSMIT_INTERVAL)
        return True

    def _qm_timers(self, sa: IkeSA, qm: QuickMode, now: int) -> None:
        if qm.done_at is not None:
            if now - qm.done_at > DONE_QM_KEEP:
                del sa.quick[qm.message_id]
            return
        if qm.retransmit_at is None or now < qm.retransmit_at:
            return
        if qm.retransmits >= MAX_RETRANSMITS:
            self._trace("deleting_node", sa, mid=qm.message_id, error=True, reason="death by retransmission P2")
            self._qm_abort(sa, qm, "death by retransmission P2")
            return
        qm.retransmits += 1
        self._trace("retransmitting_phase2", sa, mid=qm.message_id)
        self._send(sa, qm.last_sent, note=False, arm=False)
        qm.retransmit_at = self._arm(sa, now + RETRANSMIT_INTERVAL)

    # ------------------------------------------------------------ receive
    @one_call
    def receive(self, iface: str, src: IPv4Address, dst: IPv4Address, data: bytes, now: int) -> None:
        try:
            msg = K.IsakmpMessage.decode(data)
        except DecodeError:
            self._count("malformed")
            self._bad_message_log(src)
            self._trace("malformed_payload")
            return
        sa = self._sas.get((msg.icookie, src))
        if sa is None:
            if msg.exchange == MM and msg.rcookie == ZERO_COOKIE and not msg.encrypted:
                self._mm_new_responder(iface, src, dst, msg, data, now)
            else:
                self._count("unknown cookies")
                self._trace("unknown_cookies", peer=src)
            return
        if sa.initiator and sa.rcookie == ZERO_COOKIE:
            if msg.exchange == MM:
                sa.rcookie = msg.rcookie
            elif msg.exchange == K.EXCH_INFORMATIONAL and not msg.encrypted:
                self._info_receive(sa, msg, now)  # e.g. NO_PROPOSAL_CHOSEN to our MM1
                return
        if msg.rcookie != sa.rcookie:
            if not sa.initiator and msg.rcookie == ZERO_COOKIE and data == sa.last_received:
                self._dispatch(sa, msg, data, now)  # MM1 again: our MM2 was lost
                return
            self._count("unknown cookies")
            return
        self._dispatch(sa, msg, data, now)

    def _dispatch(self, sa: IkeSA, msg: K.IsakmpMessage, data: bytes, now: int) -> None:
        try:
            if msg.exchange == MM:
                self._mm_receive(sa, msg, data, now)
            elif msg.exchange == QM:
                self._qm_receive(sa, msg, data, now)
            elif msg.exchange == K.EXCH_INFORMATIONAL:
                self._info_receive(sa, msg, now)
            else:
                self._count("unsupported exchange")
                self._trace("unsupported_exchange", sa, exchange=msg.exchange)
        except Bad as bad:
            self._count("bad message")
            if bad.malformed:
                self._bad_message_log(sa.peer)
            self._record(ISAKMP, bad.kind, sa, dict(bad.fields))

    def _mm_receive(self, sa: IkeSA, msg: K.IsakmpMessage, data: bytes, now: int) -> None:
        self._trace("received", sa, peer=sa.peer, role=sa.role, state=sa.state)
        if data == sa.last_received:
            self._trace("phase1_duplicate", sa)
            # Only a reply is sent again: the initiator's MM5 did not answer MM6, so a copy of MM6 (the
            # responder answering a copy of MM5) must not start the two sides echoing each other.
            if sa.last_sent is not None and sa.answered:
                self._trace("retransmitting_due_to_duplicate", sa, phase=1)
                self._send(sa, sa.last_sent, note=False, arm=False)
            return
        step = TRANSITIONS.get((sa.state, MM, sa.role))
        if step is None:
            raise Bad("mm_unexpected", state=sa.state)
        reply: bytes | None = getattr(self, step.handler)(sa, msg, now)
        assert isinstance(step.next_state, MainModeState)
        sa.state = step.next_state
        if reply is not None:
            self._send(sa, reply, now=now if step.timed else None)
        sa.answered = reply is not None
        sa.last_received = data
        if sa.established:
            self._phase1_done(sa, now)

    def _phase1_done(self, sa: IkeSA, now: int) -> None:
        sa.retransmit_at = None
        self._events.append(Phase1Established(sa.conn_id, sa.peer, sa.local, sa.initiator))
        pending, sa.pending = sa.pending, []
        for req in pending:
            self._start_quick_mode(sa, req, now)

    def _qm_receive(self, sa: IkeSA, msg: K.IsakmpMessage, data: bytes, now: int) -> None:
        mid = msg.message_id
        self._trace("received", sa, peer=sa.peer, role=sa.role, state=S.QM_IDLE)
        if not sa.established or mid == 0:
            self._count("quick mode before phase 1")
            raise Bad("qm_before_phase1", state=sa.state)
        qm = sa.quick.get(mid)
        if qm is not None and data == qm.last_received:
            self._trace("phase2_duplicate", sa)
            if qm.last_sent is not None:
                self._trace("retransmitting_due_to_duplicate", sa, phase=2)
                self._send(sa, qm.last_sent, note=False, arm=False)
            return
        step = TRANSITIONS.get((qm.state if qm is not None else None, QM, None))
        if step is None:
            raise Bad("qm_already_complete", mid=mid)
        if qm is None:
            if len(sa.quick) > MAX_QUICK_MODES:
                raise Bad("too_many_quick_modes")
            self._qm1(sa, msg, data, now)
        else:
            getattr(self, step.handler)(sa, qm, msg, data, now)
