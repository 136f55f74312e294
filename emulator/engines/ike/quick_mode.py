"""Quick mode (RFC 2409 §5.5), three messages, no commit bit.

The initiator installs its SAs when it sends QM3, the responder when QM3
arrives.  Each received message has its handler; ``engine.IkeEngine`` picks
it from the transition table by the node's state.
"""

from __future__ import annotations

from emulator.engines.ike import crypto as C
from emulator.engines.ike import dh as DH
from emulator.engines.ike.core import IPSEC, NONCE_SIZE, RETRANSMIT_INTERVAL, Bad, EngineCore
from emulator.engines.ike.events import (
    Phase2Established,
    Phase2Offer,
    Phase2Rejection,
    Phase2Request,
    Phase2Result,
    Phase2Selection,
)
from emulator.engines.ike.policy import (
    EspTransform,
    OfferedEsp,
    ProxyId,
    build_phase2_sa,
    esp_attributes,
    parse_phase2_sa,
)
from emulator.engines.ike.sa import IkeSA, QuickMode, QuickModeState
from emulator.wire import isakmp as K
from emulator.wire.errors import DecodeError

__all__ = ["QuickModeExchange"]

_Parts = tuple[K.SAPayload | None, K.NoncePayload | None, K.KEPayload | None, list[K.IDPayload],
               list[K.NotificationPayload]]


def _parts(rest: list[K.Payload]) -> _Parts:
    return (next((p for p in rest if isinstance(p, K.SAPayload)), None),
            next((p for p in rest if isinstance(p, K.NoncePayload)), None),
            next((p for p in rest if isinstance(p, K.KEPayload)), None),
            [p for p in rest if isinstance(p, K.IDPayload)],
            [p for p in rest if isinstance(p, K.NotificationPayload)])


class QuickModeExchange(EngineCore):
    # ------------------------------------------------------------ initiator: QM1
    def _start_quick_mode(self, sa: IkeSA, req: Phase2Request, now: int) -> None:
        mid = self._random_mid(sa)
        qm = QuickMode(mid, True, QuickModeState.IKE_QM_I_QM1, req, ni=self.rng.randbytes(NONCE_SIZE))
        qm.offered = [t for _, t in req.transforms]
        payloads: list[K.Payload] = [build_phase2_sa(qm.offered, req.spi, req.lifetime_s, req.lifetime_kb,
                                                     req.pfs_group),
                                     K.NoncePayload(qm.ni)]
        if req.pfs_group:
            qm.dh = self._dh(req.pfs_group)
            payloads.append(K.KEPayload(qm.dh.public_bytes()))
        payloads += [req.local_proxy.to_id_payload(), req.remote_proxy.to_id_payload()]
        rest = K.encode_payloads(payloads)
        h = C.qm_hash1(sa.prop.hash, sa.k.skeyid_a, mid, rest)
        sa.quick[mid] = qm
        self._trace("beginning_quick_mode", sa, mid=mid)
        data = self._encrypted_raw(sa, K.EXCH_QUICK_MODE, mid, K.HashPayload(h).encode(K.PT_SA) + rest)
        qm.last_sent = data
        self._send(sa, data, arm=False)
        qm.retransmit_at = self._arm(sa, now + RETRANSMIT_INTERVAL)

    def _qm_open(self, sa: IkeSA, mid: int, msg: K.IsakmpMessage) -> tuple[bytes, list[K.Payload]]:
        """(hash, payloads after the HASH payload); bad input raises Bad (IV restored)."""
        payloads = self._open(sa, msg)
        if not payloads or not isinstance(payloads[0], K.HashPayload):
            raise Bad("qm_no_hash_first")
        return payloads[0].data, payloads[1:]

    def _proposal_traces(self, sa: IkeSA, o: OfferedEsp) -> None:
        if not self._tracing():
            return
        self._trace("checking_ipsec_proposal", sa, number=o.number)
        if o.transform_id:
            self._trace("ipsec_transform", number=o.transform_number, transform_id=o.transform_id)
            self._trace("ipsec_attributes_header")
            for attr, value in o.attributes:
                self._trace("ipsec_attribute", attr=attr, value=value)

    # ------------------------------------------------------------ responder: QM1 -> QM2
    def _qm1(self, sa: IkeSA, msg: K.IsakmpMessage, data: bytes, now: int) -> None:
        mid = msg.message_id
        try:
            self._qm1_checked(sa, msg, data, now)
        except Bad:
            sa.c.forget(mid)
            raise

    def _qm1_checked(self, sa: IkeSA, msg: K.IsakmpMessage, data: bytes, now: int) -> None:
        mid = msg.message_id
        hash1, rest = self._qm_open(sa, mid, msg)
        self._trace("set_new_node", mid=mid)
        if hash1 != C.qm_hash1(sa.prop.hash, sa.k.skeyid_a, mid, b"".join(p.raw for p in rest)):
            self._trace("processing", sa, payload="HASH", mid=mid)
            raise Bad("qm_hash_mismatch", number=1)
        self._trace("processing", sa, payload="HASH", mid=mid)
        sa_p, nonce, ke, ids, _notes = _parts(rest)
        if sa_p is None or nonce is None or len(ids) not in (0, 2):
            raise Bad("qm1_incomplete")
        self._trace("processing", sa, payload="SA", mid=mid)
        offers = parse_phase2_sa(sa_p)
        for o in offers:
            self._proposal_traces(sa, o)
            if o.reason:
                self._trace("reason", sa, reason=o.reason)
                self._trace("ipsec_atts_not_acceptable", sa)
            else:
                self._trace("ipsec_atts_acceptable", sa)
        self._trace("processing", sa, payload="NONCE", mid=mid)
        if ke is not None:
            self._trace("processing", sa, payload="KE", mid=mid)
        if ids:
            self._trace("processing", sa, payload="ID", mid=mid)
            self._trace("processing", sa, payload="ID", mid=mid)
            try:
                remote_proxy, local_proxy = ProxyId.from_id_payload(ids[0]), ProxyId.from_id_payload(ids[1])
            except ValueError:
                sa.c.forget(mid)
                self._qm_reject(sa, offers, K.INVALID_ID_INFORMATION)
                return
        else:  # RFC 2409 §5.5: no IDs means the ISAKMP endpoints
            remote_proxy, local_proxy = ProxyId.host(sa.peer), ProxyId.host(sa.local)
        usable = tuple(o for o in offers if not o.reason)
        offer = Phase2Offer(sa.peer, sa.local, sa.iface, local_proxy, remote_proxy, usable, mid)
        choice = self.policy.select_phase2(offer, now)
        self._events.extend(choice.traces)
        if isinstance(choice, Phase2Rejection):
            sa.c.forget(mid)
            self._qm_reject(sa, offers, choice.notify)
            return
        self._qm2_send(sa, msg, data, now, choice, ke, nonce, ids, offers, local_proxy, remote_proxy)

    def _qm2_send(self, sa: IkeSA, msg: K.IsakmpMessage, data: bytes, now: int, choice: Phase2Selection,
                  ke: K.KEPayload | None, nonce: K.NoncePayload, ids: list[K.IDPayload], offers: list[OfferedEsp],
                  local_proxy: ProxyId, remote_proxy: ProxyId) -> None:
        mid = msg.message_id
        prop = choice.proposal
        assert prop.transform is not None
        group = prop.group
        qm = QuickMode(mid, False, QuickModeState.IKE_QM_R_QM2, ni=nonce.data, nr=self.rng.randbytes(NONCE_SIZE))
        gxy = None
        if group:
            if ke is None:
                sa.c.forget(mid)
                self._qm_reject(sa, offers, K.NO_PROPOSAL_CHOSEN)
                return
            try:
                qm.dh = self._dh(group)
                gxy = qm.dh.shared_secret(ke.data)
            except DH.DHError:
                sa.c.forget(mid)
                self._qm_reject(sa, offers, K.NO_PROPOSAL_CHOSEN)
                return
        self._trace("asking_spi", sa)
        spi_in = self.policy.allocate_spi(sa.peer, sa.local)
        self._trace("key_engine_queue_event", category=IPSEC)
        self._trace("spi_response", category=IPSEC, spi=spi_in, peer=sa.peer, local=sa.local)
        self._trace("received_ke_message", index=2)
        t = prop.transform
        reply: list[K.Payload] = [
            K.SAPayload([K.Proposal(prop.number, K.PROTO_IPSEC_ESP, spi_in.to_bytes(4, "big"),
                                    [K.Transform(prop.transform_number, t.cipher,
                                                 esp_attributes(t, prop.lifetime_s, prop.lifetime_kb, group))])]),
            K.NoncePayload(qm.nr)]
        if qm.dh is not None:
            reply.append(K.KEPayload(qm.dh.public_bytes()))
        reply += [K.IDPayload(i.id_type, i.protocol, i.port, i.data) for i in ids]
        reply += self._responder_lifetime(prop, choice, spi_in)
        rest_out = K.encode_payloads(reply)
        hash2 = C.qm_hash2(sa.prop.hash, sa.k.skeyid_a, mid, qm.ni, rest_out)
        keys_in, keys_out = self._esp_keys(sa, t, spi_in, prop.spi, qm.ni, qm.nr, gxy)
        qm.result = Phase2Result(False, sa.peer, sa.local, sa.iface, sa.conn_id, local_proxy, remote_proxy, t,
                                 choice.transform_set, choice.lifetime_s, choice.lifetime_kb, group, spi_in,
                                 prop.spi, keys_in, keys_out, mid, choice.context)
        qm.last_received = data
        sa.quick[mid] = qm
        out = self._encrypted_raw(sa, K.EXCH_QUICK_MODE, mid, K.HashPayload(hash2).encode(K.PT_SA) + rest_out)
        qm.last_sent = out
        self._send(sa, out, arm=False)
        qm.retransmit_at = self._arm(sa, now + RETRANSMIT_INTERVAL)

    @staticmethod
    def _responder_lifetime(prop: OfferedEsp, choice: Phase2Selection, spi_in: int) -> list[K.Payload]:
        """RFC 2407 §4.6.3.1 RESPONDER-LIFETIME when we accept shorter lifetimes than offered."""
        life_attrs = []
        if prop.lifetime_s and choice.lifetime_s < prop.lifetime_s:
            life_attrs += [K.Attribute(K.IPSEC_SA_LIFE_TYPE, K.LIFE_SECONDS),
                           K.Attribute(K.IPSEC_SA_LIFE_DURATION, choice.lifetime_s)]
        if prop.lifetime_kb and choice.lifetime_kb < prop.lifetime_kb:
            life_attrs += [K.Attribute(K.IPSEC_SA_LIFE_TYPE, K.LIFE_KILOBYTES),
                           K.Attribute(K.IPSEC_SA_LIFE_DURATION, choice.lifetime_kb.to_bytes(4, "big"))]
        if not life_attrs:
            return []
        return [K.NotificationPayload(K.RESPONDER_LIFETIME, K.PROTO_IPSEC_ESP, spi_in.to_bytes(4, "big"),
                                      b"".join(a.encode() for a in life_attrs))]

    def _qm_reject(self, sa: IkeSA, offers: list[OfferedEsp], notify: int) -> None:
        self._trace("ipsec_policy_invalidated", sa)
        self._trace("sa_not_acceptable", sa)
        self._syslog(f"%CRYPTO-6-IKMP_MODE_FAILURE: Processing of Quick mode failed with peer at {sa.peer}")
        spi = next((o.spi for o in offers if o.spi), 0)
        self._send_informational(sa, K.NotificationPayload(notify, K.PROTO_IPSEC_ESP,
                                                           spi.to_bytes(4, "big") if spi else b""))
        self._count("phase 2 rejected")

    # ------------------------------------------------------------ initiator: QM2 -> QM3
    def _qm2(self, sa: IkeSA, qm: QuickMode, msg: K.IsakmpMessage, data: bytes, now: int) -> None:
        mid = msg.message_id
        req = qm.request
        assert req is not None
        hash2, rest = self._qm_open(sa, mid, msg)
        self._trace("processing", sa, payload="HASH", mid=mid)
        if hash2 != C.qm_hash2(sa.prop.hash, sa.k.skeyid_a, mid, qm.ni, b"".join(p.raw for p in rest)):
            raise Bad("qm_hash_mismatch", number=2)
        sa_p, nonce, ke, ids, notes = _parts(rest)
        if sa_p is None or nonce is None:
            raise Bad("qm2_incomplete")
        self._trace("processing", sa, payload="SA", mid=mid)
        offers = parse_phase2_sa(sa_p)
        if len(offers) != 1 or offers[0].reason or not 1 <= offers[0].number <= len(qm.offered):
            raise Bad("qm2_not_one_of_ours")
        o = offers[0]
        self._proposal_traces(sa, o)
        mine = qm.offered[o.number - 1]
        if o.transform is None or not mine.same_algorithms(o.transform) or (o.group or None) != (req.pfs_group
                                                                                                 or None):
            self._trace("ipsec_atts_not_acceptable", sa)
            raise Bad("qm2_transform_differs")
        self._trace("ipsec_atts_acceptable", sa)
        self._trace("processing", sa, payload="NONCE", mid=mid)
        qm.nr = nonce.data
        gxy = self._qm2_pfs(sa, qm, req, ke, mid)
        if ids:
            self._trace("processing", sa, payload="ID", mid=mid)
            self._trace("processing", sa, payload="ID", mid=mid)
            try:
                back = (ProxyId.from_id_payload(ids[0]), ProxyId.from_id_payload(ids[1])) if len(ids) == 2 else None
            except ValueError:
                back = None
            if back != (req.local_proxy, req.remote_proxy):
                raise Bad("qm2_ids_differ")
        lifetime_s, lifetime_kb = self._lifetimes(sa, req, notes)
        set_name = req.transforms[o.number - 1][0]
        keys_in, keys_out = self._esp_keys(sa, mine, req.spi, o.spi, qm.ni, qm.nr, gxy)
        result = Phase2Result(True, sa.peer, sa.local, req.iface, sa.conn_id, req.local_proxy, req.remote_proxy,
                              mine, set_name, lifetime_s, lifetime_kb, req.pfs_group, req.spi, o.spi, keys_in,
                              keys_out, mid, req.context)
        self._creating_sas(sa, result)
        hash3 = C.qm_hash3(sa.prop.hash, sa.k.skeyid_a, mid, qm.ni, qm.nr)
        out = self._encrypted_raw(sa, K.EXCH_QUICK_MODE, mid, K.HashPayload(hash3).encode())
        qm.last_received = data
        qm.last_sent = out
        self._send(sa, out, arm=False)
        self._qm_done(sa, qm, now, "")
        self._events.append(Phase2Established(result))

    def _qm2_pfs(self, sa: IkeSA, qm: QuickMode, req: Phase2Request, ke: K.KEPayload | None,
                 mid: int) -> bytes | None:
        if not req.pfs_group:
            return None
        if ke is None or qm.dh is None:
            raise Bad("qm2_no_ke")
        self._trace("processing", sa, payload="KE", mid=mid)
        try:
            return qm.dh.shared_secret(ke.data)
        except DH.DHError as err:
            raise Bad("reason", reason=str(err)) from None

    def _lifetimes(self, sa: IkeSA, req: Phase2Request, notes: list[K.NotificationPayload]) -> tuple[int, int]:
        lifetime_s, lifetime_kb = req.lifetime_s, req.lifetime_kb
        for n in notes:
            if n.notify_type != K.RESPONDER_LIFETIME:
                continue
            self._trace("processing_responder_lifetime", sa, protocol=n.protocol_id)
            try:
                attrs = K.Attribute.decode_all(n.data)
            except DecodeError:
                attrs = []
            life_type = None
            for a in attrs:
                if a.type == K.IPSEC_SA_LIFE_TYPE:
                    life_type = a.int_value
                elif a.type == K.IPSEC_SA_LIFE_DURATION:
                    if life_type == K.LIFE_SECONDS:
                        lifetime_s = min(lifetime_s, a.int_value)
                    elif life_type == K.LIFE_KILOBYTES:
                        lifetime_kb = min(lifetime_kb, a.int_value)
        return lifetime_s, lifetime_kb

    # ------------------------------------------------------------ responder: QM3
    def _qm3(self, sa: IkeSA, qm: QuickMode, msg: K.IsakmpMessage, data: bytes, now: int) -> None:
        mid = msg.message_id
        hash3, _rest = self._qm_open(sa, mid, msg)
        self._trace("processing", sa, payload="HASH", mid=mid)
        if hash3 != C.qm_hash3(sa.prop.hash, sa.k.skeyid_a, mid, qm.ni, qm.nr):
            raise Bad("qm_hash_mismatch", number=3)
        assert qm.result is not None
        qm.last_received = data
        qm.last_sent = None
        self._creating_sas(sa, qm.result)
        self._qm_done(sa, qm, now, "quick mode done (await()")
        self._events.append(Phase2Established(qm.result))

    # ------------------------------------------------------------ end of a node
    def _qm_done(self, sa: IkeSA, qm: QuickMode, now: int, reason: str) -> None:
        self._trace("deleting_node", sa, mid=qm.message_id, error=False, reason=reason)
        qm.state = QuickModeState.IKE_QM_PHASE2_COMPLETE
        qm.done_at = now
        qm.retransmit_at = None
        qm.dh = None
        sa.c.forget(qm.message_id)

    def _qm_abort(self, sa: IkeSA, qm: QuickMode, reason: str) -> None:
        sa.quick.pop(qm.message_id, None)
        sa.c.forget(qm.message_id)
        if qm.initiator and qm.request is not None:
            self._fail(qm.request, reason)

    def _creating_sas(self, sa: IkeSA, r: Phase2Result) -> None:
        if not self._tracing():
            return
        conn_in, conn_out = self.policy.peek_conn_ids()
        self._trace("creating_ipsec_sas", sa, peer=r.peer, local=r.local, local_proxy=r.local_proxy,
                    remote_proxy=r.remote_proxy, spi_in=r.spi_in, spi_out=r.spi_out, life_s=r.lifetime_s,
                    life_kb=r.lifetime_kb, conn_in=conn_in, conn_out=conn_out)

    def _esp_keys(self, sa: IkeSA, t: EspTransform, spi_in: int, spi_out: int, ni: bytes, nr: bytes,
                  gxy: bytes | None) -> tuple[tuple[bytes, bytes], tuple[bytes, bytes]]:
        """KEYMAT per direction (RFC 2409 §5.5): each SA's keys from its own (receiver-chosen) SPI."""
        enc_len, auth_len = t.key_sizes()
        h, d = sa.prop.hash, sa.k.skeyid_d
        k_in = C.esp_keys(h, d, spi_in.to_bytes(4, "big"), ni, nr, enc_len, auth_len, gxy)
        k_out = C.esp_keys(h, d, spi_out.to_bytes(4, "big"), ni, nr, enc_len, auth_len, gxy)
        return k_in, k_out
