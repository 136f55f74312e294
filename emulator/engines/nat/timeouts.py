"""Translation timeouts: the ``ip nat translation`` kinds, one deadline rule, an expiry queue.

Times are integer nanoseconds of lab time; the configured timeouts are
seconds (``None`` for ``never``).  An entry's deadline is its last use plus
the timeout of its kind, read from the configuration at the moment it is
asked (a changed timeout applies to the entries already there, as the
configuration is looked up, not copied).  An entry is alive while
``now < deadline``: at its deadline it is gone.  :func:`deadline` is the one
place that computes it, for the packet path, ``expire`` and ``get_timer``.

:class:`ExpiryQueue` finds the earliest deadline without looking at every
entry: one heap per kind ordered by last use (all entries of a kind share
its timeout, so the oldest use has the earliest deadline).  A use does not
touch the heap; an entry whose queued use is older than its last use is
queued again when it reaches the top (lazy refresh), and an entry removed
from the table leaves a stale item behind that is dropped when it surfaces
or when stale items outnumber the live ones (compaction).
"""

from __future__ import annotations

import enum
from heapq import heapify, heappop, heappush, heapreplace
from typing import Generic, Protocol, TypeVar

from emulator.config.model import DeviceConfig
from emulator.labtime import SECOND
from emulator.wire.ipv4 import IPProto
from emulator.wire.tcp import TCPFlag

__all__ = [
    "TimeoutKind", "DEFAULT_TIMEOUTS", "FRAGMENT_HOLD", "DNS_PORT",
    "Timed", "deadline", "kind_for", "after_use", "ExpiryQueue",
]


class TimeoutKind(enum.StrEnum):
    """The keyword of ``ip nat translation KIND SECONDS`` that times an entry out."""

    TIMEOUT = "timeout"            # simple entries and protocols without their own kind
    UDP = "udp-timeout"
    DNS = "dns-timeout"
    TCP = "tcp-timeout"
    FINRST = "finrst-timeout"      # after a FIN or RST
    ICMP = "icmp-timeout"
    SYN = "syn-timeout"            # a TCP flow whose first segment was a bare SYN, until the answer


# IOS defaults of ``ip nat translation ...`` in seconds, as configured (reference §4.8).
DEFAULT_TIMEOUTS: dict[str, int] = {
    TimeoutKind.TIMEOUT: 86400, TimeoutKind.UDP: 300, TimeoutKind.DNS: 60, TimeoutKind.TCP: 86400,
    TimeoutKind.FINRST: 60, TimeoutKind.ICMP: 60, TimeoutKind.SYN: 60,
}

# State kept for non-initial fragments of a translated datagram.  RFC 791 suggests
# 15 s as the initial reassembly timer; IOS 12.2's own value is not documented.
FRAGMENT_HOLD = 15 * SECOND

DNS_PORT = 53      # UDP to this port times out by dns-timeout

_TCP = IPProto.TCP
_UDP = IPProto.UDP
_ICMP = IPProto.ICMP
_FIN_RST = TCPFlag.FIN | TCPFlag.RST
_SYN = TCPFlag.SYN
_ACK = TCPFlag.ACK


class Timed(Protocol):
    """What the expiry queue reads and stamps on an entry."""

    last_used: int
    timeout_kind: TimeoutKind | None     # None: never times out (static entries)
    expiry_seq: int                      # the queue's live item for the entry; 0 when not queued
    expiry_key: int                      # the last use that item was queued with


def deadline(cfg: DeviceConfig, entry: Timed) -> int | None:
    """When ``entry`` times out (ns), or None if it never does: its last use plus its timeout."""
    kind = entry.timeout_kind
    if kind is None:
        return None
    timeouts = cfg.nat_timeouts
    t = timeouts[kind] if kind in timeouts else DEFAULT_TIMEOUTS[kind]
    return None if t is None else entry.last_used + t * SECOND


def kind_for(proto: int, dport: int | None, flags: int | None) -> TimeoutKind:
    """The kind of a new extended entry, from the packet that creates it."""
    if proto == _TCP:
        if flags is not None and flags & _FIN_RST:
            return TimeoutKind.FINRST
        if flags is not None and flags & _SYN and not flags & _ACK:
            return TimeoutKind.SYN
        return TimeoutKind.TCP
    if proto == _UDP:
        return TimeoutKind.DNS if dport == DNS_PORT else TimeoutKind.UDP
    if proto == _ICMP:
        return TimeoutKind.ICMP
    return TimeoutKind.TIMEOUT


def after_use(kind: TimeoutKind, timing_out: bool, proto: int, flags: int | None) -> tuple[TimeoutKind, bool]:
    """The kind (and the ``timing out`` flag) after a TCP segment with ``flags`` used an entry.

    A FIN or RST moves the entry to finrst-timeout for good (reference §4.8); an ACK
    after a bare SYN means the connection is up: tcp-timeout.
    """
    if proto == _TCP and flags is not None and not timing_out:
        if flags & _FIN_RST:
            return TimeoutKind.FINRST, True
        if kind is TimeoutKind.SYN and flags & _ACK:
            return TimeoutKind.TCP, False
    return kind, timing_out


T = TypeVar("T", bound=Timed)

# Stale items may exceed the live ones by this many before the heaps are rebuilt.
_SLACK = 64


class ExpiryQueue(Generic[T]):
    """The entries that time out, by kind and last use; see the module docstring.

    ``live`` counts queued entries, ``items`` the heap items (live and stale);
    ``items <= 2 * live + 64`` holds after every call.
    """

    __slots__ = ("_heaps", "_seq", "live", "items")

    def __init__(self) -> None:
        self._heaps: dict[TimeoutKind, list[tuple[int, int, T]]] = {k: [] for k in TimeoutKind}
        self._seq = 0
        self.live = 0
        self.items = 0

    def add(self, entry: T) -> None:
        """Queue a new entry (one that never times out is not queued)."""
        if entry.timeout_kind is None:
            entry.expiry_seq = 0
            return
        self.live += 1
        self._push(entry)

    def discard(self, entry: T) -> None:
        """Forget an entry that left the table (its heap item goes stale)."""
        if entry.expiry_seq:
            entry.expiry_seq = 0
            self.live -= 1
            if self.items > 2 * self.live + _SLACK:
                self._compact()

    def used(self, entry: T, old_kind: TimeoutKind | None) -> None:
        """Note that ``entry.last_used`` or ``entry.timeout_kind`` changed (kind was ``old_kind``).

        A later use needs nothing now (refreshed lazily); a new kind, or a use
        earlier than the queued one, queues the entry again.
        """
        if entry.expiry_seq and (entry.timeout_kind is not old_kind or entry.last_used < entry.expiry_key):
            self._push(entry)

    def first_deadline(self, cfg: DeviceConfig) -> int | None:
        """The earliest deadline of a queued entry; None if none will time out."""
        best: int | None = None
        for heap in self._heaps.values():
            entry = self._fresh_top(heap)
            if entry is not None:
                when = deadline(cfg, entry)
                if when is not None and (best is None or when < best):
                    best = when
        return best

    def pop_due(self, cfg: DeviceConfig, now: int) -> list[T]:
        """Unqueue and return the entries whose deadline is ``now`` or earlier."""
        due: list[T] = []
        for heap in self._heaps.values():
            while (entry := self._fresh_top(heap)) is not None:
                when = deadline(cfg, entry)
                if when is None or now < when:
                    break
                heappop(heap)
                self.items -= 1
                entry.expiry_seq = 0
                self.live -= 1
                due.append(entry)
        return due

    def clear(self) -> None:
        for heap in self._heaps.values():
            for _, _, entry in heap:
                entry.expiry_seq = 0
            heap.clear()
        self.live = self.items = 0

    # ------------------------------------------------------------ internals
    def _push(self, entry: T) -> None:
        kind = entry.timeout_kind
        assert kind is not None
        self._seq = seq = self._seq + 1
        entry.expiry_seq = seq
        entry.expiry_key = entry.last_used
        heappush(self._heaps[kind], (entry.last_used, seq, entry))
        self.items += 1
        if self.items > 2 * self.live + _SLACK:
            self._compact()

    def _fresh_top(self, heap: list[tuple[int, int, T]]) -> T | None:
        """The live entry at the top of ``heap`` with its current last use, or None for an empty heap."""
        while heap:
            key, seq, entry = heap[0]
            if entry.expiry_seq != seq:
                heappop(heap)
                self.items -= 1
            elif key != entry.last_used:
                self._seq += 1
                entry.expiry_seq = self._seq
                entry.expiry_key = entry.last_used
                heapreplace(heap, (entry.last_used, self._seq, entry))
            else:
                return entry
        return None

    def _compact(self) -> None:
        """Drop the stale items of every heap."""
        for heap in self._heaps.values():
            heap[:] = [item for item in heap if item[2].expiry_seq == item[1]]
            heapify(heap)
        self.items = sum(len(h) for h in self._heaps.values())
