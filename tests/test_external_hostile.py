"""Bad input from a real peer through an external port: a process in a Linux network namespace behind the
hub's Serial0 (a TUN port) sends malformed ISAKMP, a main mode first message with unknown and NAT-T
vendor IDs, a datagram to the NAT-T port and a flood of first messages (tests/interop/ike_hostile.py,
seeded and bounded). Each gets IOS's answer or a counted drop, and the lab keeps running."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emulator.engines.ike.core import IN_NEGOTIATION_PER_PEER
from emulator.frontends.pacer import PacedLab
from support import ROOT
from support.charon import console, hub_lab, run
from support.netns import ip, netns_ping, why_not_netns

REASON = why_not_netns()
PEER = ROOT / "tests" / "interop" / "ike_hostile.py"
FLOOD = 300


@pytest.mark.skipif(REASON is not None, reason=f"external hostile input skipped: {REASON}")
def test_a_hostile_peer_on_a_tun_port_gets_ios_answers_or_counted_drops(tmp_path):
    started = time.monotonic()
    tag = os.getpid() % 100000
    ns, dev = f"hyh-{tag}", f"hyh{tag}"
    lab = hub_lab(tmp_path, ns, dev)
    paced = PacedLab(lab).start()
    try:
        ip("-n", ns, "route", "add", "99.99.99.0/24", "dev", dev)
        run(paced, lab, "sam-i-am", "debug crypto isakmp")
        assert netns_ping(ns, "99.99.99.1", count=1) == 1               # the line is up
        done = subprocess.run(["ip", "netns", "exec", ns, sys.executable, str(PEER), "99.99.99.1", str(FLOOD)],
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr[-3000:]
        got = json.loads(done.stdout)
        print(json.dumps(got, indent=1))
        hub = lab.device("sam-i-am")
        with paced.lock:
            stats = dict(hub.crypto.ike.stats)
        log = console(paced, lab, "sam-i-am")

        # Malformed ISAKMP: no answer, each counted and logged as IOS logs it.
        malformed = ("garbage", "short header", "length beyond datagram", "payload length overruns")
        assert all(got[name] == [] for name in malformed), got
        assert stats.get("malformed") == len(malformed), stats
        assert log.count("%CRYPTO-4-IKMP_BAD_MESSAGE: IKE message from 100.100.100.1 failed its sanity check "
                         "or is malformed") == len(malformed), log[-3000:]
        # Unknown and NAT-T vendor IDs are ignored (IOS 12.2 has neither NAT-T nor DPD): main mode goes on,
        # the answer carries the SA alone, no vendor ID.
        assert got["unknown and NAT-T vendor IDs"] == [{"len": 84, "types": [1], "icookie": True}], got
        # Nothing listens on the NAT-T port: ICMP port unreachable from the hub.
        assert got["port 4500"] == [{"icmp": [3, 3], "from": "99.99.99.1"}], got
        # The flood: the hub holds a bounded number of SAs in negotiation with one peer, answers those,
        # refuses and counts the rest.
        flood = got["flood"]
        isakmp = run(paced, lab, "sam-i-am", "show crypto isakmp sa")
        held = len(re.findall(r"99\.99\.99\.1\s+100\.100\.100\.1\s+MM_SA_SETUP", isakmp))
        assert held == IN_NEGOTIATION_PER_PEER == flood["cookies answered"] + 1, (isakmp, flood)
        admission = run(paced, lab, "sam-i-am", "show crypto call admission statistics")
        refused = FLOOD - flood["cookies answered"]
        assert re.search(rf"Incoming IKE Requests:\s+{FLOOD + 1} accepted:\s+{held} rejected:\s+{refused}",
                         admission), admission
        assert stats.get("in-negotiation limit") == refused, stats
        # ... and the lab keeps running.
        assert netns_ping(ns, "99.99.99.1", count=3) == 3
        with paced.lock:
            assert not hub.crypto.errors, hub.crypto.errors
        print(f"tried: {len(malformed)} malformed, 1 with vendor IDs, 1 to port 4500, a flood of {FLOOD}; "
              f"took {time.monotonic() - started:.1f} s")
    finally:
        paced.stop()
        lab.close()
    assert not Path("/run/netns", ns).exists()
