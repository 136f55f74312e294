"""Addresses a device hands its PPP peers: ``peer default ip address`` (one address or an ``ip local pool``)."""

from __future__ import annotations

from ipaddress import IPv4Address

from emulator.config.model import DeviceConfig
from emulator.device.console import DeviceLog, PoolExhausted, PoolUndefined

__all__ = ["PeerAddresses"]


class PeerAddresses:
    def __init__(self, config: DeviceConfig, console: DeviceLog):
        self.config = config
        self._console = console
        self.in_use: dict[str, set[IPv4Address]] = {}     # pool name -> addresses handed out
        # The pool each handed-out address came from: it goes back there even if the interface's
        # ``peer default ip address`` changed meanwhile.
        self._lent: dict[tuple[str, IPv4Address], str] = {}

    def assign(self, iface: str) -> IPv4Address | None:
        """The address to hand the peer on ``iface``, or None (the peer keeps its own)."""
        cfg = self.config
        icfg = cfg.interfaces[iface]
        if icfg.peer_address is not None:
            return icfg.peer_address
        if icfg.peer_pool is None:
            return None
        pool = cfg.local_pools.get(icfg.peer_pool)
        if pool is None:
            self._console.log(PoolUndefined(iface, icfg.peer_pool))
            return None
        used = self.in_use.setdefault(pool.name, set())
        last = int(pool.end) if pool.end is not None else int(pool.start)
        for value in range(int(pool.start), last + 1):
            address = IPv4Address(value)
            if address not in used:
                used.add(address)
                self._lent[(iface, address)] = pool.name
                return address
        self._console.log(PoolExhausted(iface, pool.name))
        return None

    def release(self, iface: str, address: IPv4Address) -> None:
        pool = self._lent.pop((iface, address), None)
        if pool is not None:
            self.in_use.get(pool, set()).discard(address)
