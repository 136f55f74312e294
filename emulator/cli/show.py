"""Renderers of the basic show commands, in the IOS 12.2 layouts: version, startup-config, clock.

Interfaces and ARP are in ``show_interfaces``, routes in ``show_routes``.
"""

from __future__ import annotations

from emulator.cli import iostime
from emulator.device.platform import Platform
from emulator.device.router import Router


def banner(p: Platform) -> list[str]:
    """The software's name lines, as ``show version`` and the restart message begin."""
    return ["Cisco Internetwork Operating System Software ",
            f"IOS (tm) {p.family} Software ({p.image}), Version {p.software}, RELEASE SOFTWARE (fc2)",
            "Copyright (c) 1986-2004 by cisco Systems, Inc.",
            p.compiled]


def version(r: Router) -> str:
    p = r.platform
    counts: dict[str, int] = {}
    for name in p.interfaces:
        kind = name.rstrip("0123456789/.")
        counts[kind] = counts.get(kind, 0) + 1
    lines = banner(p) + [
        "Image text-base: 0x0307A6B8, data-base: 0x00001000",
        "",
        "ROM: System Bootstrap, Version 11.0(10c)XB2, PLATFORM SPECIFIC RELEASE SOFTWARE (fc1)",
        "BOOTLDR: 3000 Bootstrap Software (IGS-BOOT-R), Version 11.0(10c)XB2, PLATFORM SPECIFIC RELEASE SOFTWARE (fc1)",
        "",
        f"{r.hostname} uptime is {iostime.uptime_words(r.uptime)}",
        "System returned to ROM by " + ("reload" if r.generation else "power-on"),
        f'System image file is "{p.image_file}"',
        "",
        p.processor,
        f"Processor board ID {r.processor_board_id()}, with hardware revision 00000000",
        "Bridging software.",
        "X.25 software, Version 3.0.0.",
    ]
    if counts.get("Ethernet"):
        lines.append(f"{counts['Ethernet']} Ethernet/IEEE 802.3 interface(s)")
    if counts.get("Serial"):
        lines.append(f"{counts['Serial']} Serial network interface(s)")
    if counts.get("BRI"):
        lines.append(f"{counts['BRI']} ISDN Basic Rate interface(s)")
    lines += [
        "32K bytes of non-volatile configuration memory.",
        "16384K bytes of processor board System flash (Read ONLY)",
        "",
        "Configuration register is 0x2102",
    ]
    return "\n".join(lines) + "\n"


NVRAM_SIZE = 32762


def startup_config(r: Router) -> str:
    body = "\n".join(line for line in r.startup_config.splitlines()
                     if not line.startswith(("Building configuration", "Current configuration")))
    body = body.strip("\n") + "\n"
    return f"Using {len(body.encode())} out of {NVRAM_SIZE} bytes\n{body}"


def clock(r: Router) -> str:
    return iostime.clock(r.uptime) + "\n"


def _line_number(line: str) -> tuple[int, str, str]:
    """(IOS line number, name, location) of a session's line: ``console`` is 0 (con 0), ``vtyN (PEER)``
    is 2 + N (a 2500 numbers its aux port 1, then the vty lines)."""
    if line.startswith("vty"):
        number, _, rest = line[3:].partition(" ")
        return 2 + int(number), f"vty {number}", rest.strip("()")
    return 0, "con 0", ""


def users(r: Router, current: object) -> str:
    """``show users``: the lines in use, the one typing marked ``*``, idle time since its last line."""
    rows = ["    Line       User       Host(s)              Idle       Location"]
    live = [s for s in list(r.sessions) if s.active]
    for s in sorted(live, key=lambda s: _line_number(s.line)[0]):
        number, name, location = _line_number(s.line)
        idle = iostime.stamp(r.now - s.last_input)
        mark = "*" if s is current else " "
        # A line with an outgoing telnet connection shows the host it is connected to.
        outgoing = getattr(s, "remote", None) or getattr(s, "suspended", None)
        hosts = str(outgoing.host) if outgoing is not None and outgoing.state != "closed" else "idle"
        rows.append(f"{mark}{number:>3} {name:<10}{'':<11}{hosts:<21}{idle:<11}{location}".rstrip())
    rows += ["", "  Interface    User               Mode         Idle     Peer Address", ""]
    return "\n".join(rows) + "\n"
