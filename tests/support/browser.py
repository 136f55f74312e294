"""Headless Chromium for the report's tests: open a page, run a small probe in it, read what it found.

The probe is injected into a copy of the page beside it (so that its relative links stay what they are),
``chromium --headless --dump-dom`` runs it, and it leaves its findings as JSON in the dumped DOM. It records
script errors, failed loads and console errors from the first line of the page on; when the page has
loaded it opens every claim by clicking its summary, as a reader would, and measures what is visible.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT = 60

PROBE = r"""
(function(){
  var errors=[];
  window.addEventListener('error',function(e){
    errors.push(e.message ? String(e.message) : 'failed to load '+(e.target&&(e.target.src||e.target.href)||'?'));
  },true);
  var original=console.error;
  console.error=function(){errors.push(Array.prototype.join.call(arguments,' '));original.apply(console,arguments);};
  function box(el){var r=el.getBoundingClientRect();return {w:r.width,h:r.height};}
  window.addEventListener('load',function(){
    var closed=[];
    document.querySelectorAll('details.claim').forEach(function(d){
      if(!d.open){closed.push(d.dataset.claim);d.querySelector('summary').click();}
    });
    var claims=[];
    document.querySelectorAll('details.claim').forEach(function(d){
      var shown=[];
      d.querySelectorAll('.transcript pre').forEach(function(p){
        var b=box(p);if(b.w>0&&b.h>0)shown.push(p.textContent.length);});
      claims.push({id:d.dataset.claim,verdict:d.dataset.verdict,open:d.open,transcripts:shown.length,
                   empty:d.querySelectorAll('.transcript.empty').length});
    });
    var ladders=[];
    document.querySelectorAll('svg.ladder').forEach(function(s){var b=box(s);ladders.push([b.w,b.h]);});
    var topo=document.querySelector('svg.topology');
    var outside=[];
    document.querySelectorAll('[src],[href]').forEach(function(e){
      var u=e.getAttribute('src')||e.getAttribute('href');
      if(/^([a-z]+:)?\/\//i.test(u)||/^data:/i.test(u))outside.push(u);
    });
    var banner=document.getElementById('verdict');
    var result={verdict:banner?banner.dataset.verdict:null,banner:banner?banner.textContent:'',
      claims:claims,closed:closed,ladders:ladders,topology:topo?box(topo):null,
      innerWidth:window.innerWidth,scrollWidth:document.documentElement.scrollWidth,
      bodyScrollWidth:document.body.scrollWidth,errors:errors,outside:outside,
      links:Array.prototype.map.call(document.querySelectorAll('a[href]'),function(a){return a.getAttribute('href');})};
    if(window.parent!==window){window.parent.postMessage(JSON.stringify(result),'*');return;}
    var out=document.createElement('pre');
    out.id='probe-result';
    out.textContent=JSON.stringify(result);
    document.body.appendChild(out);
  });
})();
"""


def chromium() -> str | None:
    """The Chromium executable on this machine, or None."""
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _command(exe: str, width: int, height: int) -> list[str]:
    # --no-sandbox: CI containers run as root, where Chromium's sandbox cannot start.
    return [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
            "--disable-extensions", "--disable-background-networking", f"--window-size={width},{height}"]


# Chromium's windows are at least 500 px wide: a narrower viewport is an iframe of that width, whose page
# posts the probe's findings to the frame around it.
FRAME = """<!DOCTYPE html><html><head><meta charset="utf-8"></head><body style="margin:0">
<iframe src="{src}" style="width:{width}px;height:{height}px;border:0"></iframe>
<script>window.addEventListener('message',function(e){{var p=document.createElement('pre');p.id='probe-result';
p.textContent=e.data;document.body.appendChild(p);}});</script></body></html>"""


def probe(page: Path, width: int = 420, height: int = 900) -> dict:
    """Open ``page`` in a ``width`` x ``height`` viewport with the probe; what it found."""
    exe = chromium()
    assert exe, "no chromium"
    text = page.read_text(encoding="utf-8")
    probed = page.with_name(page.stem + ".probe.html")
    frame = page.with_name(page.stem + ".frame.html")
    probed.write_text(text.replace("<head>", f"<head><script>{PROBE}</script>", 1), encoding="utf-8")
    frame.write_text(FRAME.format(src=probed.name, width=width, height=height), encoding="utf-8")
    try:
        result = subprocess.run(_command(exe, max(width, 800), height + 100) +
                                ["--virtual-time-budget=5000", "--dump-dom", frame.resolve().as_uri()],
                                capture_output=True, text=True, timeout=TIMEOUT)
    finally:
        probed.unlink()
        frame.unlink()
    found = re.search(r'<pre id="probe-result">(.*?)</pre>', result.stdout, re.S)
    assert found, f"the probe left no result (exit {result.returncode}): {result.stderr[-2000:]}"
    return json.loads(html.unescape(found.group(1)))


def screenshot(page: Path, out: Path, width: int, height: int) -> Path:
    """A PNG of the top of ``page`` in a ``width`` x ``height`` viewport (an iframe below 500 px)."""
    exe = chromium()
    assert exe, "no chromium"
    out.parent.mkdir(parents=True, exist_ok=True)
    target = page
    if width < 500:
        target = page.with_name(page.stem + ".narrow.html")
        target.write_text(FRAME.format(src=page.name, width=width, height=height), encoding="utf-8")
    try:
        subprocess.run(_command(exe, max(width, 500), height) + [f"--screenshot={out}", target.resolve().as_uri()],
                       capture_output=True, text=True, timeout=TIMEOUT)
    finally:
        if target != page:
            target.unlink()
    return out
