"""EXEC-mode commands (user and privileged) and the errors IOS prints for bad ones."""

from __future__ import annotations

from typing import Callable

from emulator.cli import show, show_interfaces
from emulator.cli.show_routes import show_ip_route, show_ip_route_address
from emulator.config.grammar import CommandError, Grammar, tokenize
from emulator.config.render import interface_config, running_config
from emulator.config.secrets import secret_matches
from emulator.labtime import SECOND

USER = Grammar("user-exec")
PRIVILEGED = Grammar("privileged-exec")


def exec_command(*specs: str, privileged: bool = False) -> Callable:
    """Register a handler ``(session, args) -> str | dialog`` for EXEC mode."""
    def register(fn):
        for spec in specs:
            PRIVILEGED.add(spec, fn)
            if not privileged:
                USER.add(spec, fn)
        return fn
    return register


# A lone word at EXEC that names a host: ``(session, word) -> Job`` of the telnet to it, or None
# (set by ``emulator.cli.telnet_client``).
HOST_CONNECT: Callable | None = None


def unknown_command(session, line: str, err: CommandError, width: int):
    """IOS's answer to a line no EXEC command matches."""
    tokens = tokenize(line)
    if err.kind == "invalid" and err.column == tokens[0].start and len(tokens) == 1:
        # A lone unknown word is taken as a host name to connect to.
        word = tokens[0].text
        connect = HOST_CONNECT(session, word) if HOST_CONNECT is not None else None
        if connect is not None:
            return connect
        if session.router.config.domain_lookup is False:
            return (f'Translating "{word}"\n'
                    "% Unknown command or computer name, or unable to find computer address\n")
        return (f'Translating "{word}"...domain server (255.255.255.255)\n'
                "% Unknown command or computer name, or unable to find computer address\n")
    if err.kind == "incomplete" and len(tokens) == 1 and "show".startswith(tokens[0].text.lower()):
        return '% Type "show ?" for a list of subcommands\n'
    return err.render(width) + ("\n" if err.kind != "ambiguous" else "")


# ---------------------------------------------------------------- modes and terminal

@exec_command("enable")
def _enable(session, args):
    secret = session.router.config.enable_secret or session.router.config.enable_password
    if session.privileged or (secret is None and session.line == "console"):
        session.privileged = True
        return ""
    if secret is None:
        # IOS refuses enable on a vty line when no enable password is set.
        return "% No password set\n"
    return _enable_dialog(session, secret)


def _enable_dialog(session, secret: str):
    for _ in range(3):
        answer = yield ("", "Password: ")
        if secret_matches(secret, answer):
            session.privileged = True
            return ""
    return "% Bad secrets\n\n"


@exec_command("disable", privileged=True)
def _disable(session, args):
    session.privileged = False
    return ""


@exec_command("exit", "logout", "quit")
def _exit(session, args):
    session.close()
    return ""


@exec_command("configure terminal", privileged=True)
def _configure_terminal(session, args):
    return session.enter_config()


@exec_command("configure", privileged=True)
def _configure(session, args):
    answer = yield ("", "Configuring from terminal, memory, or network [terminal]? ")
    word = answer.strip().lower()
    if word and "memory".startswith(word):
        return configure_memory(session)
    if word and not "terminal".startswith(word):
        return "?Must be \"terminal\", \"memory\" or \"network\"\n"
    return session.enter_config()


def configure_memory(session) -> str:
    """``configure memory``: the startup configuration merged into the running one; IOS logs
    ``%SYS-5-CONFIG_M``. The lines the startup configuration has that IOS refuses are printed."""
    refused = session.router.merge_startup()
    by = "console" if session.line == "console" else session.line.split()[0]
    session.router.log(f"%SYS-5-CONFIG_M: Configured from memory by {by}")
    return "".join(f"{line}\n" for line in refused)


@exec_command("terminal history size <n:0-256>")
def _terminal_history_size(session, args):
    session.set_history_size(args["n"])
    return ""


@exec_command("show users")
def _show_users(session, args):
    return show.users(session.router, session)


@exec_command("show history")
def _show_history(session, args):
    return "".join(f"  {line}\n" for line in session.history)


@exec_command("terminal length <n:0-512>", "terminal width <n:0-512>")
def _terminal_size(session, args):
    if "length" in args["_keywords"]:
        session.terminal_length = args["n"]
    else:
        session.terminal_width = args["n"]
    return ""


@exec_command("terminal monitor", "terminal no monitor", "no terminal monitor")
def _terminal_monitor(session, args):
    session.monitor = "no" not in args["_keywords"]
    return ""


# ---------------------------------------------------------------- configuration files

@exec_command("write memory", "write", privileged=True)
def _write(session, args):
    session.router.save_startup()
    return "Building configuration...\n[OK]\n"


@exec_command("copy running-config startup-config", privileged=True)
def _copy_run_start(session, args):
    answer = yield ("", "Destination filename [startup-config]? ")
    if answer.strip() not in ("", "startup-config"):
        return f"%Error opening nvram:{answer.strip()} (Permission denied)\n"
    session.router.save_startup()
    return "Building configuration...\n[OK]\n"


# IOS 12.2 on a 2500 is back at its prompt about a minute after ``reload`` (ROM monitor, flash
# image decompression, boot): the emulated device takes that long too.
RELOAD_BOOT_NS = 60 * SECOND


@exec_command("reload", privileged=True)
def _reload(session, args):
    router = session.router
    output = ""
    if router.startup_differs():
        while True:
            answer = (yield (output, "System configuration has been modified. Save? [yes/no]: ")).strip().lower()
            output = ""
            if answer and "yes".startswith(answer):
                router.save_startup()
                output = "Building configuration...\n[OK]\n"
                break
            if answer and "no".startswith(answer):
                break
            output = "% Please answer 'yes' or 'no'.\n"
    answer = yield (output, "Proceed with reload? [confirm]")
    if answer.strip() and not answer.strip().lower().startswith("y"):
        return "\n"
    router.reload(RELOAD_BOOT_NS)
    return "\n"


# ---------------------------------------------------------------- show

@exec_command("show version")
def _show_version(session, args):
    return show.version(session.router)


@exec_command("show running-config", privileged=True)
def _show_run(session, args):
    return running_config(session.router.config, session.router.platform.train)


@exec_command("show running-config interface <iface:if>", privileged=True)
def _show_run_interface(session, args):
    name = args["iface"]
    if name not in session.router.config.interfaces:
        raise CommandError("invalid", "", -1)
    return interface_config(session.router.config, name, session.router.platform.train)


@exec_command("show startup-config", privileged=True)
def _show_start(session, args):
    return show.startup_config(session.router)


@exec_command("show interfaces [<iface:if>]")
def _show_interfaces(session, args):
    return show_interfaces.interfaces(session.router, args.get("iface"))


@exec_command("show ip interface brief")
def _show_ip_int_brief(session, args):
    return show_interfaces.ip_interface_brief(session.router)


@exec_command("show clock")
def _show_clock(session, args):
    return show.clock(session.router)


@exec_command("show ip route")
def _show_ip_route(session, args):
    return show_ip_route(session.router)


@exec_command("show ip route <addr:ip>")
def _show_ip_route_address(session, args):
    return show_ip_route_address(session.router, args["addr"])


@exec_command("show arp", "show ip arp")
def _show_arp(session, args):
    return show_interfaces.arp(session.router)


@exec_command("clear counters [<iface:if>]", privileged=True)
def _clear_counters(session, args):
    name = args.get("iface")
    if name is not None and name not in session.router.config.interfaces:
        raise CommandError("invalid", "", -1)
    question = ('Clear "show interface" counters on this interface [confirm]' if name
                else 'Clear "show interface" counters on all interfaces [confirm]')
    answer = yield ("", question)
    if answer.strip() and not answer.strip().lower().startswith("y"):
        return ""
    session.router.clear_counters(name)
    by = "console" if session.line == "console" else session.line
    where = f"interface {name}" if name else "all interfaces"
    session.router.log(f"%CLEAR-5-COUNTERS: Clear counter on {where} by {by}")
    return "\n"


# ---------------------------------------------------------------- debug

DEBUGS = {
    "ppp negotiation": "PPP protocol negotiation debugging is",
}


@exec_command("debug ppp negotiation", "no debug ppp negotiation", "undebug ppp negotiation", privileged=True)
def _debug_ppp(session, args):
    on = not ({"no", "undebug"} & set(args["_keywords"]))
    return _set_debug(session, "ppp negotiation", on)


@exec_command("undebug all", "no debug all", privileged=True)
def _undebug_all(session, args):
    session.router.debugs.clear()
    return "All possible debugging has been turned off\n"


@exec_command("show debugging")
def _show_debugging(session, args):
    out = []
    debugs = session.router.debugs
    if "ppp negotiation" in debugs:
        out += ["PPP:", "  PPP protocol negotiation debugging is on"]
    crypto = [name for name in ("crypto isakmp", "crypto ipsec", "crypto engine") if name in debugs]
    if crypto:
        out += ["Cryptographic Subsystem:"] + [f"  {DEBUGS[name]} on" for name in crypto]
    if "ip packet" in debugs:
        out += ["Generic IP:", "  IP packet debugging is on"]
    if "ip nat" in debugs or "ip nat detailed" in debugs:
        out += ["IP NAT:", "  IP NAT debugging is on" if "ip nat detailed" not in debugs
                else "  IP NAT detailed debugging is on"]
    return "".join(line + "\n" for line in out)


def _set_debug(session, name: str, on: bool) -> str:
    if on:
        session.router.debugs.add(name)
    else:
        session.router.debugs.discard(name)
    return f"{DEBUGS[name]} {'on' if on else 'off'}\n"
