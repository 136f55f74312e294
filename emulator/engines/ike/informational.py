"""Informational exchanges (RFC 2408 §4.8, RFC 2409 §5.7): notifications and deletes, sent and received."""

from __future__ import annotations

from ipaddress import IPv4Address

from emulator.engines.ike import crypto as C
from emulator.engines.ike.core import Bad
from emulator.engines.ike.events import SasDeleted
from emulator.engines.ike.quick_mode import QuickModeExchange
from emulator.engines.ike.sa import IkeSA
from emulator.wire import isakmp as K

__all__ = ["Informational"]


class Informational(QuickModeExchange):
    def send_delete(self, peer: IPv4Address, spis: list[int]) -> bool:
        """Tell the peer (over an established IKE SA) that these SAs (our inbound SPIs) are gone."""
        for sa in self.peer_sas(peer):
            if sa.established:
                self._trace("sending_delete", sa, count=len(spis), peer=peer)
                self._send_informational(sa, K.DeletePayload(K.PROTO_IPSEC_ESP,
                                                             [s.to_bytes(4, "big") for s in spis]))
                return True
        return False

    def _info_receive(self, sa: IkeSA, msg: K.IsakmpMessage, now: int) -> None:
        if not msg.encrypted:
            self._trace("received", sa, peer=sa.peer, role=sa.role, state=sa.state)
            self._trace("notify_has_no_hash", sa)
            self._count("unauthenticated notify")
            return
        if not sa.established:
            raise Bad("info_before_phase1")
        mid = msg.message_id
        try:
            h, rest = self._qm_open(sa, mid, msg)
        finally:
            sa.c.forget(mid)
        self._trace("received", sa, peer=sa.peer, role=sa.role, state=sa.state)
        if h != C.informational_hash(sa.prop.hash, sa.k.skeyid_a, mid, b"".join(p.raw for p in rest)):
            raise Bad("info_hash_mismatch")
        self._trace("processing", sa, payload="HASH", mid=mid)
        for p in rest:
            if isinstance(p, K.NotificationPayload):
                self._notify(sa, p, mid)
            elif isinstance(p, K.DeletePayload):
                self._trace("processing", sa, payload="DELETE", mid=mid)
                if p.protocol_id == K.PROTO_ISAKMP:
                    if any(s == sa.icookie + sa.rcookie for s in p.spis):
                        self._trace("peer_deleted_isakmp_sa", sa)
                        self.delete_sa(sa, "deleted by peer", now)
                        return
                elif p.protocol_id == K.PROTO_IPSEC_ESP:
                    spis = tuple(int.from_bytes(s, "big") for s in p.spis if len(s) == 4)
                    self._events.append(SasDeleted(sa.peer, sa.local, spis))

    def _notify(self, sa: IkeSA, p: K.NotificationPayload, mid: int) -> None:
        spi = int.from_bytes(p.spi, "big") if p.spi else 0
        self._trace("processing_notify", sa, name=p.name, notify=int(p.notify_type), protocol=p.protocol_id,
                    spi=spi, mid=mid)
        if p.notify_type >= 16384:
            return
        # An error notify (RFC 2408 §3.14.1): the quick mode it answers failed.
        for qm in list(sa.quick.values()):
            if qm.initiator and qm.done_at is None and qm.request is not None and (not spi or qm.request.spi == spi):
                self._trace("deleting_node", sa, mid=qm.message_id, error=True, notify=int(p.notify_type),
                            name=p.name)
                self._qm_abort(sa, qm, p.name)
