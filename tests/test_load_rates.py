"""The 5-minute rates of ``show interfaces``: samples taken as needed give what a 5-second timer gives."""

import math
import random

from emulator.cli.session import CliSession
from emulator.config.loader import load_config
from emulator.device.interfaces import LOAD_INTERVAL, InterfaceTable
from emulator.lab.labfile import Lab
from emulator.labtime import SECOND

CONFIG = "hostname r\ninterface Ethernet0\n ip address 192.0.2.1 255.255.255.0\ninterface Serial0\n no ip address\n"


def periodic(samples_at, changes, end):
    """The reference: a sample every LOAD_INTERVAL, counters as ``changes`` left them, the IOS formula."""
    decay = math.exp(-5 / 300)
    rates = [0.0] * 4
    last = (0, 0, 0, 0)
    counters = (0, 0, 0, 0)
    pending = sorted(changes)
    for t in samples_at:
        if t > end:
            break
        while pending and pending[0][0] < t:
            counters = pending.pop(0)[1]
        d = [max(0, a - b) for a, b in zip(counters, last, strict=True)]
        last = counters
        rates = [rates[0] * decay + d[0] * 8 / 5 * (1 - decay), rates[1] * decay + d[1] / 5 * (1 - decay),
                 rates[2] * decay + d[2] * 8 / 5 * (1 - decay), rates[3] * decay + d[3] / 5 * (1 - decay)]
    return rates


def test_samples_taken_when_needed_equal_a_five_second_timer():
    rng = random.Random(7)
    config, errors = load_config(CONFIG, "r.cfg", ["Ethernet0", "Serial0"])
    assert errors == []
    table = InterfaceTable("r", 1, config)
    start = 3 * SECOND + 17
    table.start_sampling(start)
    c = table.state("Ethernet0").counters
    changes, now, counters = [], start, [0, 0, 0, 0]
    for _ in range(400):
        now += rng.choice([1, 999_999, 2 * SECOND, LOAD_INTERVAL, 37 * LOAD_INTERVAL + 5])
        table.catch_up(now)                # what the adapter does before counting a frame
        size = rng.randrange(64, 1500)
        counters[0] += size
        counters[1] += 1
        if rng.random() < 0.5:
            counters[2] += size // 2
            counters[3] += 1
        c.bytes_in, c.packets_in, c.bytes_out, c.packets_out = counters
        changes.append((now, tuple(counters)))
    end = now + 3 * LOAD_INTERVAL
    table.catch_up(end)
    want = periodic([start + k * LOAD_INTERVAL for k in range(1, 10**6)], changes, end)
    assert [c.in_bps, c.in_pps, c.out_bps, c.out_pps] == want
    assert want[0] > 0
    assert table.state("Serial0").counters.in_bps == 0.0


def test_rates_on_a_lab_rise_with_traffic_and_decay_when_idle():
    lab = Lab.from_file("fixtures/doc14131/lab.yml")
    hub = CliSession(lab.device("sam-i-am"), privileged=True, line="vty0")

    def rate():
        line = next(x for x in hub.execute("show interfaces Ethernet0").splitlines() if "5 minute input rate" in x)
        return int(line.split()[4])

    assert rate() == 0
    host = CliSession(lab.device("hub-host"), privileged=True, line="vty0")
    for _ in range(12):
        host.execute("ping 10.2.2.1 repeat 20")
    busy = rate()
    assert busy > 0
    lab.advance(1800 * SECOND)
    idle = rate()
    assert 0 <= idle < busy
