"""Inside-source NAT (IOS 12.2): the engine facade and what it hands out.

Modules: ``engine`` (the :class:`NatEngine` facade: packet paths, rules,
clearing, statistics), ``table`` (entries and their indexes), ``ports``
(global ports and addresses), ``timeouts`` (kinds, deadlines, the expiry
queue), ``rewrite`` (addresses, ports and checksums of a translated packet),
``fragments`` and ``result``.
"""

from emulator.engines.nat.engine import NatEngine, address_bytes
from emulator.engines.nat.ports import PORT_GROUPS
from emulator.engines.nat.result import DROP, TRANSLATED, UNTOUCHED, NatResult, NatTrace
from emulator.engines.nat.table import InsideKey, NatEntry, NatTable, OutsideKey
from emulator.engines.nat.timeouts import DEFAULT_TIMEOUTS, TimeoutKind

__all__ = [
    "NatEngine", "NatEntry", "NatResult", "NatTrace", "NatTable", "InsideKey", "OutsideKey",
    "TRANSLATED", "UNTOUCHED", "DROP", "DEFAULT_TIMEOUTS", "PORT_GROUPS", "TimeoutKind",
    "address_bytes",
]
