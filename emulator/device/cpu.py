"""The router's processor: the work a packet costs it, and the packets waiting for it.

A packet from a link for the router itself (ESP for it included: IPsec is process-switched) and
an ESP packet the router made reach the processor's queue; it
takes them one after another, each for its cost (``Platform.cpu``) varied by a seeded jitter, so
round trips carry the platform's processing and crypto time and back-to-back packets queue. A
packet that costs nothing (forwarded by fast switching, which IOS does at interrupt level, ahead
of the processes) goes through at once.
"""

from __future__ import annotations

import random
from ipaddress import IPv4Address
from typing import Any, Callable, Iterator, Mapping, Protocol

from emulator.device.platform import CpuCosts
from emulator.sim.clock import Simulator
from emulator.wire.ipv4 import PROTO_ESP, address_of

__all__ = ["Cpu", "PacedAdapters"]

FRAGMENTED_KEPT = 64      # ESP datagrams in fragments whose SA algorithms are remembered at once


class _Sends(Protocol):
    def send_ip(self, packet: bytes, next_hop: IPv4Address | None) -> bool: ...


class Cpu:
    """One processor's queue on the lab clock; ``stop()`` (a reload) forgets the packets waiting."""

    def __init__(self, clock: Simulator, costs: CpuCosts, rng: random.Random, name: str,
                 is_local: Callable[[IPv4Address], bool], transform: Callable[[int], tuple[int, int | None] | None],
                 is_local_packed: Callable[[bytes], bool] | None = None):
        self.clock = clock
        self.costs = costs
        self.rng = rng
        self.name = name
        self.is_local = is_local
        # The same question of a header's 4 address bytes (the owner may answer it without an address object).
        self.is_local_packed: Callable[[bytes], bool] = (
            is_local_packed if is_local_packed is not None else lambda packed: is_local(address_of(packed)))
        self.transform = transform       # an SA's (cipher, authenticator) by its SPI, if the router has it
        self.busy_until = 0
        self.stopped = False
        self._component = f"{name} processor"
        # The SA's algorithms of an ESP datagram in fragments, by its identification and addresses.
        self._fragmented: dict[bytes, tuple[int | None, int | None]] = {}

    def run(self, cost: int, work: Callable[..., Any], *args: Any) -> bool:
        """Do ``work(*args)`` once the processor has spent ``cost`` ns on it after what it is doing."""
        if cost <= 0:
            work(*args)
            return True
        clock = self.clock
        now = clock.now
        jitter = self.costs.jitter
        if jitter:
            cost += round(cost * jitter * (2 * self.rng.random() - 1))
        busy = self.busy_until
        done = (busy if busy > now else now) + cost
        self.busy_until = done
        clock.call_at(done, self._do, work, args, component=self._component)
        return True

    def _do(self, work: Callable[..., Any], args: tuple) -> None:
        if not self.stopped:
            work(*args)

    def stop(self) -> None:
        self.stopped = True

    # ------------------------------------------------------------ what a packet costs
    def received_cost(self, data: bytes) -> int:
        """A packet from a link: process switching if it is for the router, and decryption if it is ESP."""
        if len(data) < 20:
            return 0
        if not self.is_local_packed(data[16:20]):
            return 0                          # forwarded (ESP in transit too): fast switching, no cost here
        cost = self.costs.process_ns
        if data[9] == PROTO_ESP:
            cost += self._esp_cost(data)
        return cost

    def sent_cost(self, data: bytes) -> int:
        """A packet to a link: encryption if it is ESP the router made."""
        if len(data) < 20 or data[9] != PROTO_ESP or not self.is_local_packed(data[12:16]):
            return 0
        return self._esp_cost(data)

    def _esp_cost(self, data: bytes) -> int:
        """The ESP work on a datagram, or on a fragment its share: the fixed part goes with the first
        fragment, each fragment's bytes at the rates of the SA the first one named."""
        ihl = (data[0] & 0x0F) * 4
        offset, more = ((data[6] & 0x1F) << 8) | data[7], bool(data[6] & 0x20)
        if not offset:
            found = self.transform(int.from_bytes(data[ihl:ihl + 4], "big"))
            cipher, auth = found if found is not None else (None, None)
            if more:
                if len(self._fragmented) >= FRAGMENTED_KEPT:     # datagrams whose last piece never came
                    del self._fragmented[next(iter(self._fragmented))]
                self._fragmented[data[4:6] + data[12:20]] = (cipher, auth)
            return self.costs.esp_cost(len(data) - ihl, cipher, auth)
        key = data[4:6] + data[12:20]
        cipher, auth = (self._fragmented.pop(key, (None, None)) if not more
                        else self._fragmented.get(key, (None, None)))
        return self.costs.esp_per_bytes(len(data) - ihl, cipher, auth)


class _Paced:
    """A link adapter as the IP stack sends through it, behind the processor."""

    def __init__(self, cpu: Cpu, adapter: _Sends):
        self.cpu = cpu
        self.adapter = adapter

    def send_ip(self, packet: bytes, next_hop: IPv4Address | None) -> bool:
        cost = self.cpu.sent_cost(packet)
        if cost <= 0:
            return self.adapter.send_ip(packet, next_hop)
        return self.cpu.run(cost, self.adapter.send_ip, packet, next_hop)


class PacedAdapters(Mapping[str, _Sends]):
    """The router's link adapters, each behind its processor (what the IP stack is given to send by)."""

    def __init__(self, cpu: Cpu, adapters: Mapping[str, _Sends]):
        self.cpu = cpu
        self.adapters = adapters
        self._paced: dict[str, _Paced] = {}

    def get(self, iface: str, default: Any = None) -> Any:    # Mapping.get goes through an exception
        adapter = self.adapters.get(iface)
        if adapter is None:
            return default
        paced = self._paced.get(iface)
        if paced is None or paced.adapter is not adapter:
            paced = self._paced[iface] = _Paced(self.cpu, adapter)
        return paced

    def __getitem__(self, iface: str) -> _Paced:
        adapter = self.adapters[iface]
        paced = self._paced.get(iface)
        if paced is None or paced.adapter is not adapter:
            paced = self._paced[iface] = _Paced(self.cpu, adapter)
        return paced

    def __iter__(self) -> Iterator[str]:
        return iter(self.adapters)

    def __len__(self) -> int:
        return len(self.adapters)
