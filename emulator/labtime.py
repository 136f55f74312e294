"""Lab time: integer nanoseconds, its units, and exact conversions.

Every time on the lab clock (``Simulator.now``, deadlines, delays, lifetimes)
is an ``int`` of nanoseconds, so that sums and comparisons are exact: an
entry scheduled at ``last_used + timeout`` is due at exactly that value, for
every value. Floats appear only at the edges, for display or for a wall
clock, through the functions here.

This module depends on nothing, so that the sans-I/O engines can use the
units without importing the simulator; ``emulator.sim.clock`` exports the
same names.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation
from fractions import Fraction

__all__ = ["NS", "US", "MS", "SECOND", "seconds", "to_seconds", "format_seconds"]

NS = 1
US = 1_000 * NS
MS = 1_000 * US
SECOND = 1_000 * MS


def seconds(value: int | float | Decimal | Fraction | str, *, allow_negative: bool = False) -> int:
    """``value`` seconds as integer nanoseconds, exactly (rounded to the nearest nanosecond).

    Takes an ``int``, a ``float`` (read as the decimal it prints as, so
    ``seconds(0.1) == 100_000_000``), a ``Decimal``, a ``Fraction`` or a
    decimal string such as ``"0.5"``, ``"61"`` or ``"1e-9"`` (parsed as a
    ``Decimal``, never through a float). NaN and infinities raise
    ``ValueError``, and so do negative values unless ``allow_negative``.
    """
    if isinstance(value, bool):
        raise TypeError(f"a number of seconds, not {value!r}")
    if isinstance(value, int):
        exact: Fraction | int = value
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"not a finite number of seconds: {value!r}")
        exact = Fraction(Decimal(repr(value)))
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"not a finite number of seconds: {value!r}")
        exact = Fraction(value)
    elif isinstance(value, Fraction):
        exact = value
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not a number of seconds: {value!r}") from None
        if not number.is_finite():
            raise ValueError(f"not a finite number of seconds: {value!r}")
        exact = Fraction(number)
    else:
        raise TypeError(f"a number of seconds, not {type(value).__name__} {value!r}")
    if exact < 0 and not allow_negative:
        raise ValueError(f"a number of seconds >= 0, not {value!r}")
    return round(exact * SECOND)


def to_seconds(ns: int) -> float:
    """Nanoseconds as float seconds: for display and wall clocks only, never for lab arithmetic."""
    return ns / SECOND


def format_seconds(ns: int, digits: int = 9) -> str:
    """Nanoseconds as seconds with ``digits`` (0-9) decimals, truncated, without a float: ``61.000000000``."""
    if not 0 <= digits <= 9:
        raise ValueError(f"digits must be 0-9, not {digits!r}")
    sign = "-" if ns < 0 else ""
    whole, frac = divmod(abs(ns), SECOND)
    if digits == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{frac // 10 ** (9 - digits):0{digits}d}"
