"""EXEC commands of access lists, route-maps and NAT: show, clear and debug."""

from __future__ import annotations

from emulator.cli import acl_show, nat_show
from emulator.cli.exec_commands import DEBUGS, _set_debug, exec_command

DEBUGS["ip nat"] = "IP NAT debugging is"
DEBUGS["ip nat detailed"] = "IP NAT detailed debugging is"


@exec_command("show access-lists [<name:word>]", "show ip access-lists [<name:word>]")
def _show_acl(session, args):
    name = args.get("name")
    if name is not None and name not in session.router.config.access_lists:
        return ""
    return acl_show.show_access_lists(session.router.acl, name)


@exec_command("clear access-list counters [<name:word>]", "clear ip access-list counters [<name:word>]",
              privileged=True)
def _clear_acl(session, args):
    name = args.get("name")
    if not session.router.acl.clear_counters(name) and name is not None:
        return f"% Access-list {name} not found\n"
    return ""


@exec_command("show route-map [<name:word>]")
def _show_route_map(session, args):
    return acl_show.show_route_map(session.router.acl, args.get("name"))


@exec_command("show ip nat translations [verbose]")
def _show_nat(session, args):
    return nat_show.show_translations(session.router.nat, session.router.now, verbose="verbose" in args["_keywords"])


@exec_command("show ip nat statistics")
def _show_nat_stats(session, args):
    return nat_show.show_statistics(session.router.nat)


@exec_command("clear ip nat translation *", privileged=True)
def _clear_nat_all(session, args):
    session.router.nat.clear_all()
    session.router.nat_binding.poke()
    return ""


@exec_command("clear ip nat translation inside <g:ip> <l:ip> [outside <ol:ip> <og:ip>]", privileged=True)
def _clear_nat_inside(session, args):
    session.router.nat.clear_inside(args["g"], args["l"], args.get("ol"), args.get("og"))
    session.router.nat_binding.poke()
    return ""


@exec_command("clear ip nat translation <proto:tcp|udp> inside <g:ip> <gp:1-65535> <l:ip> <lp:1-65535> "
              "[outside <ol:ip> <olp:1-65535> <og:ip> <ogp:1-65535>]", privileged=True)
def _clear_nat_extended(session, args):
    session.router.nat.clear_extended(args["proto"], args["g"], args["gp"], args["l"], args["lp"],
                                      args.get("ol"), args.get("olp"), args.get("og"), args.get("ogp"))
    session.router.nat_binding.poke()
    return ""


@exec_command("clear ip nat statistics", privileged=True)
def _clear_nat_stats(session, args):
    session.router.nat.clear_statistics()
    return ""


@exec_command("debug ip nat [detailed]", "no debug ip nat [detailed]", "undebug ip nat [detailed]",
              privileged=True)
def _debug_nat(session, args):
    on = not ({"no", "undebug"} & set(args["_keywords"]))
    name = "ip nat detailed" if "detailed" in args["_keywords"] else "ip nat"
    return _set_debug(session, name, on)

