"""What the conformance report knows of a run: the claims and their verdicts, each test's evidence, the facts.

The plugin feeds it the test reports (also those pytest-xdist's workers send); ``drivers/report_html.py``
renders it. Every text it holds was masked before it got here, and is masked again as it is rendered.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml

from .scenario import ROOT

NOT_APPLICABLE_REASON = "not applicable"       # a skip whose reason says so is an N/A outcome
CLAIMS_FILE = ROOT / "fixtures" / "doc14131" / "claims.yml"
ERRATA_FILE = ROOT / "fixtures" / "doc14131" / "errata.yml"

PASS, FAIL, PARTIAL, NOT_CHECKED, NOT_TESTED = "PASS", "FAIL", "PARTIAL", "NOT CHECKED", "NOT TESTED"
NOT_APPLICABLE = "N/A"     # the document's literal values, on a lab that is not the document's
CONFORMANT, NOT_CONFORMANT, PARTIALLY = "CONFORMANT", "NOT CONFORMANT", "PARTIAL"


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
        """PASS only when every test behind the claim passed; a skipped test makes it PARTIAL; a claim
        whose tests all say it does not apply to this lab is N/A."""
        values = set(self.outcomes.values())
        if not values:
            return NOT_TESTED
        if values == {"n/a"}:
            return NOT_APPLICABLE
        values.discard("n/a")
        if "failed" in values:
            return FAIL
        if "error" in values or values == {"skipped"}:
            return NOT_CHECKED
        if "skipped" in values:
            return PARTIAL
        return PASS


@dataclass
class TestEntry:
    """One test as the report shows it: outcome, claims, the values it checked, its evidence."""

    nodeid: str
    outcome: str = "passed"                  # passed | failed | skipped | error
    claims: list[str] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    diagnoses: list[tuple[str, str]] = field(default_factory=list)
    fault: str = ""
    message: str = ""                        # the failure or the skip, in the words of the test
    traceback: str = ""
    when: str = "call"                       # the phase that decided the outcome
    duration: float = 0.0
    exchanges: list[tuple[str, str, str, str]] = field(default_factory=list)   # device, prompt, command, output
    window: tuple[float, float] | None = None  # lab seconds the test ran between (emulated driver)
    capture: str = ""                        # the folder of its module's captures

    @property
    def function(self) -> str:
        return self.nodeid.split("::")[-1].split("[", 1)[0]

    @property
    def param(self) -> str:
        """The parameter in the test id (``test_x[branch-rtr]`` -> ``branch-rtr``), or ''."""
        last = self.nodeid.split("::")[-1]
        return last[last.index("[") + 1:-1] if "[" in last and last.endswith("]") else ""

    @property
    def module(self) -> str:
        return self.nodeid.split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py")

    @property
    def transcript(self) -> str:
        return "\n".join(f"{prompt}{command}\n{output}" for _, prompt, command, output in self.exchanges)


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


def _properties(report: Any, name: str) -> list[Any]:
    return [value for key, value in getattr(report, "user_properties", ()) if key == name]


_REWRITTEN = re.compile(r"^assert |^ \+  where |^ \+    ", re.M)


def failure_message(text: str) -> str:
    """An exception's own words: its type dropped when it is an AssertionError, pytest's rewriting cut off."""
    text = text.removeprefix("AssertionError: ").removeprefix("AssertionError")
    cut = _REWRITTEN.search(text)
    return (text[:cut.start()] if cut else text).strip()


class ConformanceRecord:
    """Collects what the report shows: claims, tests, the run's facts, faults, configuration lines refused."""

    def __init__(self) -> None:
        self.claims = load_claims()
        self.started = time.time()
        self.finished: float | None = None
        self.facts: dict[str, str] = {}
        self.diagnoses: dict[str, list[str]] = {}    # test node id -> named outcomes
        self.unknown_claims: set[str] = set()
        self.capture_root: Path | None = None   # where the emulated labs wrote pcaps and keys
        self.faults: dict[str, str] = {}      # test node id -> emulator fault or transport failure
        self.rejections: dict[str, list[str]] | None = None   # device -> configuration lines refused at boot
        self.tests: dict[str, TestEntry] = {}
        self.target: dict[str, str] = {}      # the driver's describe(): driver, lab or inventory
        # Masks the secrets in whatever text the report shows (the run's masker).
        self.mask: Callable[[str], str] = lambda text: text

    def record(self, nodeid: str, claims: list[str], outcome: str) -> None:
        for cid in claims:
            claim = self.claims.get(cid)
            if claim is None:
                self.unknown_claims.add(cid)
                continue
            if claim.outcomes.get(nodeid) not in ("failed", "error"):   # a failed setup or call stays so
                claim.outcomes[nodeid] = outcome

    def add_report(self, report: Any) -> None:
        """One phase's report of a test (setup, call, teardown), as pytest or a pytest-xdist worker gives it."""
        entry = self.tests.get(report.nodeid)
        if entry is None:
            entry = self.tests[report.nodeid] = TestEntry(report.nodeid)
        entry.duration += float(getattr(report, "duration", 0.0) or 0.0)
        extra = getattr(report, "conformance", None) or {}
        for claim in _properties(report, "claim"):
            if claim not in entry.claims:
                entry.claims.append(str(claim))
        for value in _properties(report, "checked"):
            if value not in entry.checked:
                entry.checked.append(str(value))
        for value in _properties(report, "diagnosis"):
            code, _, text = str(value).partition(": ")
            if (code, text) not in entry.diagnoses:
                entry.diagnoses.append((code, text))
        faults = _properties(report, "fault")
        if faults and report.failed:
            entry.fault = str(faults[0])
        if extra.get("exchanges"):
            entry.exchanges = [(str(d), str(p), str(c), str(o)) for d, p, c, o in extra["exchanges"]]
        if extra.get("window"):
            entry.window = (float(extra["window"][0]), float(extra["window"][1]))
        if extra.get("capture"):
            entry.capture = str(extra["capture"])
        self._outcome(entry, report, extra)

    def _outcome(self, entry: TestEntry, report: Any, extra: dict[str, Any]) -> None:
        if entry.outcome in ("failed", "error") or not (report.when == "call" or report.failed or report.skipped):
            return
        entry.when = report.when
        entry.outcome = ("error" if entry.fault else "failed" if report.failed
                         else "n/a" if report.skipped and NOT_APPLICABLE_REASON in str(report.longrepr)
                         else "skipped" if report.skipped else "passed")
        if report.skipped and isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
            entry.message = str(report.longrepr[2]).removeprefix("Skipped: ")
        elif report.failed:
            entry.message = extra.get("message") or failure_message(str(getattr(report, "longreprtext", "")))
            entry.traceback = str(getattr(report, "longreprtext", "") or "")

    def verdict(self) -> tuple[str, str]:
        """The run's verdict and why, in words."""
        claims = list(self.claims.values())
        by: dict[str, list[Claim]] = {}
        for claim in claims:
            by.setdefault(claim.verdict, []).append(claim)
        failing = by.get(FAIL, [])
        if failing:
            return NOT_CONFORMANT, (f"{len(failing)} of {len(claims)} claims fail: "
                                    + ", ".join(c.id for c in failing) + ".")
        na = by.get(NOT_APPLICABLE, [])
        applicable = len(claims) - len(na)
        apart = (f"; {len(na)} not applicable to this lab (the document's own values: "
                 + ", ".join(c.id for c in na) + ")") if na else ""
        if len(by.get(PASS, [])) == applicable:
            return CONFORMANT, f"All {applicable} {'applicable ' if na else ''}claims pass{apart}."
        unchecked = [c for c in claims if c.verdict not in (PASS, NOT_APPLICABLE)]
        return PARTIALLY, (f"{len(by.get(PASS, []))} of {applicable} {'applicable ' if na else ''}claims pass; "
                           f"{len(unchecked)} not "
                           f"fully checked: " + "; ".join(self.reasons(unchecked)) + apart + ".")

    def reasons(self, claims: list[Claim]) -> list[str]:
        """Why claims were not fully checked: skip reasons and tooling faults, with their numbers."""
        counts: dict[str, int] = {}
        for claim in claims:
            if not claim.outcomes:
                counts["no test names it"] = counts.get("no test names it", 0) + 1
            for nodeid, outcome in claim.outcomes.items():
                entry = self.tests.get(nodeid)
                if outcome == "skipped":
                    why = f"skipped: {entry.message}" if entry and entry.message else "skipped"
                elif outcome == "error":
                    why = "a fault of the test tooling, not of the routers"
                else:
                    continue
                counts[why] = counts.get(why, 0) + 1
        return [f"{n} test{'s' if n > 1 else ''} {why}" if why != "no test names it" else f"{n} claim(s): {why}"
                for why, n in counts.items()]

    @property
    def wall_time(self) -> float:
        return (self.finished or time.time()) - self.started


def relative(path: Path, base: Path) -> str:
    """``path`` relative to the report's folder (``../`` where needed), so that the report's links keep
    working when its folder is copied with the captures; absolute across file systems."""
    import os
    try:
        return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()
    except ValueError:
        return str(path)
