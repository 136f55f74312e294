"""IKE and ESP in the document's lab: the tunnel, its counters, its keys, its failures."""

import shutil
import subprocess

import pytest

from emulator.cli.session import CliSession
from emulator.lab.labfile import Lab, load_lab
from emulator.sim.clock import SECOND
from emulator.wire.pcap import read_pcap
from emulator.wire.ppp import fcs16
from suites.parsing import parse
from support import ROOT

LAB = ROOT / "fixtures" / "doc14131" / "lab.yml"
HUB_SERIAL_PCAP = "serial-sam-i-am-Serial0--isp-Serial1.pcap"


def refcs(body: bytes) -> bytes:
    """A serial frame body with its FCS-16 (recomputed after the test changed it)."""
    return body + fcs16(body).to_bytes(2, "little")


def cli(lab, device):
    return CliSession(lab.device(device), privileged=True, line="vty0")


def flow(session, peer):
    records = parse("show crypto ipsec sa", session.execute("show crypto ipsec sa"))
    (f,) = [r for r in records if r["entry"] == "ident" and r["current_peer"] == peer]
    spis = {(r["sa_direction"]): int(r["spi"], 16) for r in records if r["entry"] == "spi"
            and r["current_peer"] == peer and r["sa_protocol"] == "esp"}
    return f, spis


@pytest.fixture
def tunnel():
    lab = Lab.from_file(LAB)
    out = cli(lab, "dr_whoovie").execute("ping ip 10.2.2.3 source 10.1.1.1")
    assert ".!!!!" in out  # the first echo is dropped while IKE negotiates
    return lab


def test_counters_rise_by_exactly_n_on_both_sides_and_spis_pair_up(tunnel):
    hub, remote = cli(tunnel, "sam-i-am"), cli(tunnel, "dr_whoovie")
    h0, hub_spis = flow(hub, "100.100.100.1")
    r0, remote_spis = flow(remote, "99.99.99.1")
    assert hub_spis["inbound"] == remote_spis["outbound"] and hub_spis["outbound"] == remote_spis["inbound"]
    assert int(h0["current_outbound_spi"], 16) == hub_spis["outbound"]
    n = 7
    assert f"({n}/{n})" in remote.execute(f"ping 10.2.2.3 source 10.1.1.1 repeat {n}")
    h1, _ = flow(hub, "100.100.100.1")
    r1, _ = flow(remote, "99.99.99.1")
    for name in ("pkts_encaps", "pkts_encrypt", "pkts_digest", "pkts_decaps", "pkts_decrypt", "pkts_verify"):
        assert int(h1[name]) - int(h0[name]) == n, name
        assert int(r1[name]) - int(r0[name]) == n, name
    assert (h1["pkts_decaps"], h1["pkts_encaps"]) == (r1["pkts_encaps"], r1["pkts_decaps"])
    # The remote's first echo matched the flow before an SA existed.
    assert r1["send_errors"] == "1" and h1["send_errors"] == "0"


def test_isakmp_sa_is_qm_idle_on_both(tunnel):
    for device in ("sam-i-am", "dr_whoovie"):
        (row,) = parse("show crypto isakmp sa", cli(tunnel, device).execute("show crypto isakmp sa"))
        assert (row["dst"], row["src"], row["state"]) == ("99.99.99.1", "100.100.100.1", "QM_IDLE")


def test_hub_cannot_initiate_then_can_send_once_the_remote_did():
    lab = Lab.from_file(LAB)
    hub = cli(lab, "sam-i-am")
    assert "Success rate is 0 percent (0/5)" in hub.execute("ping 10.1.1.1 source 10.2.2.3")
    assert hub.execute("show crypto isakmp sa").splitlines()[1:] == [""] or \
        parse("show crypto isakmp sa", hub.execute("show crypto isakmp sa")) == []
    assert parse("show crypto ipsec sa", hub.execute("show crypto ipsec sa")) == [] or \
        all(r["current_peer"] != "100.100.100.1"
            for r in parse("show crypto ipsec sa", hub.execute("show crypto ipsec sa")))
    cli(lab, "dr_whoovie").execute("ping 10.2.2.3 source 10.1.1.1")
    assert "Success rate is 100 percent (5/5)" in hub.execute("ping 10.1.1.1 source 10.2.2.3")


def test_exported_keys_decrypt_the_capture(tmp_path):
    lab = Lab(load_lab(LAB), capture_dir=tmp_path)
    cli(lab, "dr_whoovie").execute("ping ip 10.2.2.3 source 10.1.1.1")
    lab.close()
    esp_rows = (tmp_path / "esp_sa").read_text().splitlines()
    ike_rows = (tmp_path / "ikev1_decryption_table").read_text().splitlines()
    assert len(esp_rows) == 2 and len(ike_rows) == 1
    fields = [r.split(",") for r in esp_rows]
    assert all(f[0] == '"IPv4"' and f[4] == '"DES-CBC [RFC2405]"' and f[6] == '"HMAC-MD5-96 [RFC2403]"' for f in fields)
    # scapy, an independent reader: every ESP packet decrypts with the exported keys.
    from scapy.layers.inet import ICMP, IP
    from scapy.layers.ipsec import ESP, SecurityAssociation
    from scapy.layers.l2 import CookedLinux  # noqa: F401  (loads layer bindings)
    sas = {}
    for f in fields:
        src, dst, spi, ekey, akey = (x.strip('"') for x in (f[1], f[2], f[3], f[5], f[7]))
        sas[int(spi, 16)] = SecurityAssociation(ESP, spi=int(spi, 16), crypt_algo="DES",
                                                crypt_key=bytes.fromhex(ekey[2:]),
                                                auth_algo="HMAC-MD5-96", auth_key=bytes.fromhex(akey[2:]),
                                                tunnel_header=IP(src=src, dst=dst))
    _, records = read_pcap(tmp_path / HUB_SERIAL_PCAP)
    inner = []
    for _, frame in records:
        if frame[2:4] != b"\x08\x00":
            continue
        pkt = IP(frame[4:])
        if pkt.proto == 50:
            clear = sas[pkt[ESP].spi].decrypt(IP(bytes(pkt)))
            inner.append((clear.src, clear.dst, clear[ICMP].type))
    assert ("10.1.1.1", "10.2.2.3", 8) in inner and ("10.2.2.3", "10.1.1.1", 0) in inner
    # scapy dissects every ISAKMP message: the clear main mode ones payload by payload.
    from scapy.layers.inet import UDP
    from scapy.layers.isakmp import ISAKMP, ISAKMP_payload_KE, ISAKMP_payload_Nonce, ISAKMP_payload_SA
    messages = [IP(f[4:]) for _, f in records if f[2:4] == b"\x08\x00" and IP(f[4:]).haslayer(UDP)
                and IP(f[4:])[UDP].dport == 500]
    assert len(messages) == 9   # main mode 6, quick mode 3
    cookies = {bytes(m[ISAKMP].init_cookie) for m in messages}
    assert cookies == {bytes.fromhex(ike_rows[0].split(",")[0])}
    assert [m[ISAKMP].exch_type for m in messages] == [2] * 6 + [32] * 3
    clear = [m for m in messages if not m[ISAKMP].flags & 1]
    assert len(clear) == 4 and clear[0].haslayer(ISAKMP_payload_SA)
    assert all(m.haslayer(ISAKMP_payload_KE) and m.haslayer(ISAKMP_payload_Nonce) for m in clear[2:4])
    if shutil.which("tshark") is None:
        pytest.skip("tshark is not installed: the Wireshark decryption is not checked here")
    esp_opts = sum((["-o", f"uat:esp_sa:{row}"] for row in esp_rows), [])
    out = subprocess.run(["tshark", "-r", str(tmp_path / HUB_SERIAL_PCAP), "-o", "esp.enable_encryption_decode:TRUE",
                          "-o", "esp.enable_authentication_check:TRUE", *esp_opts, "-Y", "esp",
                          "-T", "fields", "-e", "esp.icv_good", "-e", "ip.src"],
                         capture_output=True, text=True, timeout=60)
    lines = [ln.split("\t") for ln in out.stdout.splitlines() if ln.strip()]
    assert lines and all(ln[0] == "1" for ln in lines), out.stdout + out.stderr
    assert any("10.1.1.1" in ln[1] for ln in lines)
    out = subprocess.run(["tshark", "-r", str(tmp_path / HUB_SERIAL_PCAP),
                          "-o", f"uat:ikev1_decryption_table:{ike_rows[0]}",
                          "-Y", "isakmp.exchangetype == 32", "-T", "fields", "-e", "isakmp.id.type"],
                         capture_output=True, text=True, timeout=60)
    # Quick mode, decrypted: both proxy identities are subnets (ID_IPV4_ADDR_SUBNET, 4).
    assert out.stdout.split() == ["4,4", "4,4"], out.stdout + out.stderr
    out = subprocess.run(["tshark", "-r", str(tmp_path / HUB_SERIAL_PCAP),
                          "-o", f"uat:ikev1_decryption_table:{ike_rows[0]}",
                          "-Y", "isakmp.exchangetype == 2 && isakmp.id.type", "-T", "fields", "-e", "isakmp.id.type",
                          "-e", "isakmp.id.data.ipv4_addr"], capture_output=True, text=True, timeout=60)
    # Main mode messages 5 and 6, decrypted: each side's identity is its address (ID_IPV4_ADDR, 1).
    assert sorted(out.stdout.split("\n")[:2]) == ["1\t100.100.100.1", "1\t99.99.99.1"], out.stdout + out.stderr


def test_tampered_replayed_and_unknown_esp_are_dropped_and_counted(tunnel):
    lab = tunnel
    link = next(s for ln, s in lab.serial_links if ("sam-i-am", "Serial0") in ln.ports)
    seen = []

    def tamper(direction, frame):
        if direction.startswith("isp") and frame[4 + 9:4 + 10] == b"\x32":  # ESP towards the hub
            seen.append(frame)
            if len(seen) == 1:
                return refcs(frame[:-3] + bytes([frame[-3] ^ 1]))   # flip a bit of the ICV
        return frame
    link.filter = tamper
    remote, hub = cli(lab, "dr_whoovie"), cli(lab, "sam-i-am")
    before, _ = flow(hub, "100.100.100.1")
    out = remote.execute("ping 10.2.2.3 source 10.1.1.1 repeat 3")
    assert "Success rate is 66 percent (2/3)" in out
    after, _ = flow(hub, "100.100.100.1")
    assert int(after["recv_errors"]) == int(before["recv_errors"]) + 1
    assert int(after["pkts_decaps"]) == int(before["pkts_decaps"]) + 2
    # Replay the last good ESP frame: dropped and counted, nothing answered.
    link.filter = None
    link.b.send(seen[-1])  # from the access server's side towards the hub
    lab.advance(1 * SECOND)
    replayed, _ = flow(hub, "100.100.100.1")
    assert int(replayed["recv_errors"]) == int(after["recv_errors"]) + 1
    assert replayed["pkts_decaps"] == after["pkts_decaps"]
    # An ESP packet for an SPI nobody has.
    forged = bytearray(seen[-1][:-2])
    forged[4 + 20:4 + 24] = b"\x00\x00\x12\x34"
    link.b.send(refcs(bytes(forged)))
    lab.advance(1 * SECOND)
    assert any("%CRYPTO-4-RECVD_PKT_INV_SPI" in m for m in lab.device("sam-i-am").log_buffer)
    assert lab.sim.errors == []


def test_sas_are_renegotiated_before_they_expire(tunnel):
    lab = tunnel
    remote = cli(lab, "dr_whoovie")
    _, old = flow(remote, "99.99.99.1")
    lab.advance((3600 - 60) * SECOND)
    assert "!!!!!" in remote.execute("ping 10.2.2.3 source 10.1.1.1")
    lab.advance(120 * SECOND)
    assert "!!!!!" in remote.execute("ping 10.2.2.3 source 10.1.1.1")
    _, new = flow(remote, "99.99.99.1")
    assert new["outbound"] != old["outbound"]
    records = parse("show crypto ipsec sa", remote.execute("show crypto ipsec sa"))
    assert all(int(r["remaining_key_lifetime_sec"]) <= 3600 for r in records if r["entry"] == "spi")
