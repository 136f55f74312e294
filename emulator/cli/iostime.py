"""Every way IOS writes a time: uptimes, stamps, clocks and ages, from lab ns.

Without a calendar IOS counts from 00:00:00 UTC Monday March 1 1993; its
clock shows so, marked unsynchronised (``*``).
"""

from __future__ import annotations

from emulator.config.model import TimestampService
from emulator.labtime import MS, SECOND

__all__ = ["stamp", "datetime_stamp", "log_prefix", "uptime_words", "since", "clock", "minutes"]

MINUTE = 60
HOUR = 3600
DAY = 86400
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")   # March 1 1993 was a Monday


def _hms(s: int) -> str:
    return f"{s // HOUR % 24:02d}:{s // MINUTE % 60:02d}:{s % 60:02d}"


def stamp(ns: int) -> str:
    """A duration as IOS stamps it (``uptime`` log stamps, NAT and SA ages):
    ``hh:mm:ss`` below a day, then ``1d02h``, then ``1w2d``."""
    s = max(0, ns // SECOND)
    days = s // DAY
    if days == 0:
        return f"{s // HOUR:02d}:{s // MINUTE % 60:02d}:{s % 60:02d}"
    if days < 7:
        return f"{days}d{s // HOUR % 24:02d}h"
    return f"{days // 7}w{days % 7}d"


def datetime_stamp(ns: int, msec: bool = False, year: bool = False, timezone: bool = False) -> str:
    """A ``datetime`` log stamp of a time since boot: ``*Mar  1 00:01:15``; ``year`` adds
    ``1993`` after the day, ``msec`` ``.123`` after the seconds, ``timezone`` `` UTC`` (the
    clock has no other zone, so ``localtime`` changes nothing)."""
    s = ns // SECOND
    text = f"*Mar {1 + s // DAY:2d} " + ("1993 " if year else "") + _hms(s)
    if msec:
        text += f".{ns // MS % 1000:03d}"
    if timezone:
        text += " UTC"
    return text


def log_prefix(service: TimestampService | None, uptime: int) -> str:
    """What ``service timestamps`` puts before a console message logged at ``uptime`` ns."""
    if service is None:
        return ""
    if service.format == "datetime":
        options = service.options
        return datetime_stamp(uptime, "msec" in options, "year" in options, "show-timezone" in options) + ": "
    return stamp(uptime) + ": "


def uptime_words(ns: int) -> str:
    """``show version`` uptime: ``1 week, 2 days, 3 hours, 4 minutes``."""
    left = ns // SECOND // MINUTE
    parts = []
    for unit, size in (("year", 525600), ("week", 10080), ("day", 1440), ("hour", 60)):
        if left >= size:
            n, left = divmod(left, size)
            parts.append(f"{n} {unit}{'s' if n != 1 else ''}")
    parts.append(f"{left} minute{'s' if left != 1 else ''}")
    return ", ".join(parts)


def since(now: int, when: int | None) -> str:
    """``show interfaces`` "Last input" ages: ``never``, ``hh:mm:ss``, then ``1d2h``."""
    if when is None:
        return "never"
    s = (now - when) // SECOND
    if s >= DAY:
        return f"{s // DAY}d{s // HOUR % 24}h"
    return f"{s // HOUR:02d}:{s // MINUTE % 60:02d}:{s % 60:02d}"


def clock(uptime: int) -> str:
    """``show clock`` at ``uptime`` ns after boot: ``*00:01:15.123 UTC Mon Mar 1 1993``."""
    s = uptime // SECOND
    days = s // DAY
    return f"*{_hms(s)}.{uptime // MS % 1000:03d} UTC {WEEKDAYS[days % 7]} Mar {1 + days} 1993"


def minutes(ns: int) -> int:
    """Whole minutes (``show arp`` ages)."""
    return ns // SECOND // MINUTE
