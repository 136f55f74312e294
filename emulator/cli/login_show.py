"""``show login``: the login delay and the ``login block-for`` watch, as IOS 12.3(4)T prints them."""

from __future__ import annotations

from emulator.cli.exec_commands import exec_command
from emulator.device.logins import DEFAULT_LOGIN_DELAY

INDENT = "     "


def show_login(router) -> str:
    watch = router.logins
    configured = router.config.login_delay
    lines = [f"A login delay of {configured} seconds is applied." if configured is not None
             else f"A default login delay of {DEFAULT_LOGIN_DELAY} seconds is applied.",
             "No Quiet-Mode access list has been configured.", ""]
    block = watch.block
    if block is None:
        lines.append("Router NOT enabled to watch for login Attacks")
    else:
        quiet, attempts, window = block
        lines += ["Router enabled to watch for login Attacks.",
                  f"If more than {attempts} login failures occur in {window} seconds or less, "
                  f"logins will be disabled for {quiet} seconds.", ""]
        if watch.quiet():
            lines += [f"Router presently in Quiet-Mode, will remain in Quiet-Mode for {watch.quiet_left()} seconds.",
                      "Denying logins from all sources."]
        else:
            lines += [f"Router presently in Watch-Mode, will remain in Watch-Mode for {watch.watch_left()} seconds.",
                      f"Present login failure count {len(watch.watching())}."]
    return "".join((INDENT + line if line else "") + "\n" for line in lines) + "\n"


@exec_command("show login", privileged=True)
def _show_login(session, args):
    return show_login(session.router)


__all__ = ["show_login"]
