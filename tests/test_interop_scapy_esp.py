"""A second, independent ESP peer: scapy. charon (tests/test_interop_strongswan.py's setting: the document's
remote in a network namespace behind the emulated hub's Serial0 on a TUN port) negotiates the SAs; its
kernel cannot carry DES ESP (its SA requests are only acknowledged by the LD_PRELOAD shim), so scapy,
in the same namespace (tests/interop/esp_peer.py), takes the hub's ESP with the keys of the emulator's key
log, answers each echo request in ESP, and the hub accepts the answers: the hub host's ping succeeds and
``#pkts decaps`` counts them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emulator.frontends.pacer import PacedLab
from support import ROOT
from support.charon import Charon, hub_lab, key_log, run, sas_with, swanctl_remote, why_no_charon
from support.netns import ip, why_not_netns

pytestmark = pytest.mark.interop
REASON = why_not_netns() or why_no_charon()
PEER = ROOT / "tests" / "interop" / "esp_peer.py"
ECHOES = 5


@pytest.mark.skipif(REASON is not None, reason=f"interop with scapy as ESP peer skipped: {REASON}")
def test_scapy_answers_the_hubs_esp_with_the_key_logs_keys(tmp_path):
    started = time.monotonic()
    tag = os.getpid() % 100000
    ns, dev = f"iops-{tag}", f"iops{tag}"
    lab = hub_lab(tmp_path, ns, dev)
    paced = PacedLab(lab).start()
    charon = peer = None
    tried = [f"lab: hub Serial0 on TUN {dev} in netns {ns}; IKE by charon 100.100.100.1, ESP by scapy there"]
    try:
        ip("-n", ns, "route", "add", "99.99.99.0/24", "dev", dev)
        (tmp_path / "charon").mkdir()
        charon = Charon(tmp_path / "charon", ns, swanctl_remote()).start()
        child = charon.wait_log(r"CHILD_SA lan\{1\} established with SPIs ([0-9a-f]{8})_i ([0-9a-f]{8})_o", 30)
        assert child is not None, charon.text()[-3000:]
        hub_in, hub_out = sas_with(paced, lab, set(child.groups()))
        assert (hub_in, hub_out) == ([child.group(2)], [child.group(1)])
        esp = {f["SPI"]: f for kind, f in key_log(lab) if kind == "ESP" and f["device"] == "sam-i-am"}
        rx, tx = esp[hub_out[0]], esp[hub_in[0]]          # scapy receives what the hub sends, and back
        assert (rx["dir"], tx["dir"], rx["enc"], rx["auth"]) == ("out", "in", "DES-CBC_[RFC2405]",
                                                                 "HMAC-MD5-96_[RFC2403]")
        cfg = {"local": "100.100.100.1", "peer": "99.99.99.1", "count": ECHOES, "timeout": 20,
               "rx": {"spi": int(rx["SPI"], 16), "enc": rx["Ke"], "auth": rx["Ki"]},
               "tx": {"spi": int(tx["SPI"], 16), "enc": tx["Ke"], "auth": tx["Ki"]}}
        peer = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, str(PEER), json.dumps(cfg)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, PYTHONPATH=str(ROOT)))
        assert peer.stdout is not None and peer.stdout.readline().strip() == "ready", peer.stderr
        run(paced, lab, "hub-host", "ping 10.2.2.3 repeat 1")        # the host learns its gateway's address
        out = run(paced, lab, "hub-host", f"ping 10.1.1.10 repeat {ECHOES}")
        rate = re.search(r"Success rate is (\d+) percent \((\d+)/(\d+)\)", out)
        assert rate is not None, out
        answer, err = peer.communicate(timeout=30)
        assert peer.returncode == 0 and answer.strip(), err[-3000:]
        result = json.loads(answer.strip().splitlines()[-1])
        tried.append(f"hub host's ping: {rate.group(0)}; scapy saw {len(result['seen'])} ESP packets, "
                     f"answered {result['replied']}")
        assert all("error" not in s for s in result["seen"]), result
        # Every echo the hub encrypted, scapy decrypted (ICV checked).
        shown = run(paced, lab, "sam-i-am", "show crypto ipsec sa")
        encaps = int(re.search(r"#pkts encaps: (\d+)", shown).group(1))
        decaps = int(re.search(r"#pkts decaps: (\d+)", shown).group(1))
        assert [(s["src"], s["dst"], s["icmp"]) for s in result["seen"]] == [("10.2.2.10", "10.1.1.10", 8)] * encaps
        assert [s["seq"] for s in result["seen"]] == list(range(1, encaps + 1))
        # Every answer the hub took in and decrypted; forwarded, they are the ping's successes (on a loaded
        # machine an answer may come after its echo's 2 s timeout: counted in decaps, not a success).
        assert result["replied"] == encaps == decaps == ECHOES, (shown, result)
        assert 1 <= int(rate.group(2)) <= decaps, (out, shown)
        with paced.lock:
            drops = dict(lab.device("sam-i-am").crypto.drops)
        assert not any(drops.values()), drops
        tried.append(f"hub: #pkts encaps {encaps}, #pkts decaps {decaps}")
    finally:
        if peer is not None and peer.poll() is None:
            peer.kill()
            peer.communicate()
        if charon is not None:
            charon.stop()
        paced.stop()
        lab.close()
        print("\n".join(tried), f"\ntook {time.monotonic() - started:.1f} s")
    assert not Path("/run/netns", ns).exists()
