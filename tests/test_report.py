"""The conformance report's parts: verdicts, the evidence of a test, the lab drawn, the exchange drawn."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from drivers.emulated import EmulatedDriver
from drivers.ladder import DIRECTIONS_FILE, DirectionRecorder, build_ladder, read_frames
from drivers.ladder_svg import ladder_svg
from drivers.report import (
    CONFORMANT,
    FAIL,
    NOT_CHECKED,
    NOT_CONFORMANT,
    PARTIAL,
    PARTIALLY,
    PASS,
    Claim,
    ConformanceRecord,
    failure_message,
)
from drivers.report_html import Page, split_checked, tshark_command, write_report
from drivers.topology import PROVIDER, Node, Port, Topology, add_transcripts, from_inventory, from_lab, to_svg
from support import DOC_LAB, ROOT

WRONG_PSK = ROOT / "fixtures" / "misconfigured" / "wrong-psk" / "lab.yml"
INVENTORY = ROOT / "fixtures" / "inventory.example.yml"


# ---------------------------------------------------------------------------- verdicts

@pytest.mark.parametrize("outcomes, verdict", [
    ({"a": "passed", "b": "passed"}, PASS),
    ({"a": "passed", "b": "skipped"}, PARTIAL),
    ({"a": "skipped"}, NOT_CHECKED),
    ({"a": "passed", "b": "error"}, NOT_CHECKED),
    ({"a": "failed", "b": "skipped", "c": "error"}, FAIL),
    ({}, "NOT TESTED"),
])
def test_a_claim_passes_only_when_every_test_behind_it_passed(outcomes, verdict):
    assert Claim("X", "words", "section", dict(outcomes)).verdict == verdict


def _report(nodeid, when="call", outcome="passed", properties=(), longrepr=None, conformance=None, duration=0.1):
    return SimpleNamespace(nodeid=nodeid, when=when, failed=outcome == "failed", skipped=outcome == "skipped",
                           passed=outcome == "passed", user_properties=list(properties), longrepr=longrepr,
                           longreprtext="", duration=duration, conformance=conformance or {})


def _record(**tests) -> ConformanceRecord:
    """A record whose claims are all passed by one test each, then ``tests`` (nodeid -> (outcome, claims, ...))."""
    record = ConformanceRecord()
    record.target = {"driver": "emulated", "lab": str(DOC_LAB)}
    for cid in record.claims:
        nodeid = f"suites/test_x.py::test_{cid.lower()}"
        record.add_report(_report(nodeid, properties=[("claim", cid)]))
        record.record(nodeid, [cid], "passed")
    for nodeid, (outcome, claims, longrepr) in tests.items():
        record.add_report(_report(nodeid, outcome=outcome, properties=[("claim", c) for c in claims],
                                  longrepr=longrepr))
        record.record(nodeid, claims, outcome)
    return record


def test_the_run_is_conformant_partial_or_not_and_says_why():
    assert _record().verdict() == (CONFORMANT, "All 24 claims pass.")
    reason = "disruptive: changes device state; on real devices run with --allow-disruptive"
    partial = _record(**{"suites/test_t.py::test_clear": ("skipped", ["IPCP-AFTER"], ("f", 1, f"Skipped: {reason}"))})
    verdict, why = partial.verdict()
    assert verdict == PARTIALLY and partial.claims["IPCP-AFTER"].verdict == PARTIAL
    assert why == f"23 of 24 claims pass; 1 not fully checked: 1 test skipped: {reason}."
    failing = _record(**{"suites/test_t.py::test_ping": ("failed", ["PING-LAN"], None)})
    assert failing.verdict() == (NOT_CONFORMANT, "1 of 24 claims fail: PING-LAN.")
    # A claim whose only test says it does not apply to this lab is N/A, and the rest still conform.
    na = _record()
    na.claims["SA-GOLDEN"].outcomes = {"suites/test_g.py::test_golden": "n/a"}
    assert na.claims["SA-GOLDEN"].verdict == "N/A"
    assert na.verdict() == (CONFORMANT, "All 23 applicable claims pass; 1 not applicable to this lab "
                                        "(the document's own values: SA-GOLDEN).")


def test_checked_values_read_as_expected_beside_observed():
    assert split_checked("hub WAN address: expected 203.0.113.1 (from configuration), observed 203.0.113.1") == (
        "hub WAN address", "203.0.113.1 (from configuration)", "203.0.113.1")
    assert split_checked("hub WAN address: expected 203.0.113.1 (from configuration)") == (
        "hub WAN address", "203.0.113.1 (from configuration)", "")
    assert split_checked("peer: observed 99.99.99.1") == ("peer", "", "99.99.99.1")
    assert split_checked("no colon here") == ("no colon here", "", "")


def test_a_failure_is_told_in_its_own_words():
    assert failure_message("AssertionError: the hub has no 'crypto map x'\nassert False") == \
        "the hub has no 'crypto map x'"
    assert failure_message("KeyError: 'x'") == "KeyError: 'x'"


# ---------------------------------------------------------------------------- the page from awkward input

ODD = "suites/test_odd.py::test_ünïcode name with spaces[br anch-rtr <b>\u00e9" + "x" * 300 + "]"


def _odd_record(tmp_path) -> ConformanceRecord:
    record = _record()
    record.target = {"driver": "netmiko", "inventory": str(INVENTORY)}
    # A test that errored before any command, with a parameter, an odd name and a long one.
    record.add_report(_report(ODD, when="setup", outcome="failed", properties=[("claim", "PING-LAN")],
                              conformance={"message": "cannot reach the remote <router>"}))
    record.record(ODD, ["PING-LAN"], "failed")
    for remote in ("branch-rtr", "spoke 2"):
        nodeid = f"suites/test_tunnel.py::test_wan[{remote}]"
        record.add_report(_report(nodeid, properties=[("claim", "IKE-SA"), ("checked", f"{remote} WAN address: "
                                                       "expected 203.0.113.1 (from configuration), observed "
                                                       "203.0.113.1")],
                                  conformance={"exchanges": [[remote, f"{remote}#", "show version", "IOS"]]}))
        record.record(nodeid, ["IKE-SA"], "passed")
    return record


def test_odd_names_a_test_without_commands_and_no_captures_still_render(tmp_path):
    path = write_report(_odd_record(tmp_path), tmp_path / "r.html", "Document 14131 conformance report")
    text = path.read_text()
    assert "<b>" not in re.sub(r"<b>(PASS|FAIL|PARTIAL|NOT CHECKED|Skipped:|Likely cause:|What the test saw:|"
                               r"Not checked:)</b>", "", text), "names are escaped"
    assert "&lt;b&gt;\u00e9" in text and "cannot reach the remote &lt;router&gt;" in text
    assert "CLI transcript: none (the test stopped before it sent a command)." in text
    assert "Captures: none (the netmiko driver talks to routers over their CLI and records no packets)." in text
    # Per-remote rows under their claim, and the checked values as expected beside observed.
    claim = text[text.index("data-claim='IKE-SA'"):text.index("data-claim='TUNNEL-UNKNOWN-PEER'")]
    assert "<td>branch-rtr</td>" in claim and "<td>spoke 2</td>" in claim
    assert "<tr><td>branch-rtr WAN address</td><td>203.0.113.1 (from configuration)</td><td>203.0.113.1</td>" \
        in claim
    ids = re.findall(r" id='([^']+)'", text)
    assert len(ids) == len(set(ids)), "every id in the page is unique"
    assert not re.search(r"(?:href|src)=['\"](?:[a-z]+:|//)", text), "nothing is fetched or opened elsewhere"


def test_a_netmiko_run_draws_the_inventory_and_marks_skipped_disruptive_claims_partial(tmp_path):
    record = _record(**{"suites/test_tunnel.py::test_hub_cannot_initiate": (
        "skipped", ["HUB-CANNOT-INITIATE"], ("f", 1, "Skipped: disruptive: changes device state; on real devices "
                                                     "run with --allow-disruptive"))})
    record.target = {"driver": "netmiko", "inventory": str(INVENTORY)}
    page = Page(record, tmp_path / "r.html")
    assert page.topology is not None and {"hub-router", "remote-router", PROVIDER} <= set(page.topology.nodes)
    text = page.render("t")
    assert "data-verdict='PARTIAL'" in text and "--allow-disruptive" in text[:text.index("id='claims'")]
    assert "<svg class=\"topology\"" in text and "hub-router" in text and "provider network" in text
    assert "data-claim='HUB-CANNOT-INITIATE' data-verdict='PARTIAL'" in text     # one test passed, one skipped
    assert "Captures and keys</h2><p>None: the driver records no packets" in text


# ---------------------------------------------------------------------------- the lab drawn

def test_the_document_lab_is_drawn_with_roles_addresses_encapsulations_and_the_tunnel():
    topo = from_lab(DOC_LAB)
    assert topo.order()[:2] == ["remote-host", "dr_whoovie"] and topo.order()[-2:] == ["sam-i-am", "hub-host"]
    remote = topo.nodes["dr_whoovie"]
    assert (remote.role, remote.ports["Serial0"].address, remote.ports["Serial0"].encapsulation) == (
        "remote", "negotiated (IPCP)", "ppp")
    assert topo.nodes["sam-i-am"].ports["Serial0"].address == "99.99.99.1/24"
    assert topo.nodes["sam-i-am"].ports["Ethernet0"].encapsulation == "ethernet"
    add_transcripts(topo, [("dr_whoovie", "show interfaces Serial0", "  Internet address is 100.100.100.1/32\n"),
                           ("dr_whoovie", "show crypto isakmp sa", "99.99.99.1  100.100.100.1  QM_IDLE  1  0")])
    assert remote.ports["Serial0"].address == "100.100.100.1/32 (IPCP)"
    assert topo.tunnels == [("sam-i-am", "dr_whoovie", "phase 1 SA in QM_IDLE")]
    svg = to_svg(topo)
    assert "IPsec tunnel up" in svg and "PPP" in svg and "HDLC" in svg and "1544 kbit/s, 2 ms" in svg
    assert svg.count("<g class=\"node") == 6


def test_an_inventory_is_drawn_from_what_the_routers_showed():
    topo = from_inventory(INVENTORY)
    config = "interface Serial0\n ip address 198.51.100.1 255.255.255.0\n ip nat outside\n crypto map m\n"
    add_transcripts(topo, [("hub-router", "show running-config", config)])
    assert topo.nodes["hub-router"].ports["Serial0"].address == "198.51.100.1/24"
    assert ("hub-router", "Serial0") in [end for link in topo.links for end in link.ends]
    assert topo.nodes[PROVIDER].cloud


def test_odd_device_names_are_escaped_and_clipped_in_the_drawing():
    topo = Topology("test")
    long = "r\u00f6uter <&> " + "y" * 200
    topo.nodes[long] = Node(long, "hub", {"Serial0": Port("Serial0", "1.1.1.1/24", "ppp")})
    topo.nodes["h"] = Node("h", "hub_host")
    svg = to_svg(topo)
    assert "<&>" not in svg and "&lt;&amp;&gt;" in svg and "y" * 60 not in svg.split("<title>")[2]


# ---------------------------------------------------------------------------- the exchange drawn

def _run_lab(lab: Path, capture: Path, commands) -> None:
    recorders: list[DirectionRecorder] = []
    driver = EmulatedDriver(lab, capture_dir=capture,
                            before_settle=lambda lab: recorders.append(DirectionRecorder(lab)))
    try:
        for role, command in commands:
            if role == "wait":
                driver.advance_clock(float(command))
            else:
                driver.session(role).send(command)
    finally:
        driver.close()
    recorders[0].save(capture)


@pytest.fixture(scope="module")
def doc_capture(tmp_path_factory):
    capture = tmp_path_factory.mktemp("doc")
    _run_lab(DOC_LAB, capture, [("remote", "ping 10.2.2.3 source 10.1.1.1"),
                                ("remote_host", "ping 192.0.2.10")])
    return capture


def _names(ladder):
    return [s.label for s in ladder.steps]


def test_the_ladder_of_the_document_lab_names_every_message_and_decrypts_them(doc_capture):
    ladder = build_ladder(doc_capture, None, None, from_lab(DOC_LAB).order(), max_rows=400)
    steps = ladder.steps
    assert ladder.lanes[:3] == ["remote-host", "dr_whoovie", "internet-host"] or "dr_whoovie" in ladder.lanes
    # PPP from boot, with the directions the recorder noted (the first requests placed by their magic number).
    ppp = [(s.sender, s.receiver, s.label, s.detail) for s in steps if s.kind == "ppp" and "CONF" in s.label]
    assert ("dr_whoovie", "isp", "IPCP CONFREQ id 1", "Address 0.0.0.0") in ppp
    assert ("isp", "dr_whoovie", "IPCP CONFNAK id 1", "Address 100.100.100.1") in ppp
    assert all(s.sender for s in steps), "every frame's sender is known"
    # Main mode 1-6 and quick mode 1-3 on the remote's line, in order, decrypted with the exported keys.
    ike = [(s.label, s.detail) for s in steps if s.kind == "ike" and s.sender == "dr_whoovie" or
           s.kind == "ike" and s.receiver == "dr_whoovie"]
    assert [name for name, _ in ike] == ["IKE MM1", "IKE MM2", "IKE MM3", "IKE MM4", "IKE MM5", "IKE MM6",
                                         "IKE QM1", "IKE QM2", "IKE QM3"]
    assert ike[0][1] == "offers des-cbc md5 pre-shared group 1 86400 s"
    assert ike[4][1].endswith("ID 100.100.100.1") and ike[5][1] == "ID 99.99.99.1"
    assert re.fullmatch(r"offers esp-des hmac-md5 tunnel SPI 0x[0-9a-f]{8}; 10\.1\.1\.0/24 <-> 10\.2\.2\.0/24",
                        ike[6][1])
    assert ike[7][1].startswith("accepts esp-des hmac-md5 tunnel SPI 0x")
    # ESP with its SPI and sequence numbers, the inner ICMP decrypted.
    esp = [s for s in steps if s.kind == "esp" and s.sender == "dr_whoovie"]
    assert [int(s.label.rsplit(" ", 1)[1]) for s in esp] == list(range(1, len(esp) + 1)) and len(esp) >= 4
    assert "inner ICMP echo request 10.1.1.1 > 10.2.2.3 seq" in esp[0].detail
    # NAT seen as the address change between the two sides of the remote router.
    assert any(s.note == "NAT on dr_whoovie: source 10.1.1.10 -> 100.100.100.1" for s in steps)
    assert not [n for n in ladder.notes if "stopped" in n]


def test_the_ladder_of_a_wrong_key_stops_at_mm5(tmp_path):
    _run_lab(WRONG_PSK, tmp_path, [("remote", "ping 10.2.2.3 source 10.1.1.1"), ("wait", "30")])
    ladder = build_ladder(tmp_path, None, None)
    names = [s.label for s in ladder.steps if s.kind == "ike"]
    assert "IKE MM5" in names and "IKE MM6" not in names and "IKE QM1" not in names
    assert any("retransmission" in s.note for s in ladder.steps if s.label == "IKE MM5")
    stops = [n for n in ladder.notes if "stopped" in n]
    assert stops and re.match(r"Main mode [0-9a-f]{16} stopped at MM5, sent \d+ times; no MM6: the two routers "
                              r"derived different keys from their pre-shared keys \(pre-shared key mismatch\)\.",
                              stops[0])
    svg = ladder_svg(ladder, "x")
    assert "stopped at MM5" in svg and svg.count('<g class="step') == len(ladder.steps)
    # A window that starts after the first MM5 still names each message by the whole exchange.
    first_mm5 = next(s.t for s in ladder.steps if s.label == "IKE MM5")
    late = build_ladder(tmp_path, first_mm5 + 1, None)
    late_ike = {(s.sender, s.receiver, s.label) for s in late.steps if s.kind == "ike"}
    assert ("dr_whoovie", "isp", "IKE MM5") in late_ike and ("sam-i-am", "isp", "IKE MM4") in late_ike
    assert {label for _, _, label in late_ike} == {"IKE MM4", "IKE MM5"}
    assert [n for n in late.notes if "stopped at MM5" in n]


def test_a_ladder_is_bounded_and_says_what_it_left_out(doc_capture):
    ladder = build_ladder(doc_capture, None, None, max_rows=20)
    assert len(ladder.steps) == 20 and ladder.total > 20
    assert sum(ladder.omitted.values()) == ladder.total - 20
    assert all(s.kind in ("ppp", "ike") for s in ladder.steps[:5])     # the control exchange is kept first


def test_a_window_keeps_only_its_frames_and_damaged_captures_are_named(doc_capture, tmp_path):
    frames, problems = read_frames(doc_capture, 1.0, 5.0)
    assert problems == [] and all(1.0 <= f.t <= 5.0 for f in frames)
    for f in doc_capture.iterdir():
        shutil.copy(f, tmp_path / f.name)
    (tmp_path / DIRECTIONS_FILE).write_text("{not json")
    victim = next(tmp_path.glob("serial-*.pcap"))
    victim.write_bytes(victim.read_bytes()[:30])
    ladder = build_ladder(tmp_path, None, None)
    assert any(DIRECTIONS_FILE in n for n in ladder.notes) and any(victim.name in n for n in ladder.notes)


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")
def test_the_reports_tshark_command_decrypts_the_capture(doc_capture):
    pcap = next(doc_capture.glob("serial-dr_whoovie*.pcap")).name
    command = tshark_command(str(doc_capture), pcap, None)
    result = subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=60)
    assert "10.1.1.1 \u2192 10.2.2.3     ICMP" in result.stdout or "10.1.1.1 → 10.2.2.3" in result.stdout, \
        result.stdout[-2000:] + result.stderr[-1000:]
