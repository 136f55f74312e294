"""Served soak: ``python -m emulator serve --speed 100`` under netmiko sessions for a bounded wall time.

Three sessions at once (the hub, the remote and a host) run a seeded mix of
commands: pings through the tunnel and to the internet, show commands,
``clear crypto sa``, ``clear ip nat translation *``. Every command must be
answered within its read timeout, the lab clock must keep moving, and SIGTERM
must stop the server cleanly at the end. Prints what it tried.
"""

from __future__ import annotations

import random
import re
import signal
import subprocess
import sys
import threading
import time

import yaml

from support import ROOT

WALL_SECONDS = 120
SPEED = 100
READ_TIMEOUT = 20


def _connect(device: dict):
    from netmiko import ConnectHandler
    return ConnectHandler(device_type="cisco_ios", host=device["host"], port=device["port"],
                          username=device.get("username"), password=device["password"], secret=device["secret"],
                          conn_timeout=10, read_timeout_override=READ_TIMEOUT, fast_cli=False)


def _uptime_seconds(text: str) -> int:
    """Seconds of a ``show version`` uptime line (weeks, days, hours, minutes, seconds as IOS prints them)."""
    line = next(x for x in text.splitlines() if "uptime is" in x)
    units = {"week": 604_800, "day": 86_400, "hour": 3_600, "minute": 60, "second": 1}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+) (week|day|hour|minute|second)", line))


def _worker(name: str, device: dict, commands: list[str], deadline: float, results: dict) -> None:
    rng = random.Random(name)
    done, slowest, failures = 0, 0.0, []
    try:
        conn = _connect(device)
        if device["secret"]:
            conn.enable()             # hosts without a secret stay in user EXEC, where ping works
        while time.monotonic() < deadline:
            command = rng.choice(commands)
            start = time.monotonic()
            try:
                output = conn.send_command(command, read_timeout=READ_TIMEOUT)
            except Exception as err:  # noqa: BLE001 - recorded as a failure of the served lab
                failures.append(f"{command}: {type(err).__name__}: {err}")
                break
            slowest = max(slowest, time.monotonic() - start)
            if "Traceback" in output or "% Emulator fault" in output:
                failures.append(f"{command}: {output[-300:]}")
            done += 1
        conn.disconnect()
    except Exception as err:  # noqa: BLE001
        failures.append(f"session: {type(err).__name__}: {err}")
    results[name] = (done, slowest, failures)


def test_served_lab_answers_every_session_for_two_minutes(tmp_path, record_property):
    inventory = tmp_path / "served.yml"
    server = subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--write-inventory", str(inventory),
                               "--speed", str(SPEED), "--log-level", "WARNING"],
                              cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    watchdog = threading.Timer(WALL_SECONDS + 60, server.kill)
    watchdog.start()
    try:
        for _ in range(6):
            server.stdout.readline()
        devices = yaml.safe_load(inventory.read_text())["devices"]
        by_role = {d["role"]: d for d in devices.values()}
        scenario = yaml.safe_load((ROOT / "fixtures" / "doc14131" / "lab.yml").read_text())["scenario"]
        hosts = scenario["hosts"]
        plan = {
            "hub": ["show crypto ipsec sa", "show crypto isakmp sa", "show ip nat translations", "show clock",
                    "clear crypto sa", "show interfaces Serial0", f"ping {hosts['remote_host']}"],
            "remote": ["show crypto ipsec sa", "show ip nat statistics", "show clock", "clear ip nat translation *",
                       "show ip route", f"ping {hosts['internet_host']}", "show version"],
            "remote_host": [f"ping {hosts['hub_host']}", f"ping {hosts['internet_host']}",
                            "ping 203.0.113.99 repeat 2 timeout 1", "show clock"],
        }
        with _connect(by_role["hub"]) as probe:
            probe.enable()
            up_before = _uptime_seconds(probe.send_command("show version"))
        deadline = time.monotonic() + WALL_SECONDS
        results: dict = {}
        threads = [threading.Thread(target=_worker, args=(role, by_role[role], commands, deadline, results))
                   for role, commands in plan.items()]
        for t in threads:
            t.start()
        for t in threads:
            t.join(WALL_SECONDS + 2 * READ_TIMEOUT)
        with _connect(by_role["hub"]) as probe:
            probe.enable()
            up_after = _uptime_seconds(probe.send_command("show version"))
    finally:
        watchdog.cancel()
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            code = server.wait()
        stderr = server.stderr.read()
        server.stdout.close()
        server.stderr.close()
    assert code == 0, stderr[-2000:]
    assert set(results) == set(plan), results
    for role, (done, slowest, failures) in results.items():
        assert failures == [], (role, failures)
        assert done >= 10, (role, done)
        assert slowest < READ_TIMEOUT
    # The lab clock followed the wall clock at the requested speed (with room for pacing and load).
    assert up_after - up_before >= WALL_SECONDS * SPEED // 4
    record_property("tried", f"{WALL_SECONDS} s at speed {SPEED}, lab clock +{up_after - up_before} s; "
                    + ", ".join(f"{role}: {done} commands (slowest {slowest:.2f} s)"
                                for role, (done, slowest, _) in sorted(results.items())))
