"""NAT benchmark: new translations per second and packets per second through an existing one.

    .venv/bin/python benchmarks/bench_nat.py

Uses the remote router's configuration (route-map nonat, overload on Serial0)
and the NAT engine alone, as the forwarding pipeline calls it. Prints numbers.
"""

from __future__ import annotations

import statistics
import sys
import time
from ipaddress import IPv4Address
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from emulator.config.loader import load_config  # noqa: E402
from emulator.engines.nat import NatEngine  # noqa: E402
from emulator.labtime import SECOND  # noqa: E402
from emulator.wire.icmp import ICMPMessage  # noqa: E402
from emulator.wire.ipv4 import PROTO_ICMP, PROTO_UDP, IPv4Packet  # noqa: E402
from emulator.wire.udp import UDPDatagram  # noqa: E402

CFG, _ = load_config((ROOT / "fixtures" / "doc14131" / "dr_whoovie.cfg").read_text(), "remote",
                     ["Ethernet0", "Serial0", "Serial1"])
GLOBAL = IPv4Address("100.100.100.1")
INTERNET = IPv4Address("192.0.2.10")


def udp_packet(src: IPv4Address, sport: int) -> bytes:
    payload = UDPDatagram(sport, 53, b"x" * 40).encode(src, INTERNET)
    return IPv4Packet(src, INTERNET, PROTO_UDP, payload, ttl=64).encode()


def new_translations(n: int = 20000) -> float:
    engine = NatEngine(CFG, lambda name: GLOBAL)
    packets = [udp_packet(IPv4Address(int(IPv4Address("10.1.1.2")) + i % 200), 1024 + i // 200) for i in range(n)]
    start = time.perf_counter()
    for p in packets:
        engine.inside_to_outside(p, "Ethernet0", "Serial0", 1 * SECOND)
    elapsed = time.perf_counter() - start
    assert len(engine.entries) == n
    return n / elapsed


def existing_translation(n: int = 200000) -> float:
    engine = NatEngine(CFG, lambda name: GLOBAL)
    icmp = ICMPMessage.echo_request(7, 1, b"\xab\xcd" * 36).encode()
    packet = IPv4Packet(IPv4Address("10.1.1.10"), INTERNET, PROTO_ICMP, icmp, ttl=64).encode()
    engine.inside_to_outside(packet, "Ethernet0", "Serial0", 1 * SECOND)
    start = time.perf_counter()
    for _ in range(n):
        result = engine.inside_to_outside(packet, "Ethernet0", "Serial0", 2 * SECOND)
    elapsed = time.perf_counter() - start
    assert result.translated
    return n / elapsed


def main() -> None:
    new = [new_translations() for _ in range(3)]
    hit = [existing_translation() for _ in range(3)]
    print(f"new translations: {statistics.median(new):,.0f} per second (runs: {', '.join(f'{r:,.0f}' for r in new)})")
    print(f"packets through an existing translation (NAT step alone): {statistics.median(hit):,.0f} per second "
          f"(runs: {', '.join(f'{r:,.0f}' for r in hit)})")


if __name__ == "__main__":
    main()
