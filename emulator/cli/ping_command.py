"""The ping command: one-line forms and the interactive extended ping dialog.

Both end in a job (``emulator.sim.jobs``) that prints each echo's character as the echo ends.
"""

from __future__ import annotations

import re
from contextlib import closing
from ipaddress import IPv4Address
from typing import Any

from emulator.cli.exec_commands import exec_command
from emulator.config.grammar import CommandError, canonical_interface, tokenize
from emulator.device.ping import PingResult, Sweep, echoes
from emulator.labtime import SECOND
from emulator.sim.jobs import Interrupted, Job, Steps, Wait

LINE_CHARS = 70
UNRECOGNIZED = "% Unrecognized host or address, or protocol not running.\n"
_IP = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")


def _address(text: str) -> IPv4Address | None:
    if not _IP.match(text):
        return None
    try:
        return IPv4Address(text)
    except ValueError:
        return None


def _resolve_source(router, text: str) -> IPv4Address | str:
    """An address or interface of this device, or IOS's complaint."""
    addr = _address(text)
    if addr is None:
        name = canonical_interface(text)
        if name is None or name not in router.config.interfaces:
            return "% Invalid source interface - use full name without spaces (e.g. Serial0)\n"
        addr = router.source_address_for(name)
        if addr is None or not router.protocol_up(name):
            return f"% Invalid source interface - {name} has no address or is down\n"
        return addr
    if not router.is_local(addr):
        return "% Invalid source address- IP address not on any of our up interfaces\n"
    return addr


def run(session, target: IPv4Address, count: int, size: int, timeout: int, source=None,
        df: bool = False, pattern: int = 0xABCD, tos: int = 0, sweep: Sweep | None = None) -> Job:
    """The ping as a job: its header at once, each echo's character as the echo ends, the summary.

    With a ``sweep``, ``count`` is the repeat count of each size: IOS sends ``count`` times the
    sweep's sizes and names the range in place of the size.

    Broken off (``Interrupted``), it ends the line of characters and prints the summary of the
    echoes that ended, as IOS does after its escape sequence.
    """
    if sweep is not None:
        count *= sweep.sizes
    return Job(_ping_steps(session, target, count, size, timeout, source, df, pattern, tos, sweep))


def _ping_steps(session, target, count, size, timeout, source, df, pattern, tos, sweep) -> Steps:
    sizes = f"[{sweep.low}..{sweep.high}]" if sweep is not None else str(size)
    head = ["Type escape sequence to abort.\n",
            f"Sending {count}, {sizes}-byte ICMP Echos to {target}, timeout is {timeout} seconds:\n"]
    if source is not None:
        head.append(f"Packet sent with a source address of {source}\n")
    if df:
        head.append("Packet sent with the DF bit set\n")
    yield "".join(head)
    result = PingResult()
    with closing(echoes(session.router, target, result, count, size, timeout * SECOND, source, df,
                        pattern, tos, sweep)) as steps:
        try:
            for item in steps:
                if isinstance(item, Wait):
                    yield item
                else:                                   # IOS wraps the characters at 70 a line
                    yield item + ("\n" if result.sent % LINE_CHARS == 0 else "")
        except Interrupted:
            pass
    yield ("\n" if result.sent % LINE_CHARS else "") + _summary(result)


def _summary(result: PingResult) -> str:
    percent = 100 * result.received // result.sent if result.sent else 0
    line = f"Success rate is {percent} percent ({result.received}/{result.sent})"
    if result.rtt_min is not None:
        line += f", round-trip min/avg/max = {result.rtt_min}/{result.rtt_avg}/{result.rtt_max} ms"
    return line + "\n"


_OPTIONS = {"repeat": (1, 2147483647), "size": (36, 18024), "timeout": (0, 3600), "source": None,
            "df-bit": None, "tos": (0, 255), "data": None}


@exec_command("ping <target:word>", "ping ip <target:word>", "ping <target:word> <options:line>",
              "ping ip <target:word> <options:line>")
def _ping_line(session, args):
    line = args["_line"]
    words = tokenize(line)
    target_index = 2 if "ip" in args["_keywords"] else 1
    target = _address(args["target"])
    if target is None:
        return UNRECOGNIZED
    opts: dict[str, Any] = {"repeat": 5, "size": 100, "timeout": 2, "source": None, "df-bit": False, "tos": 0,
                            "data": 0xABCD}
    i = target_index + 1
    while i < len(words):
        word = words[i].text.lower()
        names = [n for n in _OPTIONS if n.startswith(word)]
        if len(names) != 1:
            raise CommandError("invalid", line, words[i].start)
        name = names[0]
        if name == "df-bit":
            opts[name] = True
            i += 1
            continue
        if i + 1 >= len(words):
            raise CommandError("incomplete", line, len(line))
        value = words[i + 1].text
        if name == "source":
            src = _resolve_source(session.router, value)
            if isinstance(src, str):
                return src
            opts[name] = src
        elif name == "data":
            try:
                opts[name] = int(value, 16) & 0xFFFF
            except ValueError:
                raise CommandError("invalid", line, words[i + 1].start) from None
        else:
            bounds = _OPTIONS[name]
            assert bounds is not None, f"ping option {name} takes a number"
            lo, hi = bounds
            if not value.isdigit() or not lo <= int(value) <= hi:
                raise CommandError("invalid", line, words[i + 1].start)
            opts[name] = int(value)
        i += 2
    return run(session, target, opts["repeat"], opts["size"], opts["timeout"], opts["source"],
               opts["df-bit"], opts["data"], opts["tos"])


def _number(answer: str, default: int, lo: int, hi: int) -> int | str:
    if not answer.strip():
        return default
    if answer.strip().isdigit() and lo <= int(answer) <= hi:
        return int(answer)
    return f"% A decimal number between {lo} and {hi}.\n"


def _yes(answer: str, default: bool) -> bool:
    a = answer.strip().lower()
    return default if not a else a.startswith("y")


@exec_command("ping", privileged=True)
def _ping_dialog(session, args):
    """The extended ping dialog; Enter takes the default in brackets."""
    protocol = yield ("", "Protocol [ip]: ")
    if protocol.strip() and not "ip".startswith(protocol.strip().lower()):
        return f'% Unknown protocol - "{protocol.strip()}", type "ping ?" for help\n'
    answer = yield ("", "Target IP address: ")
    target = _address(answer.strip())
    if target is None:
        return "% Bad IP address\n"
    values = {}
    for key, question, default, lo, hi in (("count", "Repeat count [5]: ", 5, 1, 2147483647),
                                           ("size", "Datagram size [100]: ", 100, 36, 18024),
                                           ("timeout", "Timeout in seconds [2]: ", 2, 0, 3600)):
        value = _number((yield ("", question)), default, lo, hi)
        if isinstance(value, str):
            return value
        values[key] = value
    source, df, pattern, tos = None, False, 0xABCD, 0
    if _yes((yield ("", "Extended commands [n]: ")), False):
        answer = (yield ("", "Source address or interface: ")).strip()
        if answer:
            source = _resolve_source(session.router, answer)
            if isinstance(source, str):
                return source
        service = _number((yield ("", "Type of service [0]: ")), 0, 0, 255)
        if isinstance(service, str):
            return service
        tos = service
        df = _yes((yield ("", "Set DF bit in IP header? [no]: ")), False)
        yield ("", "Validate reply data? [no]: ")
        answer = (yield ("", "Data pattern [0xABCD]: ")).strip()
        if answer:
            try:
                pattern = int(answer, 16) & 0xFFFF
            except ValueError:
                return "% Invalid data pattern\n"
        answer = (yield ("", "Loose, Strict, Record, Timestamp, Verbose[none]: ")).strip()
        if answer:
            # The emulated routers neither record routes nor stamp times into IP options: the ping is refused.
            return f"% {answer}: Loose, Strict, Record, Timestamp and Verbose cannot be sent from this device\n"
    sweep = None
    if _yes((yield ("", "Sweep range of sizes [n]: ")), False):
        sweep = yield from _sweep_questions()
        if isinstance(sweep, str):
            return sweep
    return run(session, target, values["count"], values["size"], values["timeout"], source, df, pattern, tos,
               sweep)


def _sweep_questions():
    """The sweep's questions (a part of the dialog): the Sweep, or IOS's complaint about an answer."""
    low = _number((yield ("", "Sweep min size [36]: ")), 36, 36, 18024)
    if isinstance(low, str):
        return low
    high = _number((yield ("", "Sweep max size [18024]: ")), 18024, low, 18024)
    if isinstance(high, str):
        return high
    step = _number((yield ("", "Sweep interval [1]: ")), 1, 1, high - low if high > low else 1)
    if isinstance(step, str):
        return step
    return Sweep(low, high, step)
