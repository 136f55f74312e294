"""Soak: a seeded random walk of operations over simulated days, invariants checked after every step.

Operations: pings between any two devices (every address of the lab), waits of
random lengths and of exactly each timeout the lab knows (and each +-1 ns),
``clear crypto sa``, ``clear crypto isakmp``, ``clear ip nat translation *``,
shutting either serial line and bringing it back (the remote may get a new
IPCP address), configuration changes and their undo. After every step: no
exception and no emulator fault, lab time never goes back and a wait moves it
by exactly its length, NAT and SA tables stay within what the traffic
justifies, interface counters never decrease. At the end, with every change
undone, the lab answers the final pings exactly as a freshly booted copy does.

The walk is bounded in operations and in wall time; it prints what it tried.
"""

from __future__ import annotations

import collections
import random
import re
import time
from pathlib import Path

import pytest

from emulator.cli.session import CliSession
from emulator.lab.labfile import Lab, load_lab
from emulator.labtime import SECOND, format_seconds
from support import ROOT

LABS = {
    "document": (ROOT / "fixtures" / "doc14131" / "lab.yml", 10_000),
    "nat-not-exempt": (ROOT / "fixtures" / "misconfigured" / "nat-not-exempt" / "lab.yml", 10_000),
}
WALL_BUDGET_S = 420          # per lab; the walk stops early (and fails, saying how far it got) past it

# Timeouts the lab's devices run on (IOS defaults and the labs' own values), in whole seconds.
TIMEOUTS_S = {
    "PPP restart": 2, "HDLC/PPP keepalive": 10, "NAT ICMP/DNS/finrst/syn": 60, "NAT UDP": 300,
    "IPsec SA lifetime": 3600, "ARP entry": 14_400, "NAT default and TCP": 86_400, "IKE SA lifetime": 86_400,
}

_INTERFACE_BRIEF = re.compile(r"^(\S+)\s+(\d+\.\d+\.\d+\.\d+)\s+\S+\s+\S+\s+.*$", re.M)
_PACKETS = re.compile(r"(\d+) packets input.*?(\d+) packets output", re.S)
_SPI = re.compile(r"spi: (0x[0-9A-F]+)")
_ENCAPS = re.compile(r"#pkts encaps: (\d+), #pkts encrypt: (\d+), #pkts digest:? (\d+)")
_DECAPS = re.compile(r"#pkts decaps: (\d+), #pkts decrypt: (\d+), #pkts verify:? (\d+)")


class Walk:
    """One lab, its console sessions, and what the steps so far justify."""

    def __init__(self, path: Path, seed: int):
        self.lab = Lab(load_lab(path))
        self.rng = random.Random(seed)
        self.cli: dict[str, CliSession] = {}
        for name, router in self.lab.devices.items():
            cli = CliSession(router, privileged=True, line="console")
            cli.monitor = False
            cli.execute("terminal length 0")
            self.cli[name] = cli
        spec = self.lab.spec
        self.hub = spec.device_for_role("hub")
        self.remote = spec.device_for_role("remote")
        self.isp = spec.device_for_role("isp")
        self.routers = [self.hub, self.remote]
        self.tried: collections.Counter[str] = collections.Counter()
        self.shut: list[tuple[str, str]] = []       # (device, interface) shut down by the walk
        self.undo: list[tuple[str, list[str]]] = []  # configuration changes still to undo
        self.nat_pings = {r: 0 for r in self.routers}  # pings since the last clear that may need NAT
        self.counters: dict[str, tuple[int, int]] = {}
        self.sa_counts: dict[tuple[str, str], int] = {}
        self.addresses: list[str] = []
        self.refresh_addresses()

    # ------------------------------------------------------------ helpers
    def run(self, device: str, line: str) -> str:
        before = len(self.lab.sim.errors)
        out = self.cli[device].execute(line)
        assert "Traceback" not in out and "Error:" not in out, f"{device}# {line}\n{out}"
        assert len(self.lab.sim.errors) == before, self.lab.sim.errors[before:]
        return out

    def configure(self, device: str, lines: list[str]) -> str:
        before = len(self.lab.sim.errors)
        out = self.cli[device].configure_lines(lines)
        assert "Traceback" not in out and "% Invalid" not in out, f"{device}: {lines}\n{out}"
        assert len(self.lab.sim.errors) == before, self.lab.sim.errors[before:]
        return out

    def refresh_addresses(self) -> None:
        found = set()
        for name in self.lab.devices:
            found.update(a for _, a in _INTERFACE_BRIEF.findall(self.run(name, "show ip interface brief")))
        self.addresses = sorted(found)

    # ------------------------------------------------------------ operations
    def op_ping(self) -> None:
        source = self.rng.choice(sorted(self.lab.devices))
        target = self.rng.choice(self.addresses + ["203.0.113.99"])     # one address nobody has
        repeat, timeout = self.rng.randint(1, 3), self.rng.randint(0, 2)
        self.run(source, f"ping {target} repeat {repeat} timeout {timeout}")
        for router in self.routers:
            self.nat_pings[router] += 1       # each ping may open at most one translation per router
        self.tried["ping"] += 1

    def op_wait(self) -> None:
        choice = self.rng.random()
        if choice < 0.05:
            name, value = self.rng.choice(sorted(TIMEOUTS_S.items()))
            delta = self.rng.choice((-1, 0, 1))
            duration = value * SECOND + delta
            self.tried[f"wait {name} {('-1 ns', 'exact', '+1 ns')[delta + 1]}"] += 1
        elif choice < 0.97:
            duration = self.rng.randint(1, 5 * SECOND)
            self.tried["wait < 5 s"] += 1
        else:
            duration = self.rng.randint(1, 3 * 3600) * SECOND + self.rng.randint(0, SECOND)
            self.tried["wait up to 3 hours"] += 1
        before = self.lab.sim.now
        self.lab.advance(duration)
        assert self.lab.sim.now == before + duration, "a wait moves the lab clock by exactly its length"

    def op_clear(self) -> None:
        device = self.rng.choice(self.routers)
        command = self.rng.choice(("clear crypto sa", "clear crypto isakmp", "clear ip nat translation *"))
        self.run(device, command)
        if "nat" in command:
            self.nat_pings[device] = 0
        self.sa_counts = {k: v for k, v in self.sa_counts.items() if k[0] != device or "nat" in command}
        self.tried[command] += 1

    def op_flap(self) -> None:
        if self.shut and self.rng.random() < 0.6:
            device, iface = self.shut.pop()
            self.configure(device, [f"interface {iface}", "no shutdown"])
            self.tried["no shutdown"] += 1
        else:
            device = self.rng.choice((self.hub, self.remote, self.isp))
            iface = "Serial0" if device != self.isp else self.rng.choice(("Serial0", "Serial1"))
            if (device, iface) in self.shut:
                return
            self.configure(device, [f"interface {iface}", "shutdown"])
            self.shut.append((device, iface))
            self.tried["shutdown"] += 1
        self.sa_counts.clear()

    def op_config(self) -> None:
        if self.undo and self.rng.random() < 0.5:
            device, lines = self.undo.pop()
            self.configure(device, lines)
            self.tried["configuration undone"] += 1
            return
        device = self.rng.choice(self.routers)
        changes = [
            (["ip nat translation timeout 120"], ["no ip nat translation timeout"]),
            (["ip nat translation icmp-timeout 30"], ["no ip nat translation icmp-timeout"]),
            (["crypto ipsec security-association lifetime seconds 600"],
             ["no crypto ipsec security-association lifetime seconds"]),
            (["ip route 198.51.100.0 255.255.255.0 Serial0"], ["no ip route 198.51.100.0 255.255.255.0 Serial0"]),
            (["access-list 199 permit ip any any"], ["no access-list 199"]),
        ]
        apply, undo = self.rng.choice(changes)
        if any(u == undo for d, u in self.undo if d == device):
            return
        self.configure(device, apply)
        self.undo.append((device, undo))
        self.tried["configuration change"] += 1

    # ------------------------------------------------------------ invariants
    def check(self, step: int, before_now: int) -> None:
        assert self.lab.sim.now >= before_now, "lab time never goes back"
        for router in self.routers:
            table = self.run(router, "show ip nat translations")
            entries = [line for line in table.splitlines()[1:] if line.strip()]
            assert len(entries) <= self.nat_pings[router] + 2, (step, router, table)
            ike = self.run(router, "show crypto isakmp sa")
            assert len([line for line in ike.splitlines()[1:] if line.strip()]) <= 3, (step, router, ike)
            text = self.run(router, f"show interfaces {'Serial0'}")
            found = _PACKETS.search(text)
            assert found, text
            counts = (int(found.group(1)), int(found.group(2)))
            old = self.counters.get(router, (0, 0))
            assert counts[0] >= old[0] and counts[1] >= old[1], f"{router} Serial0 counters: {old} -> {counts}"
            self.counters[router] = counts
            if step % 10 == 0:
                self.check_sas(router)

    def check_sas(self, router: str) -> None:
        text = self.run(router, "show crypto ipsec sa")
        spis = _SPI.findall(text)
        flows = text.count("local  ident")
        assert len(spis) <= 4 * max(flows, 1), f"{router}: {len(spis)} SAs for {flows} flows\n{text}"
        for block in text.split("local  ident")[1:]:
            spi = _SPI.search(block)
            encaps, decaps = _ENCAPS.search(block), _DECAPS.search(block)
            if spi is None or encaps is None or decaps is None:
                continue
            key = (router, spi.group(1))
            total = int(encaps.group(1)) + int(decaps.group(1))
            assert total >= self.sa_counts.get(key, 0), f"{router} SA {key[1]} counters went back"
            self.sa_counts[key] = total

    # ------------------------------------------------------------ the end
    def restore(self) -> None:
        while self.shut:
            device, iface = self.shut.pop()
            self.configure(device, [f"interface {iface}", "no shutdown"])
        while self.undo:
            device, lines = self.undo.pop()
            self.configure(device, lines)
        for router in self.routers:
            self.run(router, "clear crypto sa")
            self.run(router, "clear ip nat translation *")
        self.lab.advance(60 * SECOND)


def final_pings(walk_or_lab) -> list[str]:
    """What the lab answers to the pings that show the design working: LAN to LAN, LAN to the internet.

    Each is sent twice and the second answer kept: the first may lose echoes to ARP and IKE, which
    depends on what the caches hold, not on whether the design works.
    """
    if isinstance(walk_or_lab, Walk):
        run, lab = walk_or_lab.run, walk_or_lab.lab
    else:
        lab = walk_or_lab
        clis = {}

        def run(device, line):
            if device not in clis:
                clis[device] = CliSession(lab.devices[device], privileged=True, line="console")
                clis[device].monitor = False
            return clis[device].execute(line)
    scenario = lab.spec.scenario
    remote_host = lab.spec.device_for_role("remote_host")
    hub_host = lab.spec.device_for_role("hub_host")
    results = []
    for target in (scenario["hosts"]["hub_host"], scenario["hosts"]["internet_host"]):
        run(remote_host, f"ping {target}")
        out = run(remote_host, f"ping {target}")
        results.append(target + ": " + re.search(r"Success rate is \d+ percent \(\d+/\d+\)", out).group(0))
    run(hub_host, f"ping {scenario['hosts']['remote_host']}")
    out = run(hub_host, f"ping {scenario['hosts']['remote_host']}")
    results.append(re.search(r"Success rate is \d+ percent \(\d+/\d+\)", out).group(0))
    return results


@pytest.mark.parametrize("name", sorted(LABS))
def test_random_walk_over_days(name, record_property):
    path, operations = LABS[name]
    walk = Walk(path, seed=20261201)
    ops = [walk.op_ping] * 8 + [walk.op_wait] * 5 + [walk.op_clear] * 2 + [walk.op_flap] * 2 + [walk.op_config] * 2
    start = time.monotonic()
    done = 0
    for step in range(1, operations + 1):
        before = walk.lab.sim.now
        op = walk.rng.choice(ops)
        op()
        if op in (walk.op_flap,):
            walk.lab.advance(3 * SECOND)        # the line comes up (or goes down) before addresses are read
            walk.refresh_addresses()
        walk.check(step, before)
        done = step
        if time.monotonic() - start > WALL_BUDGET_S:
            break
    walk.restore()
    results = final_pings(walk)
    fresh = Lab(load_lab(path))
    fresh.advance(60 * SECOND)
    expected = final_pings(fresh)
    elapsed = time.monotonic() - start
    record_property("tried", f"soak {name}: {done} operations in {elapsed:.1f} s wall, lab time "
                    f"{format_seconds(walk.lab.sim.now, 0)} s ({walk.lab.sim.now // (86_400 * SECOND)} days); "
                    "tried: " + ", ".join(f"{k} x{v}" for k, v in sorted(walk.tried.items())))
    assert done == operations, f"only {done} of {operations} operations within {WALL_BUDGET_S} s"
    assert results == expected, f"after the walk: {results}; a fresh lab: {expected}"
    assert walk.lab.sim.errors == []
