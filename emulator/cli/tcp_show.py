"""``show tcp brief [all]``: the device's TCP connections, one line each, as IOS 12.2 lists them.

The columns are IOS's (TCB, local and foreign address each written
ADDRESS.PORT, the state abbreviated); the TCB is the connection's control
block address, here a stable number per device and connection. ``all``
adds the ports the device listens on (``*.23``, foreign ``*.*``, LISTEN).
"""

from __future__ import annotations

import hashlib

from emulator.cli.exec_commands import exec_command
from emulator.device.tcp import SERVICES

__all__ = ["STATE_NAMES", "tcp_brief"]

STATE_NAMES = {
    "SYN_SENT": "SYNSENT", "SYN_RCVD": "SYNRCVD", "ESTABLISHED": "ESTAB", "FIN_WAIT_1": "FINWAIT1",
    "FIN_WAIT_2": "FINWAIT2", "CLOSE_WAIT": "CLOSEWAIT", "CLOSING": "CLOSING", "LAST_ACK": "LASTACK",
    "TIME_WAIT": "TIMEWAIT",
}
HEADER = "TCB       Local Address           Foreign Address        (state)"


def _tcb_address(router, key: str) -> str:
    """A control block address in the 2500's DRAM range, fixed by the lab seed, the device and ``key``."""
    digest = hashlib.sha256(f"{router.seed}/{router.name}/{router.generation}/tcb/{key}".encode()).digest()
    return f"{0x00200000 + (int.from_bytes(digest[:3], 'big') & ~3):08X}"


def tcp_brief(router, listening: bool = False) -> str:
    rows = [HEADER]
    for tcb in sorted(router.tcp.engine.connections(), key=lambda t: t.conn):
        local = f"{tcb.local[0]}.{tcb.local[1]}"
        foreign = f"{tcb.remote[0]}.{tcb.remote[1]}"
        rows.append(f"{_tcb_address(router, str(tcb.conn))}  {local:<23} {foreign:<22} "
                    f"{STATE_NAMES.get(tcb.state, tcb.state)}")
    if listening:
        for port in sorted(SERVICES):
            rows.append(f"{_tcb_address(router, f'listen {port}')}  {f'*.{port}':<23} {'*.*':<22} LISTEN")
    return "\n".join(rows) + "\n"


@exec_command("show tcp brief", "show tcp brief all")
def _show_tcp_brief(session, args):
    return tcp_brief(session.router, listening="all" in args["_keywords"])
