"""A ladder (sequence) diagram as SVG: one vertical lane per device, one arrow per message, time down the side."""

from __future__ import annotations

import html

from .ladder import Ladder, Step

LANE_W, ROW_H, LEFT, TOP = 230, 38, 70, 46
CHAR_W = 6.1          # average width of a character of the labels, in SVG units


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _clip(text: str, width: float) -> str:
    chars = max(8, int(width / CHAR_W))
    return text if len(text) <= chars else text[:chars - 1] + "\u2026"


def _label(step: Step) -> str:
    text = step.label + (f" \u00d7{step.count}" if step.count > 1 else "")
    if step.note:
        text += f" ({step.note})"
    if step.sender is None:
        text += " (direction not recorded)"
    return text


def _row(step: Step, y: int, lanes: dict[str, float], uid: str) -> str:
    ends = [step.sender, step.receiver] if step.sender and step.receiver else list(step.ends[:2])
    if len(ends) < 2 or not all(e in lanes for e in ends):
        return ""
    x1, x2 = lanes[str(ends[0])], lanes[str(ends[1])]
    span = max(abs(x2 - x1), LANE_W) + 20
    mid = (x1 + x2) / 2
    known = step.sender is not None
    marker = f' marker-end="url(#{uid}-head)"' if known else ""
    dash = "" if known else ' stroke-dasharray="4 3"'
    tip = f"{step.t:.6f} s  {step.sender or '?'} \u2192 {step.receiver or '?'}  {_label(step)}" + \
          (f"\n{step.detail}" if step.detail else "")
    parts = [f'<g class="step {step.kind}"><title>{_e(tip)}</title>',
             f'<text class="t" x="4" y="{y + 4}">{step.t:.3f}</text>',
             f'<line x1="{x1:.0f}" y1="{y}" x2="{x2:.0f}" y2="{y}"{marker}{dash}/>',
             f'<text class="lbl" x="{mid:.0f}" y="{y - 5}" text-anchor="middle">{_e(_clip(_label(step), span))}</text>']
    if step.detail:
        parts.append(f'<text class="det" x="{mid:.0f}" y="{y + 13}" text-anchor="middle">'
                     f'{_e(_clip(step.detail, span))}</text>')
    parts.append("</g>")
    return "".join(parts)


def ladder_svg(ladder: Ladder, uid: str) -> str:
    """The ladder as an inline SVG; ``uid`` keeps its marker id unique in the page."""
    lanes = {name: LEFT + LANE_W / 2 + i * LANE_W for i, name in enumerate(ladder.lanes)}
    stops = [n for n in ladder.notes if "stopped" in n]
    rows = len(ladder.steps) + (1 if stops else 0)
    width = int(LEFT + LANE_W * max(len(lanes), 1))
    height = TOP + ROW_H * rows + 24
    out = [f'<svg class="ladder" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'width="{width}" height="{height}" role="img" aria-label="{_e("Message ladder: " + ladder.source)}">',
           f'<defs><marker id="{uid}-head" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
           f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>',
           '<text class="t" x="4" y="16">lab s</text>']
    for name, x in lanes.items():
        out.append(f'<g class="lane"><title>{_e(name)}</title>'
                   f'<text x="{x:.0f}" y="18" text-anchor="middle" class="dev">{_e(_clip(name, LANE_W - 10))}</text>'
                   f'<line x1="{x:.0f}" y1="26" x2="{x:.0f}" y2="{height - 10}"/></g>')
    y = TOP + 10
    for step in ladder.steps:
        out.append(_row(step, y, lanes, uid))
        y += ROW_H
    if stops:
        out.append(f'<g class="stop"><line x1="{LEFT}" y1="{y - 14}" x2="{width - 10}" y2="{y - 14}" '
                   f'stroke-dasharray="6 4"/><text x="{LEFT}" y="{y + 2}">'
                   f'{_e(_clip(chr(0x2716) + " " + stops[0], width - LEFT))}</text></g>')
    out.append("</svg>")
    return "".join(out)
