"""``traceroute [ip] ADDRESS`` in IOS 12.2's words, from the device's UDP probes
(``emulator.device.traceroute``).

Each hop is one line, printed when its three probes are done: the hop number right-aligned
in three columns, the address of the router that answered, then per probe ``N msec``, or ``*``
when nobody answered in time, or the unreachable's mark (``!H``, ``!N``, ``!P``, ``!A``).
The address is printed again if another router answers a later probe of the same hop.
"""

from __future__ import annotations

from ipaddress import IPv4Address

from emulator.cli.exec_commands import exec_command
from emulator.cli.ping_command import UNRECOGNIZED, _address
from emulator.device.traceroute import Hop, probes
from emulator.sim.jobs import Interrupted, Job, Steps

__all__ = ["hop_line", "run"]


def hop_line(hop: Hop) -> str:
    out = [f"{hop.ttl:>3}"]
    last: IPv4Address | None = None
    for p in hop.probes:
        if p.responder is None:
            out.append(" * ")
            continue
        if p.responder != last:
            out.append(f" {p.responder}")
            last = p.responder
        out.append(f" {p.mark} " if p.mark else f" {p.rtt_ms} msec")
    return "".join(out) + "\n"


def run(router, target: IPv4Address) -> Job:
    return Job(_steps(router, target))


def _steps(router, target: IPv4Address) -> Steps:
    yield f"\nType escape sequence to abort.\nTracing the route to {target}\n\n"
    hops: list[Hop] = []
    done = 0
    trace = probes(router, target, hops)
    try:
        for item in trace:
            if isinstance(item, str):
                yield "".join(hop_line(h) for h in hops[done:])
                done = len(hops)
            else:
                yield item
    except Interrupted:
        trace.close()


@exec_command("traceroute <target:word>", "traceroute ip <target:word>")
def _traceroute(session, args):
    target = _address(args["target"])
    if target is None:
        return UNRECOGNIZED
    return run(session.router, target)
