"""The ESP data path: protect an outbound packet on its flow's SA, decapsulate an inbound one.

Inbound: SPI lookup, SA lifetime, sequence window, ICV, decryption and
padding (``emulator.engines.esp_sa``), then the inner packet must lie within
the SA's proxy identities.  Failures count ``#recv errors`` (and the detail
counters) on the flow and log as IOS does, one message a minute per kind.
Outbound: a complete IPv4 datagram from the interface's address to the peer
(protocol 50, DF and TOS copied from the inner packet, TTL 255).

Path MTU (Cisco, "Resolve IP Fragmentation, MTU, MSS, and PMTUD Issues with
GRE and IPsec", document 25885, "Pure IPsec tunnel mode"): the outer header
copies DF from the inner one (IOS's default ``crypto ipsec df-bit copy``). A
DF packet that would not fit the flow's path MTU once encapsulated is
dropped before encryption, and the router answers its source with ICMP
"fragmentation needed" naming the largest inner packet that fits (the
plaintext MTU: path MTU less the outer header, SPI and sequence, IV,
padding to the cipher block and ICV; 1438 for esp-aes esp-sha-hmac on a
1500-byte path, as IOS 15 prints ``plaintext mtu 1438``). A packet without
DF is encrypted whole and the ESP packet fragmented after encryption (the
owner does it at output): 12.2 mainline has no ``crypto ipsec fragmentation
before-encryption``, a 12.2(13)T feature ("Pre-fragmentation for IPsec VPNs").
The path MTU starts as the IP MTU of the crypto map's interface and drops
to what an ICMP "fragmentation needed" about the flow's ESP reports (RFC
2401 section 6.1.2.1), never below ``MIN_PATH_MTU``.
"""

from __future__ import annotations

import random
import struct
from ipaddress import IPv4Address
from typing import Callable, NamedTuple

from emulator.engines import esp_sa as E
from emulator.engines.acl import Flow
from emulator.engines.ipsec.sad import DEFAULT_MTU, IpsecFlow, IpsecSA, SaDatabase
from emulator.engines.ipsec.spd import peek
from emulator.labtime import SECOND
from emulator.wire.checksum import internet_checksum
from emulator.wire.errors import DecodeError
from emulator.wire.flow import IPv4Flow, read_flow
from emulator.wire.ipv4 import PROTO_ESP

__all__ = ["EspPath", "CryptoResult", "CLEAR", "PROTECTED", "DECRYPTED", "DROP", "LOG_INTERVAL", "OUTER_TTL",
           "plaintext_mtu", "MIN_PATH_MTU"]

CLEAR = "clear"
PROTECTED = "protected"
DECRYPTED = "decrypted"
DROP = "drop"

LOG_INTERVAL = 60 * SECOND      # IOS limits these syslogs to one a minute (Cisco tech note 115801 / NANOG 2017)
OUTER_TTL = 255
MIN_PATH_MTU = 576      # RFC 1191 section 3's minimum datagram; a reported path MTU below it is ignored
_ESP_HEADER = 8         # SPI and sequence number (RFC 2406 section 2)
_ESP_TRAILER = 2        # pad length and next header


def plaintext_mtu(sa: IpsecSA, path_mtu: int) -> int:
    """The largest inner packet that fits ``path_mtu`` once ESP tunnel mode wraps it on ``sa``."""
    esp = sa.esp
    room = path_mtu - 20 - _ESP_HEADER - esp.cipher.iv_size - esp.auth.icv_size
    block = max(esp.cipher.block_size, 4)       # RFC 2406 section 2.4: a 4-byte boundary at least
    return (room // block) * block - _ESP_TRAILER

_OUTER = struct.Struct("!BBHHHBBH4s4s")


class CryptoResult(NamedTuple):
    """What to do with a packet: ``action`` is CLEAR, PROTECTED, DECRYPTED or DROP.

    A named tuple: one is made for every packet the crypto map sees (a frozen dataclass sets each
    field through ``object.__setattr__``, several times the work of building a tuple).
    """

    action: str
    packet: bytes | None = None
    reason: str = ""
    mtu: int = 0            # a DROP for "fragmentation needed": the largest inner packet that fits

    @property
    def dropped(self) -> bool:
        return self.action == DROP


_new = tuple.__new__      # builds a CryptoResult from all its fields, without NamedTuple's own __new__


def _default_ip_mtu(iface: str) -> int:
    return DEFAULT_MTU


class EspPath:
    """ESP for one router over its SA database; the owner handles expiry and re-keying."""

    def __init__(self, sad: SaDatabase, rng: random.Random, log: Callable[[str], None],
                 expire: Callable[[IpsecSA, int], None], soft_limit: Callable[[IpsecSA, int], None],
                 next_ip_id: Callable[[], int] | None = None):
        self.sad = sad
        self.rng = rng
        self._log = log
        self._expire = expire
        self._soft_limit = soft_limit
        self._next_ip_id = next_ip_id
        self._ip_id = rng.getrandbits(16)
        # Counts the calls to ``expire`` and ``soft_limit``: while it stands still, a packet protected or
        # decapsulated changed nothing but counters (no SA went, no re-key began), so the owner's timer
        # and output stay as they were.
        self.stirred = 0
        self._log_times: dict[str, int] = {}
        self.drops: dict[str, int] = {}
        # The IP MTU of an interface; the owner that knows interfaces replaces it.
        self.ip_mtu: Callable[[str], int] = _default_ip_mtu

    def drop(self, reason: str) -> CryptoResult:
        self.drops[reason] = self.drops.get(reason, 0) + 1
        return CryptoResult(DROP, None, reason)

    def log_limited(self, mnemonic: str, text: str, now: int) -> None:
        last = self._log_times.get(mnemonic)
        if last is None or now - last >= LOG_INTERVAL:
            self._log_times[mnemonic] = now
            self._log(text)

    # ------------------------------------------------------------ outbound
    def protect(self, f: IpsecFlow, local: bytes | None, packet: bytes, now: int) -> CryptoResult:
        """``packet`` in ESP on the flow's current outbound SA, from ``local`` (the 4 packed bytes of the
        interface's address) to the peer."""
        sa = f.outbound[-1]
        if now >= sa.expires_at or sa.esp.octets >= sa.limit_bytes:
            self.stirred += 1
            self._expire(sa, now)
            if not f.outbound:
                return self.drop("SA expired")
            sa = f.outbound[-1]
        if local is None:
            f.send_errors += 1
            return self.drop("no local address")
        path_mtu = self.refresh_mtu(f)
        if packet[6] & 0x40:                       # DF: the packet must fit once encapsulated
            fits = plaintext_mtu(sa, path_mtu)
            if len(packet) > fits:
                self.drops["fragmentation needed"] = self.drops.get("fragmentation needed", 0) + 1
                return CryptoResult(DROP, None, "fragmentation needed", fits)
        try:
            body = sa.esp.protect(packet, self.rng)
        except E.SequenceExhausted:
            self.stirred += 1
            self._expire(sa, now)
            f.send_errors += 1
            return self.drop("sequence number exhausted")
        f.encaps += 1
        if sa.transform.cipher != E.ESP_NULL:
            f.encrypt += 1
        if sa.transform.auth:
            f.digest += 1
        if sa.esp.octets >= sa.soft_bytes and not sa.rekeyed:
            self.stirred += 1
            self._soft_limit(sa, now)
        if self._next_ip_id is not None:
            ident = self._next_ip_id()
        else:
            self._ip_id = (self._ip_id + 1) & 0xFFFF
            ident = self._ip_id
        # Outer header: DF and TOS copied from the inner header (IOS default "crypto ipsec df-bit copy",
        # RFC 2401 §5.1.2.1), a fresh TTL and identification.
        hdr = _OUTER.pack(0x45, packet[1], 20 + len(body), ident, 0x4000 if packet[6] & 0x40 else 0, OUTER_TTL,
                          PROTO_ESP, 0, local, sa.peer_packed)
        ck = internet_checksum(hdr)
        return _new(CryptoResult, (PROTECTED, b"".join((hdr[:10], ck.to_bytes(2, "big"), hdr[12:], body)), "", 0))

    def refresh_mtu(self, f: IpsecFlow) -> int:
        """The flow's path MTU now: its interface's IP MTU, or less if a smaller one was reported."""
        f.ip_mtu = self.ip_mtu(f.iface)
        f.path_mtu = min(f.ip_mtu, f.learned_mtu) if f.learned_mtu is not None else f.ip_mtu
        return f.path_mtu

    def fragmentation_needed(self, quoted: bytes, mtu: int) -> bool:
        """An ICMP "fragmentation needed" quoting ESP this router sent: the SA's flow learns the MTU.

        ``quoted`` is the quoted datagram (header and at least the SPI). True when a flow took it.
        """
        if len(quoted) < 20 or mtu < MIN_PATH_MTU:
            return False
        hl = (quoted[0] & 0x0F) * 4
        if len(quoted) < hl + 4:
            return False
        spi = int.from_bytes(quoted[hl:hl + 4], "big")
        for f in self.sad.flows.values():
            if any(sa.spi == spi and sa.peer.packed == quoted[16:20] for sa in f.outbound):
                f.learned_mtu = mtu if f.learned_mtu is None else min(mtu, f.learned_mtu)
                self.refresh_mtu(f)
                return True
        return False

    # ------------------------------------------------------------ inbound
    def cleartext_check(self, iface: str, packet: bytes, flow: IPv4Flow, now: int) -> CryptoResult:
        """A cleartext packet of a flow that has SAs is dropped (``%CRYPTO-4-RECVD_PKT_NOT_IPSEC``)."""
        sel = Flow.of(flow)
        proto, src, dst, sport, dport = sel.protocol, sel.src, sel.dst, sel.sport, sel.dport
        f = self.sad.active_flow(iface, src, dst, proto, sport, dport)
        if f is not None:
            f.recv_errors += 1
            self.log_limited("RECVD_PKT_NOT_IPSEC",
                             f"%CRYPTO-4-RECVD_PKT_NOT_IPSEC: Rec'd packet not an IPSEC packet. "
                             f"(ip) dest_addr= {IPv4Address(dst)}, src_addr= {IPv4Address(src)}, "
                             f"prot= {proto}", now)
            return self.drop("cleartext packet for an IPsec flow")
        return CryptoResult(CLEAR, packet)

    def lookup(self, packet: bytes, flow: IPv4Flow) -> tuple[IpsecSA | None, int, bytes]:
        """(the SA an ESP packet to us names, its SPI, its ESP body)."""
        body = packet[flow.header_length:flow.total_length]
        spi = int.from_bytes(body[:4], "big") if len(body) >= 4 else 0
        sa = self.sad.in_sas.get(spi)
        if sa is not None and sa.local_packed != flow.dst:
            sa = None
        return sa, spi, body

    def invalid_spi(self, packet: bytes, spi: int, now: int) -> CryptoResult:
        self.log_limited("RECVD_PKT_INV_SPI",
                         f"%CRYPTO-4-RECVD_PKT_INV_SPI: decaps: rec'd IPSEC packet has invalid spi for "
                         f"destaddr={IPv4Address(packet[16:20])}, prot={PROTO_ESP}, spi=0x{spi:X}({spi}), "
                         f"srcaddr={IPv4Address(packet[12:16])}", now)
        return self.drop("invalid SPI")

    def decapsulate(self, sa: IpsecSA, body: bytes, now: int) -> CryptoResult:
        f = sa.flow
        self.refresh_mtu(f)
        if now >= sa.expires_at or sa.esp.octets >= sa.limit_bytes:
            self.stirred += 1
            self._expire(sa, now)
            f.recv_errors += 1
            return self.drop("SA expired")
        try:
            inner = sa.esp.unprotect(body)
        except E.EspAuthError:
            f.recv_errors += 1
            f.verify_failed += 1
            self.log_limited("RECVD_PKT_MAC_ERR", f"%CRYPTO-4-RECVD_PKT_MAC_ERR: decrypt: mac verify failed "
                                                  f"for connection id={sa.conn_id}", now)
            return self.drop("ICV check failed")
        except E.EspReplayError:
            f.recv_errors += 1
            f.replay_failed += 1
            self.log_limited("PKT_REPLAY_ERR", f"%CRYPTO-4-PKT_REPLAY_ERR: decrypt: replay check failed "
                                               f"connection id={sa.conn_id}", now)
            return self.drop("replayed packet")
        except E.EspError:
            f.recv_errors += 1
            f.decaps_failed += 1
            return self.drop("malformed ESP packet")
        try:
            sel: IPv4Flow | None = read_flow(inner, verify=False)       # spd.peek(), the common case
        except DecodeError:
            sel = peek(inner)
        if (sel is None or not f.remote_proxy.contains(int.from_bytes(sel.src, "big"), sel.protocol, sel.sport)
                or not f.local_proxy.contains(int.from_bytes(sel.dst, "big"), sel.protocol, sel.dport)):
            f.recv_errors += 1
            f.invalid_identity += 1
            src = IPv4Address(sel.src) if sel else "?"
            dst_in = IPv4Address(sel.dst) if sel else "?"
            self.log_limited("RECVD_PKT_INV_IDENTITY",
                             f"%CRYPTO-4-RECVD_PKT_INV_IDENTITY: decrypt: rec'd pkt not matching identity: "
                             f"src_addr= {src}, dest_addr= {dst_in}, prot= {sel.protocol if sel else 0}, "
                             f"connection id={sa.conn_id}", now)
            return self.drop("decrypted packet outside the proxy identities")
        f.decaps += 1
        if sa.transform.cipher != E.ESP_NULL:
            f.decrypt += 1
        if sa.transform.auth:
            f.verify += 1
        if sa.esp.octets >= sa.soft_bytes and not sa.rekeyed:
            self.stirred += 1
            self._soft_limit(sa, now)
        return _new(CryptoResult, (DECRYPTED, inner, "", 0))
