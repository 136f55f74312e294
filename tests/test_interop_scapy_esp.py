"""A second, independent ESP peer: scapy. charon negotiates the SAs (tests/test_interop_strongswan.py's
settings, both directions: charon as the document's remote behind the emulated hub's Serial0, and charon
as the hub behind the emulated remote's PPP Serial0, TUN ports into a network namespace); its kernel
cannot carry DES ESP (its SA requests are only acknowledged by the LD_PRELOAD shim), so scapy, in the same
namespace (tests/interop/esp_peer.py), takes the emulated router's ESP with the keys of the emulator's key
log, answers each echo request in ESP, and the router accepts the answers: its LAN host's ping succeeds
and ``#pkts decaps`` counts them."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from emulator.frontends.pacer import PacedLab
from support import ROOT
from support.charon import (
    interop_case,
    key_log,
    run,
    sas_with,
    swanctl_hub,
    swanctl_remote,
    wait_loaded,
    wait_serial,
    why_no_charon,
)
from support.netns import ip, why_not_netns

pytestmark = pytest.mark.interop
REASON = why_not_netns() or why_no_charon()
PEER = ROOT / "tests" / "interop" / "esp_peer.py"
ECHOES = 5
CHILD = r"CHILD_SA lan\{1\} established with SPIs ([0-9a-f]{8})_i ([0-9a-f]{8})_o"
# Per direction: the emulated router, its LAN host, the host's gateway, the far host, the router's
# address, charon's (scapy's) address.
SIDES = {"hub": ("sam-i-am", "hub-host", "10.2.2.3", "10.1.1.10", "99.99.99.1", "100.100.100.1"),
         "remote": ("dr_whoovie", "remote-host", "10.1.1.1", "10.2.2.10", "100.100.100.1", "99.99.99.1")}


def stop_peer(peer: subprocess.Popen) -> None:
    if peer.poll() is None:
        peer.kill()
        peer.communicate()


def counters(paced: PacedLab, lab, device: str) -> tuple[int, int]:
    shown = run(paced, lab, device, "show crypto ipsec sa")
    return (int(re.search(r"#pkts encaps: (\d+)", shown).group(1)),
            int(re.search(r"#pkts decaps: (\d+)", shown).group(1)))


@pytest.mark.skipif(REASON is not None, reason=f"interop with scapy as ESP peer skipped: {REASON}")
@pytest.mark.parametrize("side", sorted(SIDES))
def test_scapy_answers_the_emulated_routers_esp_with_the_key_logs_keys(tmp_path, side):
    device, host, gateway, far_host, mine, theirs = SIDES[side]
    with interop_case(tmp_path, f"iops{side[0]}", side) as case:
        lab, paced, ns, dev, tried = case.lab, case.paced, case.ns, case.dev, case.tried
        tried.append(f"lab: {device} Serial0 on TUN {dev} in netns {ns}; IKE by charon {theirs}, ESP by scapy there")
        if side == "hub":
            ip("-n", ns, "route", "add", "99.99.99.0/24", "dev", dev)
            charon = case.start_charon(swanctl_remote())
        else:
            ip("-n", ns, "addr", "add", "99.99.99.1/32", "dev", "lo")
            charon = case.start_charon(swanctl_hub())
            assert wait_loaded(charon, "remotes"), charon.text()[-2000:]
            wait_serial(paced, lab, device)
        run(paced, lab, host, f"ping {gateway} repeat 1")               # the host learns its gateway's address
        if side == "remote":
            run(paced, lab, host, f"ping {far_host} repeat 1")          # its echo starts IKE
        child = charon.wait_log(CHILD, 30)
        assert child is not None, charon.text()[-3000:]
        sa_in, sa_out = sas_with(paced, lab, set(child.groups()), device)
        assert (sa_in, sa_out) == ([child.group(2)], [child.group(1)])
        esp = {f["SPI"]: f for kind, f in key_log(lab) if kind == "ESP" and f["device"] == device}
        rx, tx = esp[sa_out[0]], esp[sa_in[0]]          # scapy receives what the router sends, and back
        assert (rx["dir"], tx["dir"], rx["enc"], rx["auth"]) == ("out", "in", "DES-CBC_[RFC2405]",
                                                                 "HMAC-MD5-96_[RFC2403]")
        cfg = {"local": theirs, "peer": mine, "count": ECHOES, "timeout": 20,
               "rx": {"spi": int(rx["SPI"], 16), "enc": rx["Ke"], "auth": rx["Ki"]},
               "tx": {"spi": int(tx["SPI"], 16), "enc": tx["Ke"], "auth": tx["Ki"]}}
        encaps0, decaps0 = counters(paced, lab, device)
        with paced.lock:
            drops0 = dict(lab.device(device).crypto.drops)      # the echo that started IKE, say
        peer = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, str(PEER), json.dumps(cfg)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=dict(os.environ, PYTHONPATH=str(ROOT)))
        case.cleanups.append(lambda: stop_peer(peer))
        assert peer.stdout is not None and peer.stdout.readline().strip() == "ready", peer.stderr
        out = run(paced, lab, host, f"ping {far_host} repeat {ECHOES}")
        rate = re.search(r"Success rate is (\d+) percent \((\d+)/(\d+)\)", out)
        assert rate is not None, out
        answer, err = peer.communicate(timeout=30)
        assert peer.returncode == 0 and answer.strip(), err[-3000:]
        result = json.loads(answer.strip().splitlines()[-1])
        tried.append(f"{host}'s ping: {rate.group(0)}; scapy saw {len(result['seen'])} ESP packets, "
                     f"answered {result['replied']}")
        assert all("error" not in s for s in result["seen"]), result
        # Every echo the router encrypted, scapy decrypted (ICV checked), in sequence.
        encaps, decaps = (n - n0 for n, n0 in zip(counters(paced, lab, device), (encaps0, decaps0), strict=True))
        host_addr = {"hub": "10.2.2.10", "remote": "10.1.1.10"}[side]
        assert [(s["src"], s["dst"], s["icmp"]) for s in result["seen"]] == [(host_addr, far_host, 8)] * encaps
        assert [s["seq"] for s in result["seen"]] == list(range(encaps0 + 1, encaps0 + encaps + 1))
        # Every answer the router took in and decrypted; forwarded, they are the ping's successes (on a
        # loaded machine an answer may come after its echo's 2 s timeout: counted in decaps, not a success).
        assert result["replied"] == encaps == decaps == ECHOES, result
        assert 1 <= int(rate.group(2)) <= decaps, out
        with paced.lock:
            drops = dict(lab.device(device).crypto.drops)
        assert drops == drops0, (drops, drops0)
        tried.append(f"{device}: #pkts encaps +{encaps}, #pkts decaps +{decaps}")
    assert not Path("/run/netns", ns).exists()
