"""The routers' processors: the work a packet costs (emulator/device/platform.py), queued on the lab clock
(emulator/device/cpu.py), and the round trips it gives the document's lab."""

from __future__ import annotations

import random
import re
from ipaddress import IPv4Address

from emulator.cli.session import CliSession
from emulator.device.cpu import Cpu
from emulator.device.platform import CPU_2500, CpuCosts
from emulator.lab.labfile import Lab
from emulator.labtime import MS, US
from emulator.sim.clock import Simulator
from emulator.wire import esp as E
from support import ROOT

LAB = ROOT / "fixtures" / "doc14131" / "lab.yml"
RTT = re.compile(r"round-trip min/avg/max = (\d+)/(\d+)/(\d+) ms")


def tunnel_rtts(lab_path=LAB, repeat=50):
    lab = Lab.from_file(lab_path)
    remote = CliSession(lab.device("dr_whoovie"), privileged=True, line="vty0")
    remote.execute("ping ip 10.2.2.3 source 10.1.1.1")              # the tunnel comes up
    out = remote.execute(f"ping ip 10.2.2.3 source 10.1.1.1 repeat {repeat}")
    lab.close()
    (found,) = RTT.findall(out)
    return out, tuple(int(x) for x in found)


def test_the_documents_lab_pings_through_the_tunnel_in_the_documents_time():
    """The document's extended ping: ``round-trip min/avg/max = 36/38/40 ms`` (two 2500s, esp-des
    esp-md5-hmac, T1 lines). The 2500's software crypto and process switching, the lines' serialisation
    and delay give that order, with a seeded jitter; the same seed gives the same numbers."""
    out, (low, avg, high) = tunnel_rtts()
    print(out.splitlines()[-1])
    assert "(50/50)" in out
    assert 32 <= low < high <= 44 and 36 <= avg <= 40
    assert tunnel_rtts()[1] == (low, avg, high)


def test_an_esp_packets_cost_follows_its_transform_and_size():
    des_md5 = CPU_2500.esp_cost(132, E.ESP_DES, E.AUTH_HMAC_MD5)
    assert des_md5 == 2500 * US + 132 * 20 * US + 300 * US + 132 * 5 * US
    assert CPU_2500.esp_cost(132, E.ESP_3DES, E.AUTH_HMAC_SHA) > des_md5
    assert CPU_2500.esp_cost(1532, E.ESP_DES, E.AUTH_HMAC_MD5) > 5 * des_md5
    assert CPU_2500.esp_cost(132, E.ESP_NULL, None) == CPU_2500.esp_ns


def esp_packet(src: str, dst: str, spi: int, size: int) -> bytes:
    header = bytes([0x45, 0, size >> 8, size & 0xFF, 0, 1, 0, 0, 64, 50, 0, 0])
    return header + IPv4Address(src).packed + IPv4Address(dst).packed + spi.to_bytes(4, "big") + bytes(size - 24)


def test_packets_queue_on_the_processor_in_order():
    sim = Simulator(1)
    costs = CpuCosts(jitter=0.0)
    mine = {IPv4Address("10.0.0.1")}
    cpu = Cpu(sim, costs, random.Random(1), "r1", mine.__contains__,
              lambda spi: (E.ESP_DES, E.AUTH_HMAC_MD5) if spi == 7 else None)
    done = []
    one = esp_packet("10.0.0.2", "10.0.0.1", 7, 152)
    cost = cpu.received_cost(one)
    assert cost == costs.process_ns + costs.esp_cost(132, E.ESP_DES, E.AUTH_HMAC_MD5)
    cpu.run(cost, done.append, "first")
    cpu.run(cost, done.append, "second")
    # ESP in transit costs this processor nothing: fast switching passes it ahead of the queue.
    cpu.run(cpu.received_cost(esp_packet("10.0.0.2", "10.0.0.9", 7, 152)), done.append, "transit")
    assert done == ["transit"]
    sim.run_until(cost)
    assert done == ["transit", "first"]
    sim.run_until(2 * cost - 1)
    assert done == ["transit", "first"]
    sim.run_until(2 * cost)
    assert done == ["transit", "first", "second"]           # the second waited for the first
    assert cpu.sent_cost(esp_packet("10.0.0.1", "10.0.0.2", 9, 152)) == costs.esp_cost(132, None, None)
    assert cpu.sent_cost(esp_packet("10.0.0.2", "10.0.0.1", 9, 152)) == 0   # not made here
    assert cpu.received_cost(b"\x45\x00") == 0                               # too short: no work, no error


def test_a_fragmented_esp_datagram_pays_the_fixed_part_once():
    sim = Simulator(1)
    cpu = Cpu(sim, CpuCosts(jitter=0.0), random.Random(1), "r1", {IPv4Address("10.0.0.1")}.__contains__,
              lambda spi: (E.ESP_DES, E.AUTH_HMAC_MD5))
    first = bytearray(esp_packet("10.0.0.1", "10.0.0.2", 7, 1500))
    first[6] = 0x20                                                     # MF
    last = bytearray(esp_packet("10.0.0.1", "10.0.0.2", 7, 72))
    last[6], last[7] = 0, 185
    whole = cpu.sent_cost(bytes(first)) + cpu.sent_cost(bytes(last))
    assert whole == CPU_2500.esp_cost(1480 + 52, E.ESP_DES, E.AUTH_HMAC_MD5)
    assert not cpu._fragmented


def test_a_reload_forgets_the_packets_its_processor_held():
    lab = Lab.from_file(LAB)
    hub = lab.device("sam-i-am")
    cpu = hub.cpu
    ran = []
    cpu.run(5 * MS, ran.append, 1)
    hub.reload(60 * 10**9)
    lab.advance(10 * MS)
    assert ran == [] and cpu.stopped
