"""The conformance report as one self-contained HTML page.

A verdict banner, the claims matrix with each claim's evidence inline (its tests, the values they
checked, the cause of a failure in words above its traceback, the CLI transcript, the captures with a
ready tshark command and the message ladder), the lab drawn, the tests, the captures and the run's
facts. No script is needed to read it (a few lines open every section for printing), nothing is fetched
from elsewhere, and the links to captures are relative to the report's folder.
"""

from __future__ import annotations

import html
import importlib.metadata
import platform
import re
import shlex
import subprocess
from pathlib import Path
from typing import Callable
from urllib.parse import quote

from .ladder import Decoded, build_ladder, decode_folder
from .ladder_svg import ladder_svg
from .report import (
    FAIL,
    NOT_APPLICABLE,
    NOT_CHECKED,
    NOT_CONFORMANT,
    NOT_TESTED,
    PARTIAL,
    PARTIALLY,
    PASS,
    Claim,
    ConformanceRecord,
    TestEntry,
    load_errata,
    relative,
)
from .report_style import PRINT_SCRIPT, STYLE
from .scenario import ROOT
from .topology import Topology, add_transcripts, from_inventory, from_lab, link_lines, to_svg

VERSIONS = ("pytest", "netmiko", "scapy", "cryptography", "paramiko", "textfsm", "pytest-xdist")
SYMBOLS = {PASS: "\u2714", FAIL: "\u2718", PARTIAL: "\u25d0", NOT_CHECKED: "\u2013", NOT_TESTED: "?",
           NOT_APPLICABLE: "\u2205", "passed": "\u2714", "failed": "\u2718", "skipped": "\u2013",
           "error": "\u26a0", "n/a": "\u2205"}
VERDICT_CLASS = {PASS: "pass", FAIL: "fail", PARTIAL: "partial", NOT_CHECKED: "unchecked", NOT_TESTED: "unchecked",
                 NOT_APPLICABLE: "unchecked", "passed": "pass", "failed": "fail", "skipped": "unchecked",
                 "error": "partial", "n/a": "unchecked"}
# Words that mark the transcript lines behind a named cause.
CAUSE_WORDS = {"phase1-psk-mismatch": ["MM_KEY_EXCH"], "phase1-no-policy-match": ["MM_NO_STATE", "MM_SA_SETUP"],
               "no-ipcp-address": ["negotiated using IPCP", "Internet address will be negotiated"],
               "phase2-not-established": ["current outbound spi: 0x0", "pkts encaps: 0"],
               "hub-can-initiate": ["set peer"], "nat-not-exempt": ["icmp"]}
MAX_MARKED = 12


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def environment() -> dict[str, str]:
    """Python and the libraries the run used, and the project's revision."""
    found = {"Python": f"{platform.python_version()} ({platform.python_implementation()})"}
    for name in VERSIONS:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found[name] = "not installed"
    found["Revision"] = revision()
    return found


def revision(root: Path = ROOT) -> str:
    """The project's git revision (with a note of local changes), or why it is unknown."""
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=5)
        if head.returncode != 0:
            return "unknown (not a git checkout)"
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=5)
        return head.stdout.strip() + (" with local changes" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown (git not available)"


class Page:
    """Renders a record; one instance per report written."""

    def __init__(self, record: ConformanceRecord, report_path: Path):
        self.record = record
        self.mask: Callable[[str], str] = record.mask
        self.base = report_path.parent
        self.anchors: dict[str, str] = {}
        self.used: set[str] = set()
        self.decoded: dict[Path, Decoded] = {}      # a folder of captures, decoded once for all its tests
        self.topology = self._topology()

    # ------------------------------------------------------------------ helpers

    def m(self, text: object) -> str:
        """Masked and escaped."""
        return _e(self.mask(str(text)))

    def anchor(self, nodeid: str) -> str:
        if nodeid not in self.anchors:
            base = "t-" + re.sub(r"[^A-Za-z0-9_-]+", "-", nodeid.split("::", 1)[-1]).strip("-")[:80]
            name, n = base, 1
            while name in self.anchors.values():
                n += 1
                name = f"{base}-{n}"
            self.anchors[nodeid] = name
        return self.anchors[nodeid]

    def _topology(self) -> Topology | None:
        target = self.record.target
        try:
            if target.get("lab"):
                topo = from_lab(Path(target["lab"]))
            elif target.get("inventory"):
                topo = from_inventory(Path(target["inventory"]))
            else:
                return None
        except Exception as err:  # noqa: BLE001 - a drawing must never stop the report
            topo = Topology(f"{target}")
            topo.notes.append(f"the lab could not be read: {err}")
        exchanges = [(d, c, o) for t in self.record.tests.values() for d, _, c, o in t.exchanges]
        try:
            add_transcripts(topo, exchanges)
        except Exception as err:  # noqa: BLE001
            topo.notes.append(f"the transcripts could not be read for the drawing: {err}")
        return topo

    # ------------------------------------------------------------------ page

    def render(self, title: str) -> str:
        body = [self.banner(), self.nav(), self.claims(), self.lab(), self.problems(), self.tests(),
                self.captures(), self.run()]
        return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
                "<meta name='viewport' content='width=device-width, initial-scale=1'>"
                f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>"
                f"<h1>{_e(title)}</h1>" + "".join(body) + f"<script>{PRINT_SCRIPT}</script></body></html>")

    def banner(self) -> str:
        verdict, why = self.record.verdict()
        cls = {NOT_CONFORMANT: "fail", PARTIALLY: "partial"}.get(verdict, "pass")
        symbol = {NOT_CONFORMANT: "\u2718", PARTIALLY: "\u25d0"}.get(verdict, "\u2714")
        counts: dict[str, int] = {}
        for claim in self.record.claims.values():
            counts[claim.verdict] = counts.get(claim.verdict, 0) + 1
        tally = ", ".join(f"{n} {v.lower()}" for v, n in counts.items())
        target = self.record.target
        where = target.get("lab") or target.get("inventory") or "?"
        kind = "Lab" if target.get("lab") else "Inventory" if target.get("inventory") else "Target"
        env = environment()
        versions = ", ".join(f"{k} {v}" for k, v in env.items() if k not in ("Revision",))
        devices = [f"{k.removesuffix(' show version')}: {v}" for k, v in self.record.facts.items()
                   if k.endswith("show version")]
        rows = [(kind, _shown_path(where)),
                ("Driver", target.get("driver", "?")), ("Revision", env["Revision"]),
                ("Wall time", f"{self.record.wall_time:.1f} s"), ("Versions", versions)]
        rows += [("Device", d) for d in devices]
        facts = "".join(f"<div><dt>{_e(k)}</dt><dd>{self.m(v)}</dd></div>" for k, v in rows)
        return (f"<header class='banner {cls}' id='verdict' data-verdict='{_e(verdict)}'>"
                f"<p class='verdict'><span class='big' aria-hidden='true'>{symbol}</span> "
                f"<strong>{_e(verdict)}</strong> <span class='tally'>({_e(tally)})</span></p>"
                f"<p class='why'>{self.m(why)}</p><dl class='facts'>{facts}</dl></header>")

    @staticmethod
    def nav() -> str:
        links = [("claims", "Claims"), ("lab", "The lab"), ("tests", "Tests"), ("captures", "Captures"),
                 ("run", "Run")]
        return "<nav>" + " ".join(f"<a href='#{a}'>{t}</a>" for a, t in links) + "</nav>"

    # ------------------------------------------------------------------ claims

    def claims(self) -> str:
        rows = [self.claim(c) for c in self.record.claims.values()]
        unknown = ""
        if self.record.unknown_claims:
            unknown = (f"<p class='warn'>Tests name unknown claims: "
                       f"{_e(', '.join(sorted(self.record.unknown_claims)))}</p>")
        legend = ("<p class='legend'>PASS: every test behind the claim passed. FAIL: one failed. PARTIAL: some "
                  "tests were skipped. NOT CHECKED: skipped, or stopped by a fault of the tooling. N/A: the "
                  "document's own values, on a lab that is not the document's. "
                  "Open a claim to see its evidence.</p>")
        return (f"<section id='claims'><h2>Claims of Cisco Document 14131</h2>{legend}"
                f"<div class='matrix'>{''.join(rows)}</div>{unknown}</section>")

    def claim(self, claim: Claim) -> str:
        verdict = claim.verdict
        cls = VERDICT_CLASS[verdict]
        words = " / ".join(self.mask(part) for part in claim.words.split(" / "))
        tests = [self.record.tests.get(n) or TestEntry(n, outcome=o) for n, o in claim.outcomes.items()]
        causes = sorted({f"{code}: {text}" for t in tests for code, text in t.diagnoses})
        causes += sorted({t.fault for t in tests if t.fault})
        cause_html = "".join(f"<li>{self.m(c)}</li>" for c in causes)
        opened = " open" if verdict == FAIL else ""
        checked = " / ".join(self.mask(part) for part in claim.checked.split(" / ")) if claim.checked else ""
        checked_html = f" <small class='checked'>checked here: {_e(checked)}</small>" if checked else ""
        summary = (f"<summary><span class='badge {cls}'><span aria-hidden='true'>{SYMBOLS[verdict]} </span>"
                   f"<b>{verdict}</b></span> <span class='cid'>{_e(claim.id)}</span> "
                   f"<span class='words'>{_e(words)}</span>{checked_html} <small class='section'>{_e(claim.section)}"
                   f" \u00b7 {len(tests)} test{'s' if len(tests) != 1 else ''}</small></summary>")
        body = [f"<ul class='causes'>{cause_html}</ul>" if cause_html else "", self.test_list(tests)]
        if not tests:
            body.append("<p class='warn'>No test names this claim.</p>")
        body += [self.evidence(t) for t in tests]
        return (f"<details class='claim {cls}' id='claim-{_e(claim.id)}' data-claim='{_e(claim.id)}' "
                f"data-verdict='{_e(verdict)}'{opened}>{summary}<div class='evidence'>{''.join(body)}</div></details>")

    def test_list(self, tests: list[TestEntry]) -> str:
        """The claim's tests, grouped by test function with a row per parameter (a remote, a role)."""
        groups: dict[str, list[TestEntry]] = {}
        for t in tests:
            groups.setdefault(t.function, []).append(t)
        items = []
        for function, members in groups.items():
            if len(members) == 1 and not members[0].param:
                t = members[0]
                items.append(f"<li>{self.outcome_badge(t.outcome)} <a href='#{self.anchor(t.nodeid)}'>"
                             f"{_e(function)}</a></li>")
                continue
            rows = "".join(f"<tr><td>{_e(t.param or '-')}</td><td>{self.outcome_badge(t.outcome)}</td>"
                           f"<td><a href='#{self.anchor(t.nodeid)}'>evidence</a></td></tr>" for t in members)
            items.append(f"<li>{_e(function)}<table class='params'><tr><th>parameter</th><th>outcome</th>"
                         f"<th></th></tr>{rows}</table></li>")
        return f"<ul class='tests'>{''.join(items)}</ul>"

    @staticmethod
    def outcome_badge(outcome: str) -> str:
        return (f"<span class='badge small {VERDICT_CLASS.get(outcome, 'unchecked')}'><span aria-hidden='true'>"
                f"{SYMBOLS.get(outcome, '?')} </span>{_e(outcome)}</span>")

    def evidence(self, t: TestEntry) -> str:
        anchor = self.anchor(t.nodeid)
        ident = anchor if anchor not in self.used else f"{anchor}-again-{len(self.used)}"
        self.used.add(ident)
        where = f"{t.module} \u00b7 {t.duration:.2f} s" + (f" \u00b7 {t.when}" if t.when != "call" else "")
        parts = [f"<article class='test {VERDICT_CLASS.get(t.outcome, 'unchecked')}' id='{_e(ident)}'>"
                 f"<h4>{self.outcome_badge(t.outcome)} <a href='#{_e(anchor)}'>{_e(t.nodeid.split('::', 1)[-1])}"
                 f"</a> <small>{_e(where)}</small></h4>"]
        if t.outcome in ("failed", "error"):
            parts.append(self.cause(t))
        elif t.outcome == "skipped":
            parts.append(f"<p class='why'><b>Skipped:</b> {self.m(t.message or 'no reason given')}</p>")
        parts += [self.checked(t), self.transcript(t), self.test_captures(t)]
        if t.traceback:
            parts.append(f"<details class='trace'><summary>Traceback</summary><pre>{self.m(t.traceback)}</pre>"
                         "</details>")
        parts.append("</article>")
        return "".join(parts)

    def cause(self, t: TestEntry) -> str:
        """The failure in plain words: the named causes first, then the test's own message."""
        out = []
        if t.fault:
            out.append(f"<p class='why'><b>Not checked:</b> the test tooling failed, not the routers: "
                       f"{self.m(t.fault)}</p>")
        for code, text in t.diagnoses:
            out.append(f"<p class='why'><b>Likely cause:</b> {self.m(text)} <code>{_e(code)}</code></p>")
        if t.message:
            out.append(f"<p class='why'><b>What the test saw:</b></p><pre class='message'>{self.m(t.message)}</pre>")
        return "".join(out)

    def checked(self, t: TestEntry) -> str:
        if not t.checked:
            return ""
        rows = []
        for text in t.checked:
            what, expected, observed = split_checked(self.mask(text))
            rows.append(f"<tr><td>{_e(what)}</td><td>{_e(expected)}</td><td>{_e(observed)}</td></tr>")
        return ("<table class='checked'><caption>Checked values</caption><tr><th>what</th><th>expected</th>"
                f"<th>observed</th></tr>{''.join(rows)}</table>")

    def transcript(self, t: TestEntry) -> str:
        if not t.exchanges:
            why = ("the test stopped before it sent a command" if t.outcome in ("failed", "error")
                   else "no command was sent")
            return f"<p class='transcript empty'>CLI transcript: none ({why}).</p>"
        words = self._cause_words(t)
        lines = []
        marked = 0
        for line in self.mask(t.transcript).splitlines():
            hit = words and marked < MAX_MARKED and any(w in line for w in words)
            if hit:
                marked += 1
                lines.append(f"<mark><span class='sr'>\u25b6 </span>{_e(line)}</mark>")
            else:
                lines.append(_e(line))
        note = f" \u00b7 {marked} line(s) marked \u25b6 show the cause" if marked else ""
        return (f"<div class='transcript'><p class='label'>CLI transcript ({len(t.exchanges)} commands){note}</p>"
                f"<pre tabindex='0'>{chr(10).join(lines)}</pre></div>")

    def _cause_words(self, t: TestEntry) -> list[str]:
        if t.outcome != "failed":
            return []
        words = [w for code, _ in t.diagnoses for w in CAUSE_WORDS.get(code, [])]
        message = self.mask(t.message)
        words += [q for q in re.findall(r"'([^'\n]{6,})'", message)]
        for line in message.splitlines():
            if line.startswith("\u2260"):        # expect()'s table: the observed value of a differing line
                observed = line.split()[-1]
                if observed not in ("(nothing)",) and len(observed) > 3:
                    words.append(observed)
        return words

    # ------------------------------------------------------------------ captures and ladders

    def test_captures(self, t: TestEntry) -> str:
        if not t.capture:
            driver = self.record.target.get("driver", "")
            if driver and driver != "emulated":
                return (f"<p class='nocap'>Captures: none (the {_e(driver)} driver talks to routers over their CLI "
                        "and records no packets).</p>")
            return "<p class='nocap'>Captures: none for this test.</p>"
        folder = Path(t.capture)
        if not folder.is_dir():
            return f"<p class='nocap'>Captures: the folder {self.m(relative(folder, self.base))} is missing.</p>"
        start, end = t.window if t.window else (None, None)
        try:
            if folder not in self.decoded:
                self.decoded[folder] = decode_folder(folder)
            ladder = build_ladder(folder, start, end, self.topology.order() if self.topology else (),
                                  decoded=self.decoded[folder])
        except Exception as err:  # noqa: BLE001 - a drawing must never stop the report
            return f"<p class='warn'>The captures of this test could not be read: {self.m(err)}</p>"
        rel = relative(folder, self.base)
        window = f"lab time {start:.3f} to {end:.3f} s" if start is not None and end is not None else "whole module"
        pcaps = sorted(p.name for p in folder.glob("*.pcap"))
        links = " ".join(f"<a href='{_href(rel, p)}'>{_e(p)}</a>" for p in pcaps)
        keys = " ".join(f"<a href='{_href(rel, k)}'>{k}</a>" for k in ("esp_sa", "ikev1_decryption_table")
                        if (folder / k).is_file())
        busy = [p for p, _ in ladder.per_link.most_common(2)] or pcaps[:1]
        commands = "\n".join(tshark_command(rel, p, t.window) for p in busy)
        out = [f"<div class='captures'><p class='label'>Captures of module {_e(t.module)} ({_e(window)}): {links}"
               f"<br>Keys (mode 0600, not copied here): {keys or 'none'}</p>"]
        if commands:
            out.append(f"<p class='label'>Decrypted with tshark, from the report's folder:</p>"
                       f"<pre class='cmd' tabindex='0'>{_e(commands)}</pre>")
        out.append(self.ladder(ladder, t))
        out.append("</div>")
        return "".join(out)

    def ladder(self, ladder, t: TestEntry) -> str:
        if not ladder.steps:
            return "<p class='nocap'>No frame on any link in this test's time.</p>"
        uid = "l" + re.sub(r"[^A-Za-z0-9]", "", self.anchor(t.nodeid))[-40:] + str(len(self.used))
        left = sum(ladder.omitted.values())
        cap = (f" {left} more not drawn (" + ", ".join(f"{n} {k}" for k, n in ladder.omitted.items()) + ")."
               if left else "")
        stops = "".join(f"<li>{self.m(n)}</li>" for n in ladder.notes if "stopped" in n)
        other = "".join(f"<li>{self.m(n)}</li>" for n in ladder.notes if "stopped" not in n)
        return (f"<p class='label'>Message ladder: {len(ladder.steps)} of {ladder.total} rows drawn.{_e(cap)}</p>"
                + (f"<ul class='stops'>{stops}</ul>" if stops else "")
                + (f"<ul class='note'>{other}</ul>" if other else "")
                + f"<div class='scroll'>{ladder_svg(ladder, uid)}</div>")

    # ------------------------------------------------------------------ other sections

    def lab(self) -> str:
        topo = self.topology
        if topo is None:
            return "<section id='lab'><h2>The lab</h2><p>The driver names no lab file or inventory.</p></section>"
        lines = "".join(f"<li>{self.m(line)}</li>" for line in link_lines(topo))
        notes = "".join(f"<p class='note'>{self.m(n)}</p>" for n in topo.notes)
        return (f"<section id='lab'><h2>The lab</h2><p>From the {self.m(topo.source)}, with what the routers "
                f"showed during the run.</p><div class='fit'>{to_svg(topo)}</div>{notes}"
                f"<ul class='links'>{lines}</ul></section>")

    def problems(self) -> str:
        return self._faults_html() + self._rejections_html()

    def _faults_html(self) -> str:
        if not self.record.faults:
            return ""
        items = "".join(f"<li><code>{_e(n)}</code>: {self.m(t)}</li>" for n, t in self.record.faults.items())
        return ("<section id='faults'><h3>Not checked: failures of the test tooling</h3><p>These tests stopped on "
                "a fault of the emulator or of the way to the devices, not on anything the routers did; their "
                f"claims are NOT CHECKED.</p><ul>{items}</ul></section>")

    def _rejections_html(self) -> str:
        rejections = self.record.rejections
        if rejections is None:
            return ""
        if not rejections:
            return ("<section id='rejected'><h3>Configuration lines rejected at boot</h3>"
                    "<p>None: every device took its whole configuration.</p></section>")
        errata = load_errata()
        rows = []
        for device, lines in rejections.items():
            for line in lines:
                text = line.split(": ", 1)[-1].split("  (", 1)[0]
                why = errata.get(" ".join(text.split()), "")
                note = f"<br><small>{self.m(why)}</small>" if why else ""
                where, sep, rest = line.partition(": ")       # the configuration line starts after "file:N: "
                shown = _e(where + sep + self.mask(rest) if sep else self.mask(line))
                rows.append(f"<tr><td>{_e(device)}</td><td><code>{shown}</code>{note}</td></tr>")
        return ("<section id='rejected'><h3>Configuration lines rejected at boot</h3><table class='wide'>"
                "<tr><th>Device</th><th>Line and IOS's error</th></tr>" + "".join(rows) + "</table></section>")

    def tests(self) -> str:
        rows = []
        for t in self.record.tests.values():
            rows.append(f"<tr><td>{self.outcome_badge(t.outcome)}</td><td><a href='#{self.anchor(t.nodeid)}'>"
                        f"{_e(t.nodeid)}</a></td><td>{_e(', '.join(t.claims))}</td><td>{t.duration:.2f}</td></tr>")
        return ("<section id='tests'><h2>Tests</h2><table class='wide'><tr><th>Outcome</th><th>Test</th>"
                f"<th>Claims</th><th>s</th></tr>{''.join(rows)}</table></section>")

    def captures(self) -> str:
        root = self.record.capture_root
        if root is None:
            return ("<section id='captures'><h2>Captures and keys</h2><p>None: the driver records no packets "
                    "(real routers are reached over their CLI only).</p></section>")
        folders = sorted({Path(t.capture) for t in self.record.tests.values() if t.capture})
        items = []
        for folder in folders:
            files = sorted(p for p in folder.glob("*") if p.is_file() and not p.name.startswith(".")) \
                if folder.is_dir() else []
            rel = relative(folder, self.base)
            links = " ".join(f"<a href='{_href(rel, p.name)}'>{_e(p.name)}</a>" for p in files)
            items.append(f"<li><b>{_e(folder.name)}</b> ({_e(rel)}): {links or 'no file'}</li>")
        return ("<section id='captures'><h2>Captures and keys</h2><p>One pcap per link and test module; "
                "<code>esp_sa</code> and <code>ikev1_decryption_table</code> are Wireshark's key tables for them "
                "(<code>WIRESHARK_CONFIG_DIR=FOLDER tshark -r FILE -o esp.enable_encryption_decode:TRUE</code>). "
                "The key files stay where they are, readable by their owner only (mode 0600): this report links "
                f"to them and holds none of their contents.</p><ul class='files'>{''.join(items)}</ul></section>")

    def run(self) -> str:
        facts = dict(self.record.target)
        facts.update({k: v for k, v in self.record.facts.items() if k.lower() not in facts})
        facts.update(environment())
        facts["Started"] = _when(self.record.started)
        facts["Wall time"] = f"{self.record.wall_time:.1f} s"
        rows = "".join(f"<tr><th>{_e(k)}</th><td>{self.m(v)}</td></tr>" for k, v in facts.items())
        return f"<section id='run'><h3>Run environment</h3><table class='wide facts'>{rows}</table></section>"


def _href(folder: str, name: str) -> str:
    """A link to a file relative to the report, as a URL (spaces and other characters escaped)."""
    return _e(quote(f"{folder}/{name}"))


def _shown_path(path: str) -> str:
    """A lab or inventory path as the project names it (relative to its root when inside it)."""
    try:
        return Path(path).resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return path


def _when(stamp: float) -> str:
    import time
    return time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(stamp))


def split_checked(text: str) -> tuple[str, str, str]:
    """``what: expected X (from configuration), observed Y`` -> (what, expected, observed)."""
    what, sep, rest = text.partition(": ")
    if not sep:
        return text, "", ""
    expected = observed = ""
    found = re.search(r"expected (.*?)(?:[,;] observed (.*))?$", rest)
    if found:
        expected, observed = found.group(1), found.group(2) or ""
    else:
        seen = re.search(r"observed (.*)$", rest)
        if seen:
            observed = seen.group(1)
        else:
            expected = rest
    return what, expected, observed


def tshark_command(folder: str, pcap: str, window: tuple[float, float] | None) -> str:
    """tshark reading one capture with the key tables of its folder (as a Wireshark profile)."""
    command = (f"WIRESHARK_CONFIG_DIR={shlex.quote(folder)} tshark -r {shlex.quote(folder + '/' + pcap)} "
               "-o esp.enable_encryption_decode:TRUE")
    if window:
        command += f" -Y 'frame.time_epoch >= {window[0]:.6f} && frame.time_epoch <= {window[1]:.6f}'"
    return command


def write_report(record: ConformanceRecord, path: Path, title: str) -> Path:
    """Render the record into ``path`` (its folder made if needed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(Page(record, path).render(title), encoding="utf-8")
    return path
