"""The suites must fail on a non-conforming lab, on exactly the claims the mistake breaks, and say why:
copies of the document's lab (checked against the document's values) and of the variant lab (checked
against the values derived from its configurations; the document's literal values not applicable)."""

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import yaml

from support import ROOT
from support.leaks import artefact_texts, lab_secrets, leaks

LABS = sorted((ROOT / "fixtures" / "misconfigured").iterdir()) + sorted(
    (ROOT / "fixtures" / "variant-misconfigured").iterdir())


def run_suites(lab: Path, out: Path):
    junit = out / "junit.xml"
    # Captures of its own: the default reports/captures is emptied by every run that uses it.
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                             "--lab", str(lab / "lab.yml"),
                             f"--html={out / 'report.html'}", f"--junitxml={junit}", f"--pcap-dir={out / 'captures'}"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    return result, ET.parse(junit).getroot()


def claim_verdicts(root) -> dict[str, set[str]]:
    verdicts: dict[str, set[str]] = {}
    for case in root.iter("testcase"):
        outcome = "failed" if case.find("failure") is not None or case.find("error") is not None else (
            "skipped" if case.find("skipped") is not None else "passed")
        for prop in case.iter("property"):
            if prop.get("name") == "claim":
                verdicts.setdefault(prop.get("value"), set()).add(outcome)
    return verdicts


def diagnoses(root) -> set[str]:
    return {p.get("value").split(":", 1)[0] for p in root.iter("property") if p.get("name") == "diagnosis"}


def counts(root) -> dict[str, int]:
    suite = root.find("testsuite")
    total, failed, skipped = (int(suite.get(k)) for k in ("tests", "failures", "skipped"))
    return {"failed": failed + int(suite.get("errors")), "passed": total - failed - skipped - int(suite.get("errors")),
            "not_applicable": skipped}


@pytest.mark.parametrize("lab", LABS, ids=[f"{p.parent.name}/{p.name}" for p in LABS])
def test_mistake_fails_exactly_its_claims(lab, tmp_path):
    expected = yaml.safe_load((lab / "expected.yml").read_text())
    result, root = run_suites(lab, tmp_path)
    assert result.returncode == 1, result.stdout[-3000:]
    verdicts = claim_verdicts(root)
    failing = {claim for claim, outcomes in verdicts.items() if "failed" in outcomes}
    assert failing == set(expected["failing_claims"]), (
        f"{lab.name}: failing claims {sorted(failing)}, expected {sorted(expected['failing_claims'])}")
    assert expected["diagnosis"] in diagnoses(root), f"{lab.name}: diagnoses {sorted(diagnoses(root))}"
    assert counts(root) == expected["tests"]
    not_applicable = {claim for claim, outcomes in verdicts.items() if outcomes == {"skipped"}}
    assert not_applicable == set(expected.get("not_applicable", []))
    report = (tmp_path / "report.html").read_text()
    matrix = report[report.index("Claims of Cisco Document 14131"):report.index("<h3>Run")]
    assert expected["diagnosis"] in matrix, "the claims matrix names the likely cause"
    for claim in expected.get("not_applicable", []):
        assert f"data-claim='{claim}' data-verdict='N/A'" in matrix, claim
    # Failures quote configuration lines (a key that differs, say): the report, the JUnit file, the
    # captures and the terminal still hold none of the lab's secrets.
    texts = artefact_texts(tmp_path)
    texts["stdout"] = result.stdout
    assert leaks(texts, lab_secrets(lab / "lab.yml") | {"cisco123", "ww", "lab"}) == []
