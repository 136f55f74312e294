"""EXEC commands of IKE and IPsec: show, clear and debug."""

from __future__ import annotations

from emulator.cli import crypto_debug, crypto_show
from emulator.cli.exec_commands import DEBUGS, _set_debug, exec_command
from emulator.config.grammar import CommandError

DEBUGS["crypto isakmp"] = "Crypto ISAKMP debugging is"
DEBUGS["crypto ipsec"] = "Crypto IPSEC debugging is"
DEBUGS["crypto engine"] = "Crypto Engine debugging is"


@exec_command("show crypto ipsec sa", "show crypto ipsec sa address", "show crypto ipsec sa detail",
              "show crypto ipsec sa peer <peer:ip>", "show crypto ipsec sa map <map:word>",
              "show crypto ipsec sa interface <iface:if>")
def _show_ipsec_sa(session, args):
    r = session.router
    return crypto_show.show_crypto_ipsec_sa(r.crypto, r.now, address="address" in args["_keywords"],
                                            peer=args.get("peer"), map=args.get("map"),
                                            detail="detail" in args["_keywords"], interface=args.get("iface"))


@exec_command("show crypto isakmp sa")
def _show_isakmp_sa(session, args):
    return crypto_show.show_crypto_isakmp_sa(session.router.crypto, session.router.now)


@exec_command("show crypto call admission statistics")
def _show_call_admission(session, args):
    return crypto_show.show_crypto_call_admission_statistics(session.router.crypto)


@exec_command("show crypto isakmp policy")
def _show_isakmp_policy(session, args):
    return crypto_show.show_crypto_isakmp_policy(session.router.crypto)


@exec_command("show crypto map", "show crypto map interface <iface:if>", "show crypto map tag <tag:word>")
def _show_crypto_map(session, args):
    return crypto_show.show_crypto_map(session.router.crypto, interface=args.get("iface"), tag=args.get("tag"))


@exec_command("show crypto ipsec transform-set", "show crypto ipsec transform-set tag <name:word>")
def _show_transform_set(session, args):
    return crypto_show.show_crypto_ipsec_transform_set(session.router.crypto, args.get("name"))


@exec_command("show crypto engine connections active")
def _show_engine(session, args):
    return crypto_show.show_crypto_engine_connections_active(session.router.crypto)


@exec_command("show crypto ipsec security-association lifetime")
def _show_lifetime(session, args):
    return crypto_show.show_crypto_ipsec_sa_lifetime(session.router.crypto)


@exec_command("clear crypto sa", "clear crypto sa peer <peer:ip>", "clear crypto sa map <map:word>",
              "clear crypto sa counters", privileged=True)
def _clear_sa(session, args):
    r = session.router
    r.crypto.clear_crypto_sa(r.now, peer=args.get("peer"), map=args.get("map"),
                             counters="counters" in args["_keywords"])
    r.crypto_binding.poke()
    return ""


@exec_command("clear crypto isakmp", "clear crypto isakmp <conn:1-32766>", privileged=True)
def _clear_isakmp(session, args):
    r = session.router
    found = r.crypto.clear_crypto_isakmp(r.now, args.get("conn"))
    r.crypto_binding.poke()
    if not found:
        raise CommandError("invalid", "", -1)
    return ""


@exec_command("debug crypto <what:isakmp|ipsec|engine>", "no debug crypto <what:isakmp|ipsec|engine>",
              "undebug crypto <what:isakmp|ipsec|engine>", privileged=True)
def _debug_crypto(session, args):
    on = not ({"no", "undebug"} & set(args["_keywords"]))
    session.router.crypto_trace_renderer = crypto_debug.render
    return _set_debug(session, f"crypto {args['what']}", on)
