"""Scale benchmark: generated hub-and-spoke labs of N spokes (emulator/lab/generate.py), each N in a
process of its own so that its peak RSS is its own.

    .venv/bin/python benchmarks/bench_scale.py                 # N = 1, 10, 100, 1000
    .venv/bin/python benchmarks/bench_scale.py --with-5000     # and N = 5000
    .venv/bin/python benchmarks/bench_scale.py --spokes 200    # one N

For each N: the wall time of booting the lab (configurations loaded, every PPP line negotiated); the
wall time until every tunnel is up after each spoke's LAN host sends echoes to the hub's LAN host (the
first resolves the host's gateway by ARP, the next, one spoke every 6 ms, reaches the spoke and starts
IKE, as spokes that do not all start in the same instant);
the leased lines between a spoke and the hub (events per tunnel follow them); the simulator's events
and events per wall second; the peak RSS; the wall cost per spoke; the events
per tunnel, all of them and net of the idle lab's own (keepalives on every line, which grow with the
lab time the staggered starts take, not with the tunnels: counted once the tunnels are up over a window
as long as the tunnel phase and at the same phase of the 10 s keepalive period); and the wall time of
three show commands on the hub, which then lists N peers.
Prints figures; asserts nothing but that every tunnel came up (a figure of a broken lab means nothing).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator.cli.session import CliSession  # noqa: E402
from emulator.lab.generate import Design, write_lab  # noqa: E402
from emulator.lab.labfile import Lab  # noqa: E402
from emulator.labtime import MS, SECOND  # noqa: E402

TUNNELS_TIMEOUT = 600 * SECOND          # lab time the tunnels get to come up
# Between two spokes' first echoes. The hub's processor spends about 1 ms on each IKE message it receives
# (five an exchange, emulator/device/platform.py), so it keeps up with one new spoke every 6 ms; any faster
# and its queue, then the exchanges open at once, grow until it turns spokes away beyond its 100 admitted
# negotiations, and a spoke turned away retransmits 10 s later, which is no figure of scale.
STAGGER = 6 * MS
KEEPALIVE = 10 * SECOND                 # the period of the idle lab's own events (IOS's keepalive default)
SHOWS = ("show crypto isakmp sa", "show crypto ipsec sa", "show crypto map")


def measure(spokes: int) -> dict[str, float]:
    """One N, in this process: the figures as a mapping."""
    design = Design(spokes=spokes)
    with tempfile.TemporaryDirectory() as tmp:
        write_lab(design, tmp)
        start = time.perf_counter()
        lab = Lab.from_file(Path(tmp) / "lab.yml")
        boot = time.perf_counter() - start
        boot_events = lab.sim.events_run
        if lab.boot_errors() or not lab.links_up():
            raise SystemExit(f"N={spokes}: the lab did not boot clean: {lab.boot_errors()[:3]}")
        hub_host = f"{design.lan(0).network_address + 10}"
        hosts = [CliSession(lab.device(f"spoke{k}-host"), privileged=True, line="console")
                 for k in range(1, spokes + 1)]
        spoke_routers = [lab.device(f"spoke{k}") for k in range(1, spokes + 1)]
        start, lab_start = time.perf_counter(), lab.sim.now
        CliSession(lab.device("hub-host"), privileged=True, line="console").execute(
            f"ping {design.lan(0).network_address + 1} repeat 1 timeout 0")
        for host in hosts:                      # an echo each: the host resolves its gateway by ARP
            host.execute(f"ping {hub_host} repeat 1 timeout 0")
        lab.advance(100 * MS)
        for host in hosts:                      # then the echo that starts IKE, one spoke every STAGGER
            host.execute(f"ping {hub_host} repeat 1 timeout 0")
            lab.advance(STAGGER)
        pending = list(reversed(spoke_routers))

        def all_up() -> bool:                   # one spoke looked at per event, as the lab's settle does
            while pending:
                if not pending[-1].crypto.installed_sas:
                    return False
                pending.pop()
            return True
        up = lab.sim.run_until(all_up, TUNNELS_TIMEOUT)
        tunnels = time.perf_counter() - start
        tunnel_events = lab.sim.events_run - boot_events
        events = lab.sim.events_run
        if not up:
            raise SystemExit(f"N={spokes}: {len(pending)} tunnels not up after {TUNNELS_TIMEOUT // SECOND} s")
        tunnel_lab_time = lab.sim.now - lab_start
        periods = -(-tunnel_lab_time // KEEPALIVE)
        lab.advance(lab_start + periods * KEEPALIVE - lab.sim.now)
        before_idle = lab.sim.events_run
        lab.advance(tunnel_lab_time)
        background = lab.sim.events_run - before_idle
        hub = CliSession(lab.device("hub"), privileged=True, line="console")
        shows = {}
        for command in SHOWS:
            start = time.perf_counter()
            out = hub.execute(command)
            shows[command] = time.perf_counter() - start
            if command == SHOWS[0] and out.count("QM_IDLE") != spokes:
                raise SystemExit(f"N={spokes}: the hub lists {out.count('QM_IDLE')} peers, not {spokes}")
        lab.close()
    wall = boot + tunnels
    # Leased lines from a spoke to the hub: its PPP line, the lines up the provider tree, the hub's line.
    lines = 2 + len(design.levels()) if design.tiered else 2
    return {"spokes": spokes, "devices": len(lab.devices), "lines": lines, "boot_s": boot, "tunnels_s": tunnels,
            "events": events, "events_per_s": events / wall,
            "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "wall_per_spoke_ms": wall / spokes * 1000, "events_per_tunnel": tunnel_events / spokes,
            "net_events_per_tunnel": (tunnel_events - background) / spokes, "tunnel_lab_s": tunnel_lab_time / SECOND,
            **{f"{c}_ms": t * 1000 for c, t in shows.items()}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--with-5000", action="store_true", help="also N = 5000")
    parser.add_argument("--spokes", type=int, nargs="+", metavar="N", help="these N instead")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)      # the child: one N, JSON out
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return
    sizes = args.spokes or [1, 10, 100, 1000] + ([5000] if args.with_5000 else [])
    head = (f"{'N':>5} {'devices':>7} {'lines':>5} {'boot s':>7} {'tunnels s':>9} {'events':>9} {'events/s':>9} "
            f"{'RSS MiB':>8} {'ms/spoke':>8} {'ev/tunnel':>9} {'net':>5} {'lab s':>6} "
            f"{'isakmp ms':>9} {'ipsec ms':>9} {'map ms':>8}")
    print(head)
    for n in sizes:
        child = subprocess.run([sys.executable, __file__, "--one", str(n)], capture_output=True, text=True)
        if child.returncode != 0:
            print(f"{n:>5} failed: {(child.stderr or child.stdout).strip()[-300:]}")
            continue
        r = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"{n:>5} {r['devices']:>7} {r['lines']:>5} {r['boot_s']:>7.2f} {r['tunnels_s']:>9.2f} {r['events']:>9} "
              f"{r['events_per_s']:>9.0f} {r['peak_rss_mib']:>8.0f} {r['wall_per_spoke_ms']:>8.2f} "
              f"{r['events_per_tunnel']:>9.1f} {r['net_events_per_tunnel']:>5.1f} {r['tunnel_lab_s']:>6.2f} "
              f"{r['show crypto isakmp sa_ms']:>9.1f} "
              f"{r['show crypto ipsec sa_ms']:>9.1f} {r['show crypto map_ms']:>8.1f}", flush=True)


if __name__ == "__main__":
    main()
