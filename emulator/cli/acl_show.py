"""IOS text of access lists and route-maps: ``show access-lists``, ``show route-map``.

Renderers read the ACL engine (``emulator.engines.acl``): its configuration
and its match counters.
"""

from __future__ import annotations

from emulator.cli.layout import Layout, layout_of
from emulator.config.acl_syntax import render_entry
from emulator.engines.acl import AclEngine

__all__ = ["show_access_lists", "show_route_map"]


def show_access_lists(acl: AclEngine, name: str | int | None = None) -> str:
    """``show access-lists [NAME]`` (and ``show ip access-lists``: 12.2 has only IP lists
    there) in the 12.2 mainline form (no sequence numbers, reference §1.8): header per
    list, entries indented 4 spaces, ``(N matches)`` / ``(1 match)`` only on entries that
    matched; remarks are not shown.  An undefined NAME prints nothing.

    With a 15.x configuration each entry carries its sequence number (the 12.3 layout of
    reference §1.8, ``    10 permit ip ... (93 matches)``): 10, 20, 30... in the list's order,
    remarks not numbered (the configuration keeps no typed sequence numbers, so these are the
    numbers IOS gives entries entered without one)."""
    cfg = acl.config
    numbered = layout_of(cfg) is Layout.IOS15
    names = list(cfg.access_lists) if name is None else [str(name)]
    out: list[str] = []
    for n in names:
        lst = cfg.access_lists.get(n)
        if lst is None:
            continue
        counts = acl.counts(n)
        kind = "Standard" if lst.kind == "standard" else "Extended"
        out.append(f"{kind} IP access list {lst.name}")
        seq = 0
        for i, entry in enumerate(lst.entries):
            if entry.remark is not None:
                continue
            seq += 10
            hits = counts[i] if i < len(counts) else 0
            suffix = "" if hits == 0 else f" ({hits} match{'es' if hits != 1 else ''})"
            number = f"{seq} " if numbered else ""
            out.append(f"    {number}{render_entry(entry)}{suffix}")
    return "\n".join(out) + "\n" if out else ""


def show_route_map(acl: AclEngine, name: str | None = None) -> str:
    """``show route-map [NAME]`` in the 12.2 form.  Policy routing is not emulated,
    so its match counters stay 0 (NAT's use of a route-map does not count there).
    An undefined NAME prints nothing."""
    out: list[str] = []
    for (n, seq), entry in sorted(acl.config.route_maps.items()):
        if name is not None and n != name:
            continue
        out.append(f"route-map {n}, {entry.action}, sequence {seq}")
        out.append("  Match clauses:")
        if entry.match_ip_address:
            out.append("    ip address (access-lists): " + "".join(a + " " for a in entry.match_ip_address))
        out.append("  Set clauses:")
        out.append("  Policy routing matches: 0 packets, 0 bytes")
    return "\n".join(out) + "\n" if out else ""
