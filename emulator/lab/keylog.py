"""The IKE key log: every phase 1 and ESP SA's keys, so that any peer's keys can be compared with the lab's.

Written as ``ike_keys.log`` beside the Wireshark key tables (mode 0600). Plain
text, one record a line, fields ``NAME=VALUE`` separated by single spaces,
byte strings in lower-case hex without a prefix; lines starting with ``#``
are comments. Records come in the order the SAs were made, per device::

    IKE device=R1 role=initiator local=A.B.C.D peer=A.B.C.D CKY-I=<8 bytes> CKY-R=<8 bytes>
        Ni=<hex> Nr=<hex> SKEYID=<hex> SKEYID_d=<hex> SKEYID_a=<hex> SKEYID_e=<hex> Ka=<hex>
    ESP device=R1 dir=in|out src=A.B.C.D dst=A.B.C.D SPI=<8 hex digits> enc=<name> Ke=<hex>
        auth=<name> Ki=<hex>

(each record on one line). ``Ka`` is the phase 1 encryption key (SKEYID_e,
extended as RFC 2409 appendix B says when it is shorter than the cipher's key).
``src``/``dst`` are the outer addresses of the SA's packets; ``enc`` and
``auth`` are Wireshark's names (``TripleDES-CBC [RFC2451]``, ``HMAC-MD5-96
[RFC2403]``...) as in its ``esp_sa`` table; ``SPI`` is the SA's SPI as sent.
"""

from __future__ import annotations

from typing import Iterable, Mapping

from emulator.device.router import Router
from emulator.engines.ike.crypto import Phase1KeyRecord
from emulator.engines.ipsec.sad import IpsecSA

__all__ = ["ike_record", "esp_record", "key_log_lines", "parse_key_log"]

HEADER = "# IKEv1 key log: one SA a line, NAME=VALUE fields, bytes in hex (emulator/lab/keylog.py)"


def ike_record(device: str, rec: Phase1KeyRecord) -> str:
    k = rec.keys
    fields = [("device", device), ("role", "initiator" if rec.initiator else "responder"), ("local", rec.local),
              ("peer", rec.peer), ("CKY-I", rec.icookie.hex()), ("CKY-R", rec.rcookie.hex()),
              ("Ni", rec.ni.hex()), ("Nr", rec.nr.hex()), ("SKEYID", k.skeyid.hex()),
              ("SKEYID_d", k.skeyid_d.hex()), ("SKEYID_a", k.skeyid_a.hex()), ("SKEYID_e", k.skeyid_e.hex()),
              ("Ka", k.enc_key.hex())]
    return "IKE " + " ".join(f"{name}={value}" for name, value in fields)


def esp_record(device: str, sa: IpsecSA) -> str:
    src, dst = (sa.peer, sa.local) if sa.inbound else (sa.local, sa.peer)
    esp = sa.esp
    fields = [("device", device), ("dir", "in" if sa.inbound else "out"), ("src", str(src)), ("dst", str(dst)),
              ("SPI", f"{sa.spi:08x}"), ("enc", esp.cipher.name.replace(" ", "_")), ("Ke", esp.enc_key.hex()),
              ("auth", esp.auth.name.replace(" ", "_")), ("Ki", esp.auth_key.hex())]
    return "ESP " + " ".join(f"{name}={value}" for name, value in fields)


def key_log_lines(devices: Mapping[str, Router]) -> list[str]:
    """The key log of every device of a lab, header first."""
    lines = [HEADER]
    for name, router in devices.items():
        lines += [ike_record(name, rec) for rec in router.crypto.ike.key_log]
        lines += [esp_record(name, sa) for sa in router.crypto.installed_sas]
    return lines


def parse_key_log(lines: Iterable[str]) -> list[tuple[str, dict[str, str]]]:
    """A key log's records as (kind, fields): what a test or another tool reads back."""
    out = []
    for line in lines:
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        kind, _, rest = line.partition(" ")
        out.append((kind, dict(field.split("=", 1) for field in rest.split())))
    return out
