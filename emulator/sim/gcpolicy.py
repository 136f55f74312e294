"""Cyclic garbage collection while labs are open.

A lab is a large graph of long-lived objects (devices, their configurations and tables, SAs)
with almost no reference cycles: booting a generated 1,000-spoke lab and bringing its tunnels
up, the collector frees about 500 objects in all, every one from the youngest generation.
CPython's full collection scans every tracked object, and it runs whenever the middle
generation has been collected 10 times and the old one has grown by a quarter; a lab that
grows to millions of objects pays for scan after scan that frees nothing (about a quarter of
that lab's wall time, ``benchmarks/bench_scale.py``). While any lab is open, a full collection
waits for ``OLDEST`` collections of the middle generation instead (the quarter-growth
condition still applies, so cyclic garbage is still freed in a long run); the thresholds the
process had come back when the last open lab closes.
"""

from __future__ import annotations

import gc
import threading

__all__ = ["OLDEST", "lab_opened", "lab_closed", "labs_open"]

OLDEST = 1000           # middle-generation collections between two full collections

_lock = threading.Lock()
_open = 0
_saved: tuple[int, ...] | None = None


def lab_opened() -> None:
    """A lab was created: defer full collections (the first open lab saves the process's thresholds)."""
    global _open, _saved
    with _lock:
        if _open == 0:
            _saved = gc.get_threshold()
            young, middle, oldest = _saved
            gc.set_threshold(young, middle, max(oldest, OLDEST))
        _open += 1


def lab_closed() -> None:
    """A lab was closed: the last one gives the process its thresholds back."""
    global _open, _saved
    with _lock:
        if _open == 0:
            return
        _open -= 1
        if _open == 0 and _saved is not None:
            gc.set_threshold(*_saved)
            _saved = None


def labs_open() -> int:
    with _lock:
        return _open
