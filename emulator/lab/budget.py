"""Whether a lab fits the machine: refused before booting, with the estimate and the limit, not swapped.

The estimate is ``BASE_BYTES`` plus ``DEVICE_BYTES`` a device, from a measurement: the generated
hub-and-spoke lab of 1,000 spokes (2,108 devices) peaks at 173 MiB with every tunnel up
(``benchmarks/bench_scale.py``), 38 MiB of it the interpreter and its modules: 66 KiB a device,
rounded up here to leave room for traffic and logs. The limit is the memory available now
(``MemAvailable`` of /proc/meminfo on Linux), or the process's address-space limit if lower.
"""

from __future__ import annotations

import resource
from pathlib import Path

DEVICE_BYTES = 80 * 1024
BASE_BYTES = 48 * 1024 * 1024
MEMINFO = Path("/proc/meminfo")
MIB = 1024 * 1024


class TooLarge(Exception):
    """The lab's estimate exceeds the limit: the message gives both."""


def estimate(devices: int) -> int:
    """Bytes a lab of ``devices`` devices needs, by the measurement above."""
    return BASE_BYTES + devices * DEVICE_BYTES


def available() -> int | None:
    """Bytes this process may still use: available memory, or its address-space limit if lower; None when
    neither is known."""
    limits = []
    try:
        for line in MEMINFO.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                limits.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        limits.append(soft)
    return min(limits) if limits else None


def check(devices: int, limit: int | None = None) -> None:
    """Raise TooLarge when ``devices`` devices need more than ``limit`` bytes (default: ``available()``)."""
    limit = available() if limit is None else limit
    need = estimate(devices)
    if limit is not None and need > limit:
        raise TooLarge(f"{devices} devices need about {need // MIB} MiB ({DEVICE_BYTES // 1024} KiB a device, "
                       f"measured, and {BASE_BYTES // MIB} MiB for the emulator), more than the {limit // MIB} MiB "
                       "this machine has available: fewer devices, or a machine with more memory")
