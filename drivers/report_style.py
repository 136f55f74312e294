"""The report's style sheet and its one script (every section opened for printing), inlined in the page.

Colours pass WCAG AA contrast against their backgrounds; a verdict is always also a word and a symbol.
"""

STYLE = """
:root{--pass:#1d6b2c;--fail:#b3261e;--partial:#8a5300;--unchecked:#4d4d4d;--ink:#1a1a1a;--line:#c8c8c8;
--soft:#f4f4f4}
*{box-sizing:border-box}
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);margin:0 auto;
max-width:1200px;padding:.5rem .75rem 2rem;overflow-wrap:anywhere}
h1{font-size:1.35rem;margin:.4rem 0}
h2{font-size:1.15rem;margin:1.4rem 0 .5rem;border-bottom:2px solid var(--line)}
h3{font-size:1.05rem;margin:1.2rem 0 .4rem}
h4{font-size:.98rem;margin:.2rem 0 .4rem}
a{color:#0b57a8}
code,pre{font-family:ui-monospace,"DejaVu Sans Mono",Menlo,Consolas,monospace;font-size:.83rem}
pre{background:var(--soft);border:1px solid var(--line);padding:.4rem .5rem;margin:.3rem 0;overflow:auto;
max-width:100%;white-space:pre;overflow-wrap:normal}
.banner{border:3px solid;border-radius:8px;padding:.6rem .8rem;margin:.5rem 0 1rem}
.banner.pass{border-color:var(--pass);background:#e9f5ec}
.banner.fail{border-color:var(--fail);background:#fbeaea}
.banner.partial{border-color:var(--partial);background:#fdf3e2}
.verdict{font-size:1.5rem;margin:0}
.verdict .big{font-size:1.7rem}
.banner.pass .verdict{color:var(--pass)}.banner.fail .verdict{color:var(--fail)}
.banner.partial .verdict{color:var(--partial)}
.tally{font-size:1rem;color:var(--ink)}
.why{margin:.3rem 0}
.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(16rem,1fr));gap:.2rem 1rem;margin:.5rem 0 0}
.facts div{min-width:0}
dt{font-weight:600;font-size:.8rem;text-transform:uppercase;letter-spacing:.03em;color:#444}
dd{margin:0 0 .3rem}
nav{display:flex;flex-wrap:wrap;gap:.3rem .9rem;margin:.3rem 0}
.legend{font-size:.85rem;color:#333}
.badge{display:inline-block;border-radius:4px;padding:0 .4rem;color:#fff;font-size:.85rem;white-space:nowrap}
.badge.small{font-size:.78rem}
.badge.pass{background:var(--pass)}.badge.fail{background:var(--fail)}
.badge.partial{background:var(--partial)}.badge.unchecked{background:var(--unchecked)}
details.claim{border:1px solid var(--line);border-left-width:6px;border-radius:4px;margin:.35rem 0;background:#fff}
details.claim.pass{border-left-color:var(--pass)}details.claim.fail{border-left-color:var(--fail)}
details.claim.partial{border-left-color:var(--partial)}details.claim.unchecked{border-left-color:var(--unchecked)}
details.claim>summary{cursor:pointer;padding:.35rem .5rem;list-style-position:outside;margin-left:1rem}
.cid{font-weight:700;font-family:ui-monospace,monospace}
.words{display:block;font-size:.9rem}
.section{color:#555}
.evidence{padding:.2rem .7rem .6rem;border-top:1px solid var(--line)}
.causes{margin:.3rem 0;padding-left:1.2rem;color:var(--fail);font-weight:600}
ul.tests{margin:.3rem 0;padding-left:1.2rem}
article.test{border-top:1px dashed var(--line);margin-top:.6rem;padding-top:.4rem}
table{border-collapse:collapse;margin:.3rem 0}
th,td{border:1px solid var(--line);padding:.2rem .4rem;text-align:left;vertical-align:top}
table.wide,table.checked,table.params{display:block;max-width:100%;overflow-x:auto}
caption{text-align:left;font-weight:600;font-size:.85rem}
.transcript pre{max-height:28rem}
pre.message{white-space:pre-wrap;overflow-wrap:anywhere}
mark{background:#ffe08a;color:#000;display:inline-block;min-width:100%}
.sr{font-weight:700}
.label{font-size:.85rem;margin:.4rem 0 .1rem;font-weight:600}
.nocap,.note,.empty{font-size:.85rem;color:#444}
.warn{color:var(--fail);font-weight:600}
.stops{color:var(--fail);font-size:.9rem;margin:.2rem 0;padding-left:1.2rem}
.scroll{overflow-x:auto;max-width:100%;border:1px solid var(--line);background:#fff}
.fit{overflow-x:auto;max-width:100%}
.fit svg{width:100%;height:auto;min-width:640px}
svg text{font-family:system-ui,sans-serif;font-size:12px;fill:#1a1a1a}
svg .node rect{fill:#f4f7fb;stroke:#3b5b85;stroke-width:1.5}
svg .node.col3 rect{fill:#eef6ee;stroke:#2d6a3a}
svg .node.col1 rect{fill:#f7f0e6;stroke:#8a5300}
svg .node.cloud rect{fill:#f2f2f2;stroke:#777;stroke-dasharray:5 3}
svg .name{font-weight:700;font-size:13px}
svg .role{font-size:11px;fill:#555}
svg .port{font-size:11px;font-weight:600}
svg .addr{font-size:11px;font-family:ui-monospace,monospace}
svg .link line{stroke:#555;stroke-width:2}
svg .link.provider line{stroke-dasharray:6 4}
svg .link text{font-size:11px;fill:#333}
svg .tunnel path{fill:none;stroke:#1d6b2c;stroke-width:3;stroke-dasharray:10 5}
svg .tunnel text{fill:#1d6b2c;font-weight:700}
svg .lane line{stroke:#999;stroke-width:1}
svg .dev{font-weight:700}
svg .step line{stroke:#444;stroke-width:1.4}
svg .step.ike line{stroke:#0b57a8}svg .step.esp line{stroke:#1d6b2c}svg .step.ppp line{stroke:#8a5300}
svg marker path{fill:#444}
svg .t{font-size:10px;fill:#555;font-family:ui-monospace,monospace}
svg .lbl{font-size:11px;font-weight:600}
svg .det{font-size:10px;fill:#444}
svg .stop line{stroke:#b3261e}svg .stop text{fill:#b3261e;font-weight:700}
@media (max-width:600px){body{font-size:14px;padding:.4rem}.verdict{font-size:1.25rem}}
@media print{nav,.trace{display:none}details.claim{break-inside:avoid-page}pre{max-height:none;white-space:pre-wrap}
.scroll{overflow:visible}.banner{break-after:avoid}}
"""

# Printing shows every claim's evidence: the closed sections open before the page is printed.
PRINT_SCRIPT = ("window.addEventListener('beforeprint',function(){"
                "document.querySelectorAll('details').forEach(function(d){d.open=true;});});")
