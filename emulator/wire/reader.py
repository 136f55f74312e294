"""Bounds-checked sequential reading of a byte string, for the decoders.

Every read first checks the bytes left, so short input ends in a
:class:`DecodeError` that names the structure being read, the field (when
given) and the offset, never in ``IndexError`` or ``struct.error``::

    r = Reader(data, "header", "udp")
    sport, dport, length, checksum = r.unpack(_HDR)
    payload = r.rest()

Offsets in messages are relative to the start of ``data``.
"""

from __future__ import annotations

import struct
from typing import Any, Callable

from emulator.wire.errors import DecodeError

__all__ = ["Reader"]

_U16 = struct.Struct("!H")
_U32 = struct.Struct("!I")


class Reader:
    """Read big-endian integers and byte strings from ``data``, front to back.

    ``what`` names the structure (``"header"``, ``"SA payload"``) and
    ``layer`` the codec, as in ``DecodeError(layer, reason)``.  ``error``
    replaces the exception factory (it receives the reason text); ISAKMP uses
    it to attach the notify type a receiver would answer with.
    """

    __slots__ = ("data", "what", "layer", "pos", "_error")

    def __init__(self, data: bytes, what: str, layer: str = "wire",
                 error: Callable[[str], DecodeError] | None = None):
        self.data = data
        self.what = what
        self.layer = layer
        self.pos = 0
        self._error = error

    @property
    def remaining(self) -> int:
        """Bytes not read yet."""
        return len(self.data) - self.pos

    def error(self, reason: str) -> DecodeError:
        """The exception to raise for ``reason`` (the caller raises it)."""
        if self._error is not None:
            return self._error(reason)
        return DecodeError(self.layer, reason)

    def _short(self, n: int, field: str | None) -> DecodeError:
        reading = f" reading {field}" if field else ""
        return self.error(f"{self.what} truncated at offset {self.pos}{reading}: "
                          f"need {n} byte{'' if n == 1 else 's'}, have {len(self.data) - self.pos}")

    def need(self, n: int, field: str | None = None) -> None:
        """Fail unless at least ``n`` more bytes are present."""
        if len(self.data) - self.pos < n:
            raise self._short(n, field)

    def u8(self, field: str | None = None) -> int:
        pos = self.pos
        if pos >= len(self.data):
            raise self._short(1, field)
        self.pos = pos + 1
        return self.data[pos]

    def u16(self, field: str | None = None) -> int:
        pos = self.pos
        if len(self.data) - pos < 2:
            raise self._short(2, field)
        self.pos = pos + 2
        value: int = _U16.unpack_from(self.data, pos)[0]
        return value

    def u32(self, field: str | None = None) -> int:
        pos = self.pos
        if len(self.data) - pos < 4:
            raise self._short(4, field)
        self.pos = pos + 4
        value: int = _U32.unpack_from(self.data, pos)[0]
        return value

    def unpack(self, fmt: struct.Struct, field: str | None = None) -> tuple[Any, ...]:
        """Several fixed-size fields at once, in the byte order ``fmt`` declares."""
        pos = self.pos
        if len(self.data) - pos < fmt.size:
            raise self._short(fmt.size, field)
        self.pos = pos + fmt.size
        return fmt.unpack_from(self.data, pos)

    def take(self, n: int, field: str | None = None) -> bytes:
        """The next ``n`` bytes."""
        pos = self.pos
        if n < 0 or len(self.data) - pos < n:
            raise self._short(n, field)
        self.pos = pos + n
        return bytes(self.data[pos:pos + n])

    def rest(self) -> bytes:
        """All bytes not read yet (possibly none)."""
        pos = self.pos
        self.pos = len(self.data)
        return bytes(self.data[pos:])
