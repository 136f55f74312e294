"""The IKE key log beside the Wireshark tables: its records are the engines' own values, both ends agree,
SKEYID recomputes from the logged nonces (RFC 2409 section 5, independently of the engine's code), and
the logged ESP keys decrypt the capture."""

from __future__ import annotations

import hashlib
import hmac
import stat

from emulator.cli.session import CliSession
from emulator.lab.keylog import parse_key_log
from emulator.lab.labfile import Lab
from emulator.wire.pcap import read_pcap
from support import ROOT

LAB = ROOT / "fixtures" / "doc14131" / "lab.yml"


def test_the_key_log_holds_every_sa_with_the_engines_values(tmp_path):
    lab = Lab.from_file(LAB, capture_dir=tmp_path)
    out = CliSession(lab.device("dr_whoovie"), privileged=True).execute("ping ip 10.2.2.3 source 10.1.1.1")
    assert "Success rate is 80 percent (4/5)" in out
    lab.close()
    path = tmp_path / "ike_keys.log"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    assert text.startswith("# IKEv1 key log")
    records = parse_key_log(text.splitlines())
    ike = {f["device"]: f for kind, f in records if kind == "IKE"}
    esp = [(f["device"], f) for kind, f in records if kind == "ESP"]
    assert set(ike) == {"sam-i-am", "dr_whoovie"} and len(esp) == 4

    # The engines' own values.
    for device, fields in ike.items():
        (sa,) = lab.device(device).crypto.ike.sas()
        assert sa.keys is not None
        assert fields["role"] == ("initiator" if sa.initiator else "responder")
        assert (fields["CKY-I"], fields["CKY-R"]) == (sa.icookie.hex(), sa.rcookie.hex())
        assert (fields["Ni"], fields["Nr"]) == (sa.ni.hex(), sa.nr.hex())
        assert [fields[k] for k in ("SKEYID", "SKEYID_d", "SKEYID_a", "SKEYID_e", "Ka")] == \
            [v.hex() for v in (sa.keys.skeyid, sa.keys.skeyid_d, sa.keys.skeyid_a, sa.keys.skeyid_e,
                               sa.keys.enc_key)]
    hub, remote = ike["sam-i-am"], ike["dr_whoovie"]
    assert (hub["role"], remote["role"]) == ("responder", "initiator")
    assert (hub["local"], hub["peer"]) == ("99.99.99.1", "100.100.100.1")
    same = ("CKY-I", "CKY-R", "Ni", "Nr", "SKEYID", "SKEYID_d", "SKEYID_a", "SKEYID_e", "Ka")
    assert [hub[k] for k in same] == [remote[k] for k in same]
    # RFC 2409 section 5 (pre-shared keys): SKEYID = prf(key, Ni_b | Nr_b); prf is HMAC-MD5 here.
    skeyid = hmac.new(b"cisco123", bytes.fromhex(hub["Ni"]) + bytes.fromhex(hub["Nr"]), hashlib.md5).digest()
    assert hub["SKEYID"] == skeyid.hex()
    assert hub["Ka"] == hub["SKEYID_e"][:16]            # DES: the first 8 bytes of SKEYID_e
    assert len(bytes.fromhex(hub["CKY-I"])) == 8

    # ESP: each direction's SA is the same on both ends, as the SA database holds it.
    for device, fields in esp:
        sa = next(s for s in lab.device(device).crypto.installed_sas if f"{s.spi:08x}" == fields["SPI"])
        assert (fields["Ke"], fields["Ki"]) == (sa.esp.enc_key.hex(), sa.esp.auth_key.hex())
        assert fields["dir"] == ("in" if sa.inbound else "out")
        assert (fields["enc"], fields["auth"]) == ("DES-CBC_[RFC2405]", "HMAC-MD5-96_[RFC2403]")
    by_spi: dict[str, list[dict[str, str]]] = {}
    for _, fields in esp:
        by_spi.setdefault(fields["SPI"], []).append(fields)
    assert len(by_spi) == 2
    for pair in by_spi.values():
        assert sorted(f["dir"] for f in pair) == ["in", "out"]
        assert len({(f["src"], f["dst"], f["Ke"], f["Ki"]) for f in pair}) == 1

    # The logged keys decrypt the hub's leased line capture (scapy, an independent reader).
    from scapy.layers.inet import IP
    from scapy.layers.ipsec import ESP, SecurityAssociation
    sas = {int(spi, 16): SecurityAssociation(ESP, spi=int(spi, 16), crypt_algo="DES",
                                             crypt_key=bytes.fromhex(f[0]["Ke"]), auth_algo="HMAC-MD5-96",
                                             auth_key=bytes.fromhex(f[0]["Ki"]),
                                             tunnel_header=IP(src=f[0]["src"], dst=f[0]["dst"]))
           for spi, f in by_spi.items()}
    decrypted = 0
    for _, frame in read_pcap(tmp_path / "serial-sam-i-am-Serial0--isp-Serial1.pcap")[1]:
        if frame[2:4] != b"\x08\x00":                   # Cisco HDLC: IP only (not SLARP)
            continue
        packet = IP(frame[4:])
        if packet.proto == 50:
            inner = sas[packet[ESP].spi].decrypt(IP(bytes(packet)))
            assert inner.haslayer("ICMP")
            decrypted += 1
    assert decrypted == 8                                   # 4 echoes and 4 replies
