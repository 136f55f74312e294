"""Interoperability with strongSwan's charon (5.9), an independent IKEv1 implementation.

charon plays the document's remote (100.100.100.1, proxies 10.1.1.0/24 <-> 10.2.2.0/24, IKE
des-md5-modp768, ESP des-md5, the document's key) in a network namespace behind the emulated hub's
Serial0, an external TUN port (the emulator plays the leased line's far-end Cisco HDLC), and initiates.
The other way round, charon answers as the hub (99.99.99.1) behind the emulated remote's Serial0, a TUN
port where the emulator plays the access server's PPP, and the remote host's echo starts IKE.

How the exchange completes on kernels without ESP/DES in XFRM (this one: charon's SA installation
fails with ENOSYS and, as responder, it then answers N(NO_PROP)): an LD_PRELOAD shim
(tests/interop/xfrm_ack_shim.c) records the SAs charon asks the kernel for and acknowledges those
requests; it touches no IKE byte. So charon's ESP is not carried by its kernel: the ESP checked here is
the hub's, decrypted by tshark with the keys charon derived.

Checked: main and quick mode established on both sides (charon's log, the hub's show commands); SKEYID,
SKEYID_d/a/e, Ka and both ESP SAs' keys and SPIs equal between charon's log (ike/chd level 4), the
shim's record and the emulator's key log; the hub's ESP decrypted by tshark with charon's keys only, every
ICV good; a child rekey and a DELETE from charon's side reach the hub, and the remote. The emulator's own
rekey and DELETEs, the mismatch cases: tests/test_interop_strongswan_cases.py; scapy as a second ESP
peer: tests/test_interop_scapy_esp.py. Bounded well under 60 s; what was tried is printed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from support.charon import (
    hub_sas,
    interop_case,
    key_log,
    keys_agree,
    run,
    sas_with,
    shim_sas,
    swanctl_hub,
    swanctl_remote,
    wait_loaded,
    wait_serial,
    why_no_charon,
)
from support.netns import ip, why_not_netns

pytestmark = pytest.mark.interop
REASON = why_not_netns() or why_no_charon()
if REASON is None and shutil.which("tshark") is None:
    REASON = "tshark is not installed (the ESP is checked with it)"

SWANCTL_REMOTE = swanctl_remote()


@pytest.mark.skipif(REASON is not None, reason=f"interop with strongSwan skipped: {REASON}")
def test_charon_as_remote_initiates_to_the_emulated_hub_over_a_tun_port(tmp_path):
    with interop_case(tmp_path, "iop", "hub") as case:
        lab, paced, ns, dev, tried, started = case.lab, case.paced, case.ns, case.dev, case.tried, case.started
        tried += [f"lab: hub Serial0 on TUN {dev} in netns {ns}; charon 100.100.100.1 initiating",
                  "charon's kernel SAs: LD_PRELOAD shim acknowledging XFRM NEWSA/UPDSA/DELSA (no IKE byte touched)"]
        ip("-n", ns, "route", "add", "99.99.99.0/24", "dev", dev)
        charon = case.start_charon(SWANCTL_REMOTE)
        # Main mode and quick mode, as charon's own log says.
        child = charon.wait_log(r"CHILD_SA lan\{1\} established with SPIs ([0-9a-f]{8})_i ([0-9a-f]{8})_o", 30)
        log = charon.text()
        tried.append(f"charon established after {time.monotonic() - started:.1f} s: {bool(child)}")
        assert re.search(r"IKE_SA hub\[1\] established between 100\.100\.100\.1\[100\.100\.100\.1\]\.\.\."
                         r"99\.99\.99\.1\[99\.99\.99\.1\]", log), log[-3000:]
        assert child is not None, log[-3000:]
        charon_in, charon_out = child.group(1), child.group(2)
        # charon offered its vendor IDs (NAT-T, DPD, XAuth, fragmentation); IOS 12.2 has none of these and
        # answers with the SA alone, so charon uses none of them.
        assert "sending NAT-T (RFC 3947) vendor ID" in log and "parsed ID_PROT response 0 [ SA ]" in log, log[:3000]
        assert "received NAT-T" not in log and "received DPD vendor ID" not in log
        # ... and as the hub shows it.
        isakmp = run(paced, lab, "sam-i-am", "show crypto isakmp sa")
        assert re.search(r"99\.99\.99\.1\s+100\.100\.100\.1\s+QM_IDLE", isakmp), isakmp
        hub_in, hub_out = sas_with(paced, lab, {charon_in, charon_out})
        assert (hub_in, hub_out) == ([charon_out], [charon_in])

        # Keys: charon's log (level 4) = the emulator's key log = what charon asked its kernel for.
        # Initiator to responder: the SA whose SPI the hub (responder) chose, inbound at the hub.
        kernel = keys_agree(lab, log, charon, "sam-i-am", "responder", i_to_r=charon_out, r_to_i=charon_in)
        tried.append(f"keys equal: SKEYID..Ka and SPIs {charon_in}/{charon_out}")

        # The hub's ESP towards charon, decrypted by tshark with charon's keys only.
        out = run(paced, lab, "hub-host", "ping 10.1.1.10 repeat 3")
        assert "Success rate is 0 percent (0/3)" in out, out         # charon's kernel has no SA to answer
        shown = run(paced, lab, "sam-i-am", "show crypto ipsec sa")
        encaps = int(re.search(r"#pkts encaps: (\d+)", shown).group(1))
        assert encaps >= 2, shown                                     # the first echo may wait for ARP
        lab.capture.flush()
        (pcap,) = (tmp_path / "capture").glob("serial-sam-i-am-Serial0*.pcap")
        k = kernel[charon_in]
        row = (f'"IPv4","{k["src"]}","{k["dst"]}","0x{charon_in}","DES-CBC [RFC2405]","0x{k["enc_key"]}",'
               f'"HMAC-MD5-96 [RFC2403]","0x{k["auth_key"]}"')
        shark = subprocess.run(["tshark", "-r", str(pcap), "-o", "esp.enable_encryption_decode:TRUE",
                                "-o", "esp.enable_authentication_check:TRUE", "-o", f"uat:esp_sa:{row}",
                                "-Y", "esp", "-T", "fields", "-e", "esp.spi", "-e", "esp.icv_good", "-e", "ip.src",
                                "-e", "icmp.type"], capture_output=True, text=True, timeout=30)
        lines = [ln.split("\t") for ln in shark.stdout.splitlines() if ln.strip()]
        # The hub's ESP, and Linux's ICMP errors quoting it (its kernel has no SA for it): all decrypted.
        sent = [ln for ln in lines if ln[2] == "99.99.99.1,10.2.2.10"]
        assert len(sent) == encaps and all(ln[3] == "8" for ln in sent), shark.stdout + shark.stderr
        assert all(ln[0] == f"0x{charon_in}" and ln[1] == "1" for ln in lines), shark.stdout
        tried.append(f"tshark decrypted {len(lines)} ESP packets of the hub with charon's keys, ICVs good")

        # A child rekey from charon: a second quick mode; the hub takes the new SAs, keys equal again.
        charon.swanctl("--rekey", "--child", "lan")
        rekeyed = charon.wait_log(r"CHILD_SA lan\{2\} established with SPIs ([0-9a-f]{8})_i ([0-9a-f]{8})_o", 15)
        assert rekeyed is not None, charon.text()[-3000:]
        new_in, new_out = rekeyed.group(1), rekeyed.group(2)
        hub_in, hub_out = sas_with(paced, lab, {new_in, new_out})
        assert new_out in hub_in and new_in in hub_out
        esp = {f["SPI"]: f for kind, f in key_log(lab) if kind == "ESP"}
        kernel = shim_sas(charon)
        assert esp[new_out]["Ke"] == kernel[new_out]["enc_key"] and esp[new_in]["Ki"] == kernel[new_in]["auth_key"]
        tried.append(f"child rekey by charon: SPIs {new_in}/{new_out}")

        # DELETE from charon: the child SAs, then the IKE SA; the hub drops them.
        charon.swanctl("--terminate", "--ike", "hub", timeout=15)
        assert charon.wait_log(r"sending DELETE for IKE_SA hub\[1\]", 10), charon.text()[-2000:]
        # charon has written its DELETEs; the hub takes them on the lab clock, the IKE SA's after the children's.
        deadline = time.monotonic() + 10

        def hub_dropped() -> bool:
            return (hub_sas(paced, lab) == ([], [])
                    and "QM_IDLE" not in run(paced, lab, "sam-i-am", "show crypto isakmp sa"))
        while time.monotonic() < deadline and not hub_dropped():
            time.sleep(0.2)
        assert hub_sas(paced, lab) == ([], [])
        isakmp = run(paced, lab, "sam-i-am", "show crypto isakmp sa")
        assert "QM_IDLE" not in isakmp, isakmp
        tried.append("DELETE from charon: the hub removed its SAs")
    assert time.monotonic() - started < 60
    assert not Path("/run/netns", ns).exists()


SWANCTL_HUB = swanctl_hub()


@pytest.mark.skipif(REASON is not None, reason=f"interop with strongSwan skipped: {REASON}")
def test_the_emulated_remote_initiates_to_charon_as_hub_over_a_ppp_tun_port(tmp_path):
    """The other direction: charon answers as the hub (99.99.99.1) in a namespace behind the emulated
    remote's Serial0, a TUN port where the emulator plays the access server's PPP (IPCP gives the remote
    100.100.100.1); the remote host's echo starts IKE."""
    with interop_case(tmp_path, "iopr", "remote") as case:
        lab, paced, ns, dev, tried, started = case.lab, case.paced, case.ns, case.dev, case.tried, case.started
        tried += [f"lab: remote Serial0 (PPP) on TUN {dev} in netns {ns}; charon 99.99.99.1 answering",
                  "charon's kernel SAs: LD_PRELOAD shim acknowledging XFRM NEWSA/UPDSA/DELSA (no IKE byte touched)"]
        ip("-n", ns, "addr", "add", "99.99.99.1/32", "dev", "lo")
        charon = case.start_charon(SWANCTL_HUB)
        assert wait_loaded(charon, "remotes"), charon.text()[-2000:]
        wait_serial(paced, lab, "dr_whoovie")
        out = run(paced, lab, "remote-host", "ping 10.2.2.10 repeat 3")
        tried.append(f"remote host's echoes: {out.strip().splitlines()[-1]}")
        child = charon.wait_log(r"CHILD_SA lan\{1\} established with SPIs ([0-9a-f]{8})_i ([0-9a-f]{8})_o", 15)
        log = charon.text()
        assert re.search(r"IKE_SA remotes\[1\] established between 99\.99\.99\.1\[99\.99\.99\.1\]\.\.\."
                         r"100\.100\.100\.1\[100\.100\.100\.1\]", log), log[-3000:]
        assert child is not None, log[-3000:]
        charon_in, charon_out = child.group(1), child.group(2)
        isakmp = run(paced, lab, "dr_whoovie", "show crypto isakmp sa")
        assert re.search(r"99\.99\.99\.1\s+100\.100\.100\.1\s+QM_IDLE", isakmp), isakmp
        shown = run(paced, lab, "dr_whoovie", "show crypto ipsec sa")
        assert f"current outbound spi: {charon_in.upper().lstrip('0')}" in shown, shown

        # Initiator (the emulated remote) to responder (charon): the SA with charon's inbound SPI.
        kernel = keys_agree(lab, log, charon, "dr_whoovie", "initiator", i_to_r=charon_in, r_to_i=charon_out)
        tried.append(f"keys equal: SKEYID..Ka and SPIs {charon_in}/{charon_out}")

        # The remote's ESP on its PPP line, decrypted by tshark with charon's keys only.
        shown = run(paced, lab, "dr_whoovie", "show crypto ipsec sa")
        encaps = int(re.search(r"#pkts encaps: (\d+)", shown).group(1))
        assert encaps >= 1, shown
        lab.capture.flush()
        (pcap,) = (tmp_path / "capture").glob("serial-dr_whoovie-Serial0*.pcap")
        k = kernel[charon_in]
        row = (f'"IPv4","{k["src"]}","{k["dst"]}","0x{charon_in}","DES-CBC [RFC2405]","0x{k["enc_key"]}",'
               f'"HMAC-MD5-96 [RFC2403]","0x{k["auth_key"]}"')
        shark = subprocess.run(["tshark", "-r", str(pcap), "-o", "esp.enable_encryption_decode:TRUE",
                                "-o", "esp.enable_authentication_check:TRUE", "-o", f"uat:esp_sa:{row}",
                                "-Y", "esp", "-T", "fields", "-e", "esp.spi", "-e", "esp.icv_good", "-e", "ip.src",
                                "-e", "icmp.type"], capture_output=True, text=True, timeout=30)
        lines = [ln.split("\t") for ln in shark.stdout.splitlines() if ln.strip()]
        sent = [ln for ln in lines if ln[2] == "100.100.100.1,10.1.1.10"]
        assert len(sent) == encaps and all(ln[3] == "8" for ln in sent), shark.stdout + shark.stderr
        assert all(ln[0] == f"0x{charon_in}" and ln[1] == "1" for ln in lines), shark.stdout
        tried.append(f"tshark decrypted {len(lines)} ESP packets of the remote with charon's keys, ICVs good")

        # DELETE from charon as hub: the remote drops its SAs.
        charon.swanctl("--terminate", "--ike", "remotes", timeout=15)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and "current outbound spi: 0" not in \
                run(paced, lab, "dr_whoovie", "show crypto ipsec sa"):
            time.sleep(0.2)
        assert "current outbound spi: 0" in run(paced, lab, "dr_whoovie", "show crypto ipsec sa")
        tried.append("DELETE from charon: the remote removed its SAs")
    assert time.monotonic() - started < 60
