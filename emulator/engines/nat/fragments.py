"""The translation of a fragmented datagram, kept for its non-initial fragments.

Only the first fragment carries the ports that pick a translation; the
others are translated to the address the first one got, found by the
datagram's identity (RFC 791: source, destination, protocol and
identification), kept for :data:`~emulator.engines.nat.timeouts.FRAGMENT_HOLD`.
"""

from __future__ import annotations

from typing import NamedTuple

from emulator.engines.nat.timeouts import FRAGMENT_HOLD

__all__ = ["FragmentKey", "HeldFragments"]


class FragmentKey(NamedTuple):
    outbound: bool
    protocol: int
    src: bytes
    dst: bytes
    ident: int


class HeldFragments:
    """Datagram identity -> (new address, held until), in the order they were remembered."""

    __slots__ = ("held",)

    def __init__(self) -> None:
        self.held: dict[FragmentKey, tuple[bytes, int]] = {}

    def __len__(self) -> int:
        return len(self.held)

    def remember(self, key: FragmentKey, new: bytes, now: int) -> None:
        self.held.pop(key, None)          # re-inserted at the end: the dict stays in deadline order
        self.held[key] = (new, now + FRAGMENT_HOLD)

    def lookup(self, key: FragmentKey, now: int) -> bytes | None:
        """The address for a fragment of ``key``, None when none is held (or it ran out)."""
        held = self.held.get(key)
        return held[0] if held is not None and now < held[1] else None

    def expire(self, now: int) -> None:
        """Forget the datagrams held until ``now`` or earlier."""
        held = self.held
        while held:
            key = next(iter(held))
            if now < held[key][1]:
                break
            del held[key]
