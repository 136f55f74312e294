"""Deadlines in a heap of ``(when, key, item)`` whose stale entries are dropped as they come up: an item
that ended or moved its deadline leaves its old entry behind, and ``live(when, item)`` tells."""

from __future__ import annotations

import heapq
from typing import Callable, Iterator, TypeVar

__all__ = ["earliest", "take_due"]

T = TypeVar("T")


def earliest(heap: list[tuple[int, int, T]], live: Callable[[int, T], bool]) -> int | None:
    """The earliest live deadline (stale entries on top are dropped), or None."""
    while heap:
        when, _, item = heap[0]
        if live(when, item):
            return when
        heapq.heappop(heap)
    return None


def take_due(heap: list[tuple[int, int, T]], now: int, live: Callable[[int, T], bool]) -> Iterator[tuple[int, T]]:
    """``(key, item)`` of each live entry due at or before ``now``, taken off the heap in deadline order."""
    while heap and heap[0][0] <= now:
        when, key, item = heapq.heappop(heap)
        if live(when, item):
            yield key, item
