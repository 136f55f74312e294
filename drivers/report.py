"""The conformance report's own parts: the claims matrix, the run's facts, diagnoses."""

from __future__ import annotations

import html
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

from .scenario import ROOT

CLAIMS_FILE = ROOT / "fixtures" / "doc14131" / "claims.yml"
ERRATA_FILE = ROOT / "fixtures" / "doc14131" / "errata.yml"


@dataclass
class Claim:
    id: str
    words: str
    section: str
    # test node id -> passed|failed|skipped|error (error: the emulator or the transport failed, not the routers)
    outcomes: dict[str, str] = field(default_factory=dict)
    checked: str = ""      # the claim's values as this run checked them (rendered from the scenario)

    @property
    def verdict(self) -> str:
        values = set(self.outcomes.values())
        if not values:
            return "not tested"
        if "failed" in values:
            return "FAIL"
        if "error" in values:
            return "NOT CHECKED"
        if values == {"skipped"}:
            return "skipped"
        if values <= {"skipped", "n/a"}:
            return "N/A"      # the document's literal values, on a lab that is not the document's
        return "PASS"


def load_errata(path: Path = ERRATA_FILE) -> dict[str, str]:
    """The document's own configuration lines IOS rejects: line text -> why."""
    data = yaml.safe_load(path.read_text()) if path.is_file() else None
    return {" ".join(e["line"].split()): e["explanation"] for e in (data or {}).get("errata", [])}


def load_claims(path: Path = CLAIMS_FILE, render: Callable[[str], str] | None = None) -> dict[str, Claim]:
    """The claims; with ``render``, each claim's ``checked`` template filled in with the run's values."""
    data = yaml.safe_load(path.read_text())
    return {c["id"]: Claim(c["id"], c["words"], c["section"],
                           checked=render(c["checked"]) if render and c.get("checked") else "")
            for c in data["claims"]}


class ConformanceRecord:
    """Collects what the report shows above the per-test table."""

    def __init__(self):
        self.claims = load_claims()
        self.started = time.time()
        self.facts: dict[str, str] = {}
        self.diagnoses: dict[str, list[str]] = {}    # test node id -> named outcomes
        self.unknown_claims: set[str] = set()
        self.capture_root: Path | None = None   # where the emulated labs wrote pcaps and keys
        self.faults: dict[str, str] = {}      # test node id -> emulator fault or transport failure
        self.rejections: dict[str, list[str]] | None = None   # device -> configuration lines refused at boot
        # Masks the secrets in whatever text the summary shows (the run's masker).
        self.mask: Callable[[str], str] = lambda text: text

    def record(self, nodeid: str, claims: list[str], outcome: str) -> None:
        for cid in claims:
            claim = self.claims.get(cid)
            if claim is None:
                self.unknown_claims.add(cid)
                continue
            if claim.outcomes.get(nodeid) not in ("failed", "error"):   # a failed setup or call stays so
                claim.outcomes[nodeid] = outcome

    def summary_html(self, report_dir: Path) -> str:
        duration = time.time() - self.started
        facts = dict(self.facts)
        facts["Date"] = time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(self.started))
        facts["Duration"] = f"{duration:.1f} s"
        rows = []
        for claim in self.claims.values():
            tests = "<br>".join(html.escape(n.split("::", 1)[-1]) + f" <i>({o})</i>"
                                for n, o in claim.outcomes.items())
            diag = sorted({d for n in claim.outcomes for d in self.diagnoses.get(n, [])})
            diag += sorted({self.faults[n] for n in claim.outcomes if n in self.faults})
            colour = {"PASS": "#2a7", "FAIL": "#c33", "NOT CHECKED": "#e80", "skipped": "#999", "N/A": "#999",
                      "not tested": "#e80"}[claim.verdict]
            # The document's words hold configuration lines (" / " between them): masked line by line.
            words = " / ".join(self.mask(part) for part in claim.words.split(" / "))
            checked = " / ".join(self.mask(part) for part in claim.checked.split(" / ")) if claim.checked else ""
            rows.append(
                f"<tr><td><b>{html.escape(claim.id)}</b></td><td>{html.escape(words)}"
                + (f"<br><small>checked here: {html.escape(checked)}</small>" if checked else "") +
                f"<br><small>{html.escape(claim.section)}</small></td>"
                f"<td style='color:{colour};font-weight:bold'>{claim.verdict}</td><td>{tests}</td>"
                f"<td>{html.escape(self.mask('; '.join(diag)))}</td></tr>")
        fact_rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(self.mask(v))}</td></tr>"
                            for k, v in facts.items())
        files = ""
        found = (sorted(p for p in self.capture_root.rglob("*") if p.is_file() and not p.name.startswith("."))
                 if self.capture_root else [])
        if found:
            names = [html.escape(_relative(p, report_dir)) for p in found]
            links = "".join(f"<li><a href='{name}'>{name}</a></li>" for name in names)
            files = ("<h3>Captures and keys</h3><p>One pcap per link and test module; <code>esp_sa</code> and "
                     "<code>ikev1_decryption_table</code> are Wireshark's key tables for them. The key files "
                     "stay where they are, readable by their owner only (mode 0600): this report links to "
                     "them and holds none of their contents.</p>"
                     f"<ul>{links}</ul>")
        unknown = self._rejections_html() + self._faults_html()
        if self.unknown_claims:
            claims = html.escape(", ".join(sorted(self.unknown_claims)))
            unknown += f"<p style='color:#c33'>Tests name unknown claims: {claims}</p>"
        return (
            "<h2>Claims of Cisco Document 14131</h2>"
            "<table class='claims' border='1' cellpadding='4' style='border-collapse:collapse'>"
            "<tr><th>Claim</th><th>The document says</th><th>Verdict</th><th>Tests</th><th>Diagnosis</th></tr>"
            + "".join(rows) + "</table>" + unknown +
            "<h3>Run</h3><table border='1' cellpadding='4' style='border-collapse:collapse'>" + fact_rows + "</table>"
            + files)


    def _faults_html(self) -> str:
        if not self.faults:
            return ""
        items = "".join(f"<li><code>{html.escape(n)}</code>: {html.escape(self.mask(t))}</li>"
                        for n, t in self.faults.items())
        return ("<h3>Not checked: failures of the test tooling</h3><p>These tests stopped on a fault of the "
                "emulator or of the way to the devices, not on anything the routers did; their claims are "
                f"NOT CHECKED.</p><ul>{items}</ul>")

    def _rejections_html(self) -> str:
        if self.rejections is None:
            return ""
        if not self.rejections:
            return ("<h3>Configuration lines rejected at boot</h3>"
                    "<p>None: every device took its whole configuration.</p>")
        errata = load_errata()
        rows = []
        for device, lines in self.rejections.items():
            for line in lines:
                text = line.split(": ", 1)[-1].split("  (", 1)[0]
                why = errata.get(" ".join(text.split()), "")
                note = f"<br><small>{html.escape(self.mask(why))}</small>" if why else ""
                where, sep, rest = line.partition(": ")       # the configuration line starts after "file:N: "
                shown = html.escape(where + sep + self.mask(rest) if sep else self.mask(line))
                rows.append(f"<tr><td>{html.escape(device)}</td><td><code>{shown}</code>{note}</td></tr>")
        return ("<h3>Configuration lines rejected at boot</h3>"
                "<table border='1' cellpadding='4' style='border-collapse:collapse'>"
                "<tr><th>Device</th><th>Line and IOS's error</th></tr>" + "".join(rows) + "</table>")


def _relative(path: Path, base: Path) -> str:
    try:
        return str(path.resolve().relative_to(base.resolve()))
    except ValueError:
        return str(path)
