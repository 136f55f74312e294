"""Interoperability with strongSwan's charon, the emulator's side acting: its soft-lifetime child rekey, the
DELETEs of a hard expiry, ``clear crypto sa`` and ``clear crypto isakmp``, as charon's own log records them.

Same setting as tests/test_interop_strongswan.py (charon in a network namespace behind a TUN external port,
its kernel SA requests acknowledged by the LD_PRELOAD shim tests/interop/xfrm_ack_shim.c, no IKE byte
touched). Only the side with a static crypto map re-keys (a dynamic entry never initiates), so the rekey
is the emulated remote's, towards charon as hub. Its lifetime is ``crypto ipsec security-association
lifetime seconds 120`` (the least IOS takes); the lab clock runs SPEED times the wall clock in that test so
that the soft lifetime (90 s of lab time) and the hard expiry (120 s) come within seconds; charon's
timers are not involved (its own rekey is an hour away). What was tried is printed.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from emulator.frontends.pacer import PacedLab
from emulator.lab.labfile import Lab
from support.charon import (
    Charon,
    console,
    hexdumps,
    hub_sas,
    interop_case,
    key_log,
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
SKIP = pytest.mark.skipif(REASON is not None, reason=f"interop with strongSwan skipped: {REASON}")
SPEED = 10.0          # lab seconds per wall second in the rekey test
CHILD = r"CHILD_SA lan\{%d\} established with SPIs ([0-9a-f]{8})_i ([0-9a-f]{8})_o"


def received_deletes(charon: Charon) -> list[str]:
    """The SPIs named by the DELETEs charon received, in order (its own SPIs, lower-case hex)."""
    return re.findall(r"received DELETE for ESP CHILD_SA with SPI ([0-9a-f]{8})", charon.text())


def deletes_once(charon: Charon, spi: str, timeout: float) -> list[str]:
    """The ESP SPIs charon received DELETEs for, once ``spi`` is among them (or ``timeout`` s passed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and spi not in received_deletes(charon):
        time.sleep(0.1)
    return received_deletes(charon)



def clear_isakmp_told(charon: Charon, paced: PacedLab, lab: Lab, device: str, conn: str) -> str:
    """``clear crypto isakmp`` on ``device``: charon receives the DELETE for its IKE SA ``conn[1]`` and the
    device lists no ISAKMP SA in QM_IDLE; what was tried."""
    run(paced, lab, device, "clear crypto isakmp")
    assert charon.wait_log(rf"received DELETE for IKE_SA {conn}\[1\]", 5), charon.text()[-3000:]
    assert "QM_IDLE" not in run(paced, lab, device, "show crypto isakmp sa")
    return f"clear crypto isakmp: charon received the DELETE for IKE_SA {conn}[1]"

@SKIP
def test_the_emulated_remote_rekeys_and_deletes_towards_charon(tmp_path):
    with interop_case(tmp_path, "iopk", "remote", extra="crypto ipsec security-association lifetime seconds 120",
                      speed=SPEED) as case:
        lab, paced, ns, dev, tried = case.lab, case.paced, case.ns, case.dev, case.tried
        tried.append(f"lab: remote Serial0 (PPP) on TUN {dev} in netns {ns}, lab clock x{SPEED:g}, IPsec lifetime "
                     "120 s; charon 99.99.99.1 answering; kernel SAs acknowledged by the LD_PRELOAD shim")
        ip("-n", ns, "addr", "add", "99.99.99.1/32", "dev", "lo")
        charon = case.start_charon(swanctl_hub())
        assert wait_loaded(charon, "remotes"), charon.text()[-2000:]
        wait_serial(paced, lab, "dr_whoovie")
        run(paced, lab, "dr_whoovie", "debug crypto isakmp", "debug crypto ipsec")
        run(paced, lab, "remote-host", "ping 10.2.2.10 repeat 3")      # starts IKE; its SA carries echoes
        first = charon.wait_log(CHILD % 1, 10)
        assert first is not None, charon.text()[-3000:]
        old_in, old_out = first.groups()
        run(paced, lab, "remote-host", "ping 10.2.2.10 repeat 2")      # traffic on the SA: it is renewed
        assert hub_sas(paced, lab, "dr_whoovie") == ([old_out], [old_in])

        # Soft lifetime (90 s of lab time): the remote starts a quick mode in the IKE SA it has, charon
        # takes it as a rekey of lan{1}; keys of the new pair equal on both sides.
        second = charon.wait_log(CHILD % 2, 30)     # due 90 s of lab time after lan{1}: 9 s
        log = charon.text()
        assert second is not None, log[-3000:]
        assert "detected rekeying of CHILD_SA lan{1}" in log, log[-3000:]
        new_in, new_out = second.groups()
        assert new_in != old_in and new_out != old_out
        tried.append(f"soft lifetime: rekey by the remote after {time.monotonic() - case.started:.1f} s, "
                     f"SPIs {old_in}/{old_out} -> {new_in}/{new_out}")
        shown = run(paced, lab, "dr_whoovie", "show crypto ipsec sa")
        assert f"current outbound spi: {new_in.upper().lstrip('0')}" in shown, shown
        esp = {f["SPI"]: f for kind, f in key_log(lab) if kind == "ESP" and f["device"] == "dr_whoovie"}
        # The remote initiated both quick modes: charon's initiator keys are for charon's inbound SA.
        enc_i, enc_r = hexdumps(log, "encryption initiator key"), hexdumps(log, "encryption responder key")
        int_i, int_r = hexdumps(log, "integrity initiator key"), hexdumps(log, "integrity responder key")
        assert len(enc_i) == len(enc_r) == 2, log[-3000:]
        assert (esp[new_in]["dir"], esp[new_in]["Ke"], esp[new_in]["Ki"]) == ("out", enc_i[1].hex(), int_i[1].hex())
        assert (esp[new_out]["dir"], esp[new_out]["Ke"], esp[new_out]["Ki"]) == ("in", enc_r[1].hex(), int_r[1].hex())
        kernel = shim_sas(charon)
        assert (kernel[new_in]["enc_key"], kernel[new_out]["auth_key"]) == (enc_i[1].hex(), int_r[1].hex())
        tried.append("rekeyed SAs: keys equal in charon's log, its kernel requests and the key log")

        # Hard expiry of the old pair (120 s of lab time): the remote deletes it and tells charon, naming
        # its inbound SPI, which is charon's outbound one.
        assert deletes_once(charon, old_out, 20) == [old_out], charon.text()[-3000:]   # due in 3 s
        assert re.search(rf"closing CHILD_SA lan\{{1\}} with SPIs {old_in}_i .* {old_out}_o", charon.text())
        debug = console(paced, lab, "dr_whoovie")
        assert "IPSEC(sa_aging): lifetime expiring" in debug, debug[-3000:]
        assert "sending DELETE for 1 IPsec SA(s) to 99.99.99.1" in debug, debug[-3000:]
        assert hub_sas(paced, lab, "dr_whoovie") == ([new_out], [new_in])
        tried.append(f"hard expiry: DELETE for {old_out} received by charon, lan{{1}} closed")

        # clear crypto sa: the current pair goes, charon hears of it.
        run(paced, lab, "dr_whoovie", "clear crypto sa")
        assert deletes_once(charon, new_out, 5) == [old_out, new_out], charon.text()[-3000:]
        assert re.search(rf"closing CHILD_SA lan\{{2\}} with SPIs {new_in}_i .* {new_out}_o", charon.text())
        assert hub_sas(paced, lab, "dr_whoovie") == ([], [])
        tried.append(f"clear crypto sa: DELETE for {new_out} received by charon, lan{{2}} closed")

        # clear crypto isakmp: the IKE SA goes, charon hears of it.
        tried.append(clear_isakmp_told(charon, paced, lab, "dr_whoovie", "remotes"))
    assert not Path("/run/netns", ns).exists()


@SKIP
def test_the_emulated_hub_deletes_towards_charon(tmp_path):
    """The dynamic side never re-keys; it does delete: ``clear crypto sa`` and ``clear crypto isakmp`` on
    the hub after charon (the remote) built the tunnel."""
    with interop_case(tmp_path, "iopd", "hub") as case:
        lab, paced, ns, dev, tried = case.lab, case.paced, case.ns, case.dev, case.tried
        tried.append(f"lab: hub Serial0 on TUN {dev} in netns {ns}; charon 100.100.100.1 initiating")
        ip("-n", ns, "route", "add", "99.99.99.0/24", "dev", dev)
        charon = case.start_charon(swanctl_remote())
        child = charon.wait_log(CHILD % 1, 30)
        assert child is not None, charon.text()[-3000:]
        charon_in, charon_out = child.groups()
        assert sas_with(paced, lab, {charon_in, charon_out}) == ([charon_out], [charon_in])
        run(paced, lab, "sam-i-am", "debug crypto isakmp", "debug crypto ipsec")
        run(paced, lab, "sam-i-am", "clear crypto sa")
        assert deletes_once(charon, charon_out, 5) == [charon_out], charon.text()[-3000:]
        assert re.search(rf"closing CHILD_SA lan\{{1\}} with SPIs {charon_in}_i .* {charon_out}_o", charon.text())
        assert hub_sas(paced, lab) == ([], [])
        assert "sending DELETE for 1 IPsec SA(s) to 100.100.100.1" in console(paced, lab, "sam-i-am")
        tried.append(f"clear crypto sa: DELETE for {charon_out} received by charon")
        tried.append(clear_isakmp_told(charon, paced, lab, "sam-i-am", "hub"))
    assert not Path("/run/netns", ns).exists()


# ---------------------------------------------------------------- mismatches
# Each case: what charon is given instead of the document's settings. The emulated side keeps the
# document's configuration (des-md5 policy, rtpset, ACL 115, key cisco123).
MISMATCHES = {
    "wrong key": dict(secret="not-cisco123"),
    "no common IKE proposal": dict(proposals="aes128-sha256-modp2048"),
    "transform mismatch": dict(esp="aes128-sha1"),
}


class Sides:
    """What charon's log and the emulated device's console gained since the last mark."""

    def __init__(self, charon: Charon, paced: PacedLab, lab: Lab, device: str):
        self.charon, self.paced, self.lab, self.device = charon, paced, lab, device
        self.mark()

    def mark(self) -> None:
        self._c, self._e = len(self.charon.text()), len(console(self.paced, self.lab, self.device))

    def charon_log(self) -> str:
        return self.charon.text()[self._c:]

    def console(self) -> str:
        return console(self.paced, self.lab, self.device)[self._e:]

    def wait(self, charon_line: str, console_line: str, timeout: float) -> tuple[str, str]:
        """Wait until both sides logged what they should (``timeout`` wall seconds at most)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(charon_line, self.charon_log()) and re.search(console_line, self.console()):
                break
            time.sleep(0.1)
        return self.charon_log(), self.console()


@SKIP
def test_mismatches_with_charon_initiating_fail_on_both_sides(tmp_path):
    """charon (the remote) initiates to the emulated hub with one setting wrong at a time; both refuse,
    each as its own log says, and no SA is left on the hub."""
    with interop_case(tmp_path, "iopm", "hub") as case:
        lab, paced, ns, dev, tried = case.lab, case.paced, case.ns, case.dev, case.tried
        tried.append(f"lab: hub Serial0 on TUN {dev} in netns {ns}; charon 100.100.100.1 initiating, "
                     "1 retransmit of 1 s")
        cases = dict(MISMATCHES, **{"non-mirrored proxies": dict(local_ts="10.1.1.0/24", remote_ts="10.3.3.0/24")})
        ip("-n", ns, "route", "add", "99.99.99.0/24", "dev", dev)
        charon = case.start_charon(swanctl_remote(start=False), retransmit_tries=1, retransmit_timeout=1)
        assert wait_loaded(charon, "hub"), charon.text()[-2000:]
        run(paced, lab, "sam-i-am", "debug crypto isakmp", "debug crypto ipsec")
        sides = Sides(charon, paced, lab, "sam-i-am")
        for name, settings in cases.items():
            t0 = time.monotonic()
            charon.load(swanctl_remote(start=False, **settings), name.replace(" ", "-"))
            sides.mark()
            answer = charon.swanctl("--initiate", "--child", "lan", "--timeout", "10", timeout=20)
            assert "initiate failed: establishing CHILD_SA 'lan' failed" in answer, answer[-2000:]
            log, con = sides.charon_log(), sides.console()
            isakmp = run(paced, lab, "sam-i-am", "show crypto isakmp sa")
            if name == "wrong key":
                # The hub cannot read MM5 (encrypted with another key) and does not answer; charon gives up.
                assert "giving up after 1 retransmits" in log and "peer not responding" in log, log[-3000:]
                assert con.count("%CRYPTO-4-IKMP_BAD_MESSAGE: IKE message from 100.100.100.1 failed its sanity "
                                 "check or is malformed") == 2, con           # MM5 and its retransmission
                assert re.search(r"99\.99\.99\.1\s+100\.100\.100\.1\s+MM_KEY_EXCH", isakmp), isakmp
            elif name == "no common IKE proposal":
                assert "received NO_PROPOSAL_CHOSEN error notify" in log, log[-3000:]
                assert not re.search(r"IKE_SA hub\[\d+\] established", log), log[-3000:]
                assert "Encryption algorithm offered does not match policy!" in con, con
                assert "atts are not acceptable. Next payload is 0" in con and "no offers accepted!" in con, con
                assert "%CRYPTO-6-IKMP_MODE_FAILURE: Processing of Main mode failed with peer at 100.100.100.1" \
                    in con, con
                assert "100.100.100.1" not in isakmp, isakmp
            else:
                # Phase 1 completes; the quick mode is refused with an encrypted notify.
                assert re.search(r"IKE_SA hub\[\d+\] established", log), log[-3000:]
                notify = "NO_PROPOSAL_CHOSEN" if name == "transform mismatch" else "INVALID_ID_INFORMATION"
                assert f"received {notify} error notify" in log, log[-3000:]
                reason = ("transform proposal (prot 3, trans 12, hmac_alg 2) not supported"
                          if name == "transform mismatch" else "proxy identities not supported")
                assert f"IPSEC(validate_transform_proposal): {reason}" in con, con
                assert "%CRYPTO-6-IKMP_MODE_FAILURE: Processing of Quick mode failed with peer at 100.100.100.1" \
                    in con, con
                assert re.search(r"99\.99\.99\.1\s+100\.100\.100\.1\s+QM_IDLE", isakmp), isakmp
            assert not re.search(r"CHILD_SA lan\{\d+\} established", log) and hub_sas(paced, lab) == ([], [])
            tried.append(f"{name}: refused on both sides in {time.monotonic() - t0:.1f} s")
            run(paced, lab, "sam-i-am", "clear crypto isakmp")
            charon.swanctl("--terminate", "--ike", "hub", "--force", "--timeout", "2", timeout=10)
    assert len(tried) == 1 + len(cases)


MISMATCH_SPEED = 5.0     # the remote's phase 1 retransmission (10 s of lab time) within 2 s


@SKIP
def test_mismatches_with_the_emulated_remote_initiating_fail_on_both_sides(tmp_path):
    """The emulated remote initiates (its host's echo) to charon as hub, charon having one setting wrong
    at a time; both refuse, each as its own log says, and the remote has no SA. The lab clock runs
    MISMATCH_SPEED times the wall clock so that the remote's retransmission of MM5 shows."""
    with interop_case(tmp_path, "iopn", "remote", speed=MISMATCH_SPEED) as case:
        lab, paced, ns, dev, tried = case.lab, case.paced, case.ns, case.dev, case.tried
        tried.append(f"lab: remote Serial0 (PPP) on TUN {dev} in netns {ns}, lab clock x{MISMATCH_SPEED:g}; "
                     "charon 99.99.99.1 answering")
        cases = dict(MISMATCHES, **{"non-mirrored proxies": dict(local_ts="10.2.2.0/24", remote_ts="10.9.9.0/24")})
        expect = {  # (charon's line, the remote's console line) that end each case
            "wrong key": (r"ID_PROT request with message ID 0 processing failed",
                          r"retransmitting phase 1 MM_KEY_EXCH"),
            "no common IKE proposal": (r"no proposal found", r"Notify has no hash\. Rejected\."),
            "transform mismatch": (r"no matching proposal found, sending NO_PROPOSAL_CHOSEN",
                                   r'deleting node -?\d+ error TRUE reason "proposal not chosen"'),
            "non-mirrored proxies": (r"no matching CHILD_SA config found for 10\.1\.1\.0/24 === 10\.2\.2\.0/24",
                                     r'deleting node -?\d+ error TRUE reason "invalid id info"'),
        }
        ip("-n", ns, "addr", "add", "99.99.99.1/32", "dev", "lo")
        charon = case.start_charon(swanctl_hub(), retransmit_tries=1, retransmit_timeout=1)
        assert wait_loaded(charon, "remotes"), charon.text()[-2000:]
        wait_serial(paced, lab, "dr_whoovie")
        run(paced, lab, "dr_whoovie", "debug crypto isakmp", "debug crypto ipsec")
        sides = Sides(charon, paced, lab, "dr_whoovie")
        for name, settings in cases.items():
            t0 = time.monotonic()
            charon.load(swanctl_hub(**settings), name.replace(" ", "-"))
            sides.mark()
            run(paced, lab, "remote-host", "ping 10.2.2.10 repeat 2")    # the first may wait for ARP
            log, con = sides.wait(*expect[name], timeout=10)
            isakmp = run(paced, lab, "dr_whoovie", "show crypto isakmp sa")
            assert re.search(expect[name][0], log), (log[-3000:], con[-3000:])
            assert re.search(expect[name][1], con), con[-3000:]
            assert "IPSEC(sa_request)" in con and "beginning Main Mode exchange" in con, con[-3000:]
            if name == "wrong key":
                # charon cannot parse MM5 (another key); the remote repeats it and stays in MM_KEY_EXCH.
                assert "message parsing failed" in log, log[-3000:]
                assert re.search(r"99\.99\.99\.1\s+100\.100\.100\.1\s+MM_KEY_EXCH", isakmp), isakmp
                assert "SA has been authenticated" not in con, con
            elif name == "no common IKE proposal":
                # charon's NO_PROPOSAL_CHOSEN comes in clear in main mode: IOS ignores it and retransmits.
                assert "IKE_SA remotes" not in log, log[-3000:]
                assert re.search(r"99\.99\.99\.1\s+100\.100\.100\.1\s+MM_NO_STATE", isakmp), isakmp
            else:
                assert re.search(r"IKE_SA remotes\[\d+\] established", log), log[-3000:]
                assert "SA has been authenticated with 99.99.99.1" in con, con
                notify = "PROPOSAL_NOT_CHOSEN" if name == "transform mismatch" else "INVALID_ID_INFO"
                assert f"processing NOTIFY {notify} protocol 3" in con, con
                assert re.search(r"99\.99\.99\.1\s+100\.100\.100\.1\s+QM_IDLE", isakmp), isakmp
            assert not re.search(r"CHILD_SA lan\{\d+\} established", log), log[-3000:]
            assert hub_sas(paced, lab, "dr_whoovie") == ([], [])
            tried.append(f"{name}: refused on both sides in {time.monotonic() - t0:.1f} s")
            run(paced, lab, "dr_whoovie", "clear crypto isakmp", "clear crypto sa")
    assert len(tried) == 1 + len(cases)


@SKIP
def test_charon_forcing_udp_encapsulation_gets_plain_esp_from_the_hub(tmp_path):
    """NAT-T the platform does not support: charon, told to force ESP in UDP (``encap = yes``), offers the
    NAT-T vendor IDs; the hub (IOS 12.2: no NAT-T) answers without them, so charon never moves to port
    4500 and asks its kernel for plain ESP SAs, which the hub has too."""
    with interop_case(tmp_path, "iopt", "hub") as case:
        lab, paced, ns, dev, tried = case.lab, case.paced, case.ns, case.dev, case.tried
        ip("-n", ns, "route", "add", "99.99.99.0/24", "dev", dev)
        charon = case.start_charon(swanctl_remote(encap=True))
        child = charon.wait_log(CHILD % 1, 30)
        log = charon.text()
        assert child is not None, log[-3000:]
        assert re.search(r"\[CFG\]\s+encap = 1$", log, re.M) and "sending NAT-T (RFC 3947) vendor ID" in log, log[:3000]
        assert "parsed ID_PROT response 0 [ SA ]" in log and "received NAT-T" not in log, log[-3000:]
        ports = set(re.findall(r"(?:from|to) \d+\.\d+\.\d+\.\d+\[(\d+)\]", log))
        assert ports == {"500"}, ports
        kernel = shim_sas(charon)
        assert set(kernel) == set(child.groups()) and {k["encap"] for k in kernel.values()} == {"none"}, kernel
        assert sas_with(paced, lab, set(child.groups())) == ([child.group(2)], [child.group(1)])
        tried.append("charon with encap = yes: plain ESP on port 500")
    assert not Path("/run/netns", ns).exists()
