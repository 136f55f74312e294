"""The conformance report opened in headless Chromium, as a reader opens it: the document's lab and a lab with
a wrong pre-shared key. Screenshots of both are kept under reports/screenshots/ (CI keeps them)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote

import pytest

from support import DOC_LAB, ROOT
from support.browser import chromium, probe, screenshot

WRONG_PSK = ROOT / "fixtures" / "misconfigured" / "wrong-psk" / "lab.yml"
SHOTS = ROOT / "reports" / "screenshots"

pytestmark = pytest.mark.skipif(
    chromium() is None,
    reason="Chromium is not installed (.ci/run installs the Debian package 'chromium'): the report was not opened")


def _conformance_run(lab: Path, out: Path) -> Path:
    report = out / "conformance.html"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--lab", str(lab),
                    f"--html={report}", f"--junitxml={out / 'junit.xml'}", f"--pcap-dir={out / 'captures'}"],
                   cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert report.is_file()
    return report


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    """Both reports, each opened at 420 px with every claim clicked open; the time it all took."""
    start = time.monotonic()
    found = {}
    for name, lab in (("doc14131", DOC_LAB), ("wrong-psk", WRONG_PSK)):
        report = _conformance_run(lab, tmp_path_factory.mktemp(name))
        SHOTS.mkdir(parents=True, exist_ok=True)
        screenshot(report, SHOTS / f"{name}-1200.png", 1200, 1600)
        screenshot(report, SHOTS / f"{name}-420.png", 420, 1600)
        found[name] = (report, probe(report, width=420, height=900))
    print(f"\ntwo conformance runs, their reports opened and photographed: {time.monotonic() - start:.1f} s")
    return found


@pytest.mark.parametrize("name, verdict", [("doc14131", "CONFORMANT"), ("wrong-psk", "NOT CONFORMANT")])
def test_the_banner_gives_the_verdict(reports, name, verdict):
    _, seen = reports[name]
    assert seen["verdict"] == verdict
    assert seen["banner"].lstrip("\u2714\u2718 ").startswith(verdict)
    if verdict == "NOT CONFORMANT":
        assert "claims fail: CFG-REMOTE-IKE, PING-LAN" in seen["banner"]
    for fact in ("Lab", "Driver", "Revision", "Wall time", "netmiko", "scapy", "cryptography", "pytest",
                 "Version 12.2"):
        assert fact in seen["banner"], fact


@pytest.mark.parametrize("name", ["doc14131", "wrong-psk"])
def test_every_claim_opens_to_a_visible_transcript(reports, name):
    _, seen = reports[name]
    assert len(seen["claims"]) == 24
    assert [c["id"] for c in seen["claims"] if not (c["open"] and c["transcripts"])] == []
    if name == "wrong-psk":      # the failing claims are open before any click
        failing = {c["id"] for c in seen["claims"] if c["verdict"] == "FAIL"}
        assert failing and not failing & set(seen["closed"])


@pytest.mark.parametrize("name", ["doc14131", "wrong-psk"])
def test_the_lab_and_the_ladders_are_drawn(reports, name):
    _, seen = reports[name]
    assert seen["topology"]["w"] > 300 and seen["topology"]["h"] > 100
    drawn = [ladder for ladder in seen["ladders"] if ladder[0] > 0 and ladder[1] > 0]
    assert len(drawn) >= 10 and len(drawn) == len(seen["ladders"])


@pytest.mark.parametrize("name", ["doc14131", "wrong-psk"])
def test_no_console_error_nothing_fetched_and_no_horizontal_scroll_at_420_px(reports, name):
    _, seen = reports[name]
    assert seen["errors"] == [] and seen["outside"] == []
    assert seen["innerWidth"] == 420
    assert seen["scrollWidth"] <= seen["innerWidth"] and seen["bodyScrollWidth"] <= seen["innerWidth"]


def test_the_failure_shows_its_cause_the_transcript_lines_and_where_the_exchange_stopped(reports):
    report, _ = reports["wrong-psk"]
    text = report.read_text()
    claim = text[text.index("data-claim='IKE-SA'"):text.index("data-claim='TUNNEL-UNKNOWN-PEER'")]
    assert "data-verdict='FAIL' open>" in claim
    assert "<b>Likely cause:</b> phase 1 stopped at MM_KEY_EXCH: the pre-shared keys do not match" in claim
    assert "<mark>" in claim and "MM_KEY_EXCH" in claim.split("<mark>", 1)[1].split("</mark>", 1)[0]
    assert "stopped at MM5" in claim and "no MM6" in claim and "pre-shared key mismatch" in claim
    assert claim.index("Likely cause") < claim.index("Traceback")


def test_the_links_survive_copying_the_report_folder(reports, tmp_path):
    report, seen = reports["doc14131"]
    copy = tmp_path / "copied \u00e9lsewhere"
    shutil.copytree(report.parent, copy)
    files = [unquote(h) for h in seen["links"] if not h.startswith("#")]
    assert any(h.endswith(".pcap") for h in files) and any(h.endswith("/esp_sa") for h in files)
    assert [h for h in files if not (copy / h).is_file()] == []
    anchors = {h[1:] for h in seen["links"] if h.startswith("#")}
    text = report.read_text()
    assert [a for a in anchors if f"id='{a}'" not in text] == []


def test_a_lab_with_unusual_names_still_renders(tmp_path):
    """Unicode and a very long device name, spaces in the report's and the captures' folders."""
    lab = tmp_path / "lab"
    shutil.copytree(DOC_LAB.parent, lab)
    odd = "h\u00fcb-\u30eb\u30fc\u30bf\u30fc-" + "x" * 70
    text = (lab / "lab.yml").read_text().replace("sam-i-am:", f"{odd}:").replace("sam-i-am ", f"{odd} ")
    (lab / "lab.yml").write_text(text)
    out = tmp_path / "out dir"
    report, captures = out / "conformance.html", out / "captures \u00fc"
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--lab", str(lab / "lab.yml"),
                    f"--html={report}", f"--junitxml={out / 'junit.xml'}", f"--pcap-dir={captures}"],
                   cwd=ROOT, capture_output=True, text=True, timeout=300)
    seen = probe(report, width=420)
    assert seen["verdict"] == "CONFORMANT" and seen["errors"] == []
    assert seen["scrollWidth"] <= seen["innerWidth"] == 420
    assert seen["topology"]["w"] > 300 and odd in report.read_text()
    files = [unquote(h) for h in seen["links"] if not h.startswith("#")]
    assert files and [h for h in files if not (out / h).is_file()] == []
