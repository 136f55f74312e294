"""The conformance suites on a generated lab give the same verdicts in one process and spread over two
pytest-xdist workers (each worker boots its own copy of the lab for the test modules it runs)."""

import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from emulator.lab.generate import Design, write_lab
from support import ROOT


def _run(lab, out, workers: int) -> tuple[dict[str, str], str]:
    junit = out / f"j{workers}.xml"
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", str(workers),
                             "--lab", str(lab), f"--junitxml={junit}", f"--html={out / f'r{workers}.html'}",
                             f"--pcap-dir={out / f'captures{workers}'}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    verdicts: dict[str, str] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        outcome = ("failed" if case.find("failure") is not None else "error" if case.find("error") is not None
                   else "skipped" if case.find("skipped") is not None else "passed")
        claims = sorted(p.get("value") for p in case.iter("property") if p.get("name") == "claim")
        verdicts[f"{case.get('classname')}::{case.get('name')}"] = f"{outcome} {' '.join(claims)}"
    summary = re.search(r"^conformance: .*$", result.stdout, re.M)
    assert summary, result.stdout[-2000:]
    return verdicts, summary.group(0)


@pytest.mark.scale
def test_two_workers_give_the_verdicts_of_one_process_on_a_five_spoke_lab(tmp_path):
    write_lab(Design(spokes=5), tmp_path / "lab")
    lab = tmp_path / "lab" / "lab.yml"
    # One spoke breaks its key, so that the comparison covers failures and their claims too.
    cfg = tmp_path / "lab" / "spoke4.cfg"
    cfg.write_text(cfg.read_text().replace("crypto isakmp key spoke-psk-2024", "crypto isakmp key another-key"))
    one, one_summary = _run(lab, tmp_path, 0)
    two, two_summary = _run(lab, tmp_path, 2)
    assert len(one) > 100
    assert two == one
    assert two_summary == one_summary
    assert "NOT CONFORMANT" in one_summary
    failed = {name for name, verdict in one.items() if verdict.startswith("failed")}
    assert failed and all(re.search(r"\[remote4\]$", name) or "[" not in name for name in failed), sorted(failed)
