"""IOS text of NAT: ``show ip nat translations [verbose]``, ``show ip nat statistics``, ``debug ip nat``.

Renderers read the NAT engine (``emulator.engines.nat``) without changing it;
the debug lines are worded from the translation traces the device logs.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from emulator.cli import iostime
from emulator.config.render import interface_sort_key
from emulator.device.console import NatTranslated
from emulator.engines.nat import NatEngine, NatEntry, NatTrace
from emulator.wire.ipv4 import IPProto

__all__ = ["protocol_name", "translation_row", "show_translations", "show_statistics",
           "debug_lines", "detail_line", "translation_line", "debug_text"]

# Protocol names of the translation table (IOS prints other protocols by number).
_PROTO_NAMES: dict[int, str] = {IPProto.ICMP: "icmp", IPProto.TCP: "tcp", IPProto.UDP: "udp", IPProto.GRE: "gre",
                IPProto.ESP: "esp", IPProto.AH: "ahp"}

_HEADER = ("Pro", "Inside global", "Inside local", "Outside local", "Outside global")


def protocol_name(proto: int) -> str:
    return _PROTO_NAMES.get(proto, str(proto))


def _ip(b: bytes | None) -> str:
    return str(IPv4Address(b)) if b is not None else "---"


def translation_row(e: NatEntry) -> tuple[str, str, str, str, str]:
    """The five columns of ``show ip nat translations`` for one entry."""
    if e.protocol is None:
        return ("---", _ip(e.inside_global), _ip(e.inside_local), "---", "---")

    def ap(addr: bytes | None, port: int | None) -> str:
        return f"{_ip(addr)}:{port if port is not None else 0}"
    return (protocol_name(e.protocol), ap(e.inside_global, e.inside_global_port),
            ap(e.inside_local, e.inside_local_port),
            ap(e.outside_local, e.outside_local_port),
            ap(e.outside_global, e.outside_global_port))


def _row(pro: str, ig: str, il: str, ol: str, og: str) -> str:
    return f"{pro} {ig}".ljust(22) + f" {il.ljust(18)} {ol.ljust(18)} {og}"


def show_translations(nat: NatEngine, now: int, verbose: bool = False) -> str:
    """``show ip nat translations [verbose]`` (reference §1.6).

    Rows in creation order; the protocol and inside global share a 22-character
    field, the other columns are 18 characters plus a space (the header's layout).
    An empty table prints nothing (not even the header).  ``verbose`` adds
    ``create``/``use``/``left`` and ``flags``/``use_count`` lines.  The reference has
    no verbose sample; this is the later-12.x two-line form (the 12.0 command
    reference printed one line, ``create 00:00:02, use 00:00:00, flags: extended``).
    ``left`` is omitted for entries that never time out; flags are ``static``,
    ``extended`` or ``none``, plus ``timing out`` after a FIN/RST.
    """
    entries = nat.entries
    if not entries:
        return ""
    out = [_row(*_HEADER)]
    for e in entries:
        out.append(_row(*translation_row(e)))
        if verbose:
            line = f"    create {iostime.stamp(now - e.created)}, use {iostime.stamp(now - e.last_used)}, "
            deadline = nat.deadline(e)
            if deadline is not None:
                line += f"left {iostime.stamp(deadline - now)}, "
            out.append(line)
            flags = "static" if e.static else ("extended" if e.extended else "none")
            if e.timing_out:
                flags += ", timing out"
            out.append(f"    flags: {flags}, use_count: {e.use_count}")
    return "\n".join(out) + "\n"


def show_statistics(nat: NatEngine) -> str:
    """``show ip nat statistics`` in the 12.x command-reference layout (reference §1.7).

    Open question 4 (§6) is settled as: ``Total translations:`` and one-line interface
    lists (names joined by ", "), no ``[Id: N]`` and no CEF line (both later additions).
    Hits count lookups that found an entry; Misses count flows a rule permitted that
    had no entry yet (creation attempts, failed ones included).  Packets no rule
    permits are not NAT candidates and count in neither (nor do they log debug lines,
    reference §3.6).
    """
    cfg = nat.config
    entries = nat.entries
    total = len(entries)
    static = sum(1 for e in entries if e.static)
    extended = sum(1 for e in entries if e.extended)
    names = sorted(cfg.interfaces, key=interface_sort_key)
    outside = [n for n in names if cfg.interfaces[n].nat == "outside"]
    inside = [n for n in names if cfg.interfaces[n].nat == "inside"]
    out = [
        f"Total translations: {total} ({static} static, {total - static} dynamic; {extended} extended)",
        "Outside interfaces: " + ", ".join(outside),
        "Inside interfaces: " + ", ".join(inside),
        f"Hits: {nat.hits}  Misses: {nat.misses}",
        f"Expired translations: {nat.expired}",
        "Dynamic mappings:",
    ]
    dynamic = [r for r in cfg.nat_rules if r.kind != "static" and r.direction == "inside"]
    if dynamic:
        out.append("-- Inside Source")
    for r in dynamic:
        what = "access-list" if r.kind == "list" else "route-map"
        where = f"interface {r.interface}" if r.interface is not None else f"pool {r.pool}"
        out.append(f"{what} {r.match} {where} refcount {nat.refcount(r.kind, r.match)}")
        pool = cfg.nat_pools.get(r.pool) if r.pool else None
        if pool is not None:
            size = int(pool.end) - int(pool.start) + 1
            used = len({e.inside_global for e in entries if e.pool == pool.name})
            pct = used * 100 // size if size > 0 else 0
            out += [
                f"pool {pool.name}: netmask {pool.netmask}",
                f"        start {pool.start} end {pool.end}",
                f"        type generic, total addresses {max(size, 0)}, allocated {used} ({pct}%), "
                f"misses {nat.pool_misses.get(pool.name, 0)}",
            ]
    return "\n".join(out) + "\n"


def debug_lines(trace: NatTrace, detailed: bool = False, fast: bool | None = None) -> list[str]:
    """``debug ip nat`` lines of one translated packet (reference §3.6), without the timestamp.

    Plain: ``NAT: s=A->A', d=B [id]`` inside-to-outside, ``NAT*: s=B, d=A'->A [id]``
    outside-to-inside.  ``detailed`` adds the ``i:``/``o:`` line before it.
    ``NAT*`` marks a fast-switched packet; ``fast`` overrides the engine's guess.
    """
    lines = [detail_line(trace, fast)] if detailed else []
    lines.append(translation_line(trace, fast))
    return lines


def _tag(trace: NatTrace, fast: bool | None) -> str:
    return "NAT*" if (trace.fast if fast is None else fast) else "NAT"


def detail_line(trace: NatTrace, fast: bool | None = None) -> str:
    """The ``debug ip nat detailed`` line: direction, protocol, addresses and ports before translation."""
    direction = "i" if trace.outbound else "o"
    return (f"{_tag(trace, fast)}: {direction}: {protocol_name(trace.protocol)} ({_ip(trace.src)}, "
            f"{trace.sport or 0}) -> ({_ip(trace.dst)}, {trace.dport or 0}) [{trace.ident}]")


def translation_line(trace: NatTrace, fast: bool | None = None) -> str:
    """The ``debug ip nat`` line: which address changed to what."""
    s, d, n = _ip(trace.src), _ip(trace.dst), _ip(trace.new)
    if trace.outbound:
        return f"{_tag(trace, fast)}: s={s}->{n}, d={d} [{trace.ident}]"
    return f"{_tag(trace, fast)}: s={s}, d={d}->{n} [{trace.ident}]"


def debug_text(event: NatTranslated) -> str:
    """The console line of a NAT debug event."""
    return detail_line(event.trace) if event.detail else translation_line(event.trace)
