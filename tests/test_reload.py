"""``reload``: the save and confirm dialogs, a reboot from the startup configuration, the startup
configuration kept in IOS's saved form from the first boot."""

import pytest

from emulator.cli.exec_commands import RELOAD_BOOT_NS
from emulator.cli.session import CliSession, SessionClosed
from emulator.lab.labfile import Lab
from emulator.labtime import SECOND
from support import DOC_LAB


@pytest.fixture
def lab():
    return Lab.from_file(DOC_LAB)


def console(lab, name="dr_whoovie"):
    return CliSession(lab.device(name), privileged=True, line="console")


def test_startup_config_is_the_saved_form_not_the_file(lab):
    text = console(lab).execute("show startup-config")
    first, body = text.split("\n", 1)
    assert first == f"Using {len(body.encode())} out of 32762 bytes"
    # The document's "!---" annotations are comments of the file, not configuration IOS keeps.
    assert "!---" not in body and "\nhostname dr_whoovie\n" in body
    assert body.endswith("\nend\n")
    # The lab's extra configuration (enable secret) is part of what the device saved.
    assert "\nenable secret 5 $1$" in body
    running = console(lab).execute("show running-config")
    assert running[running.index("!\nversion"):] == body[body.index("!\nversion"):]


def test_reload_asks_to_save_a_modified_configuration(lab):
    con = console(lab)
    assert con.execute("reload") == ""
    assert con.prompt == "Proceed with reload? [confirm]"      # nothing changed: no save question
    assert con.execute("n") == "\n" and con.prompt == "dr_whoovie#"
    con.configure_lines(["hostname renamed"])
    assert con.execute("reload") == ""
    assert con.prompt == "System configuration has been modified. Save? [yes/no]: "
    assert con.execute("perhaps") == "% Please answer 'yes' or 'no'.\n"
    assert con.prompt == "System configuration has been modified. Save? [yes/no]: "
    assert con.execute("y") == "Building configuration...\n[OK]\n"
    assert con.prompt == "Proceed with reload? [confirm]"
    con.execute("n")
    assert "\nhostname renamed\n" in con.execute("show startup-config")


def test_reload_reboots_from_the_startup_configuration(lab):
    router = lab.device("dr_whoovie")
    con, vty = console(lab), CliSession(router, privileged=True, line="vty0")
    assert "!!!!" in con.execute("ping 10.2.2.3 source 10.1.1.1")
    con.configure_lines(["hostname unsaved"])
    con.execute("reload")
    con.execute("no")                                       # do not save
    assert con.execute("") == ("\n" + "".join(line + "\n" for line in router.log_buffer[-3:]))
    assert router.log_buffer[-3].endswith("%SYS-5-RELOAD: Reload requested")
    # Down while it boots: its serial line has no carrier at the access server either.
    lab.advance(5 * SECOND)
    isp = lab.device("isp")
    assert not router.protocol_up("Serial0")
    assert any("Serial" in line and "changed state to down" in line for line in isp.log_buffer[-6:])
    lab.advance(RELOAD_BOOT_NS)
    log = router.log_buffer
    restart = max(i for i, line in enumerate(log) if "%SYS-5-RESTART: System restarted --" in line)
    assert log[restart].startswith("00:00:00: ")            # stamped with the new uptime
    assert log[restart + 1:restart + 3] == ["Cisco Internetwork Operating System Software ",
                                            "IOS (tm) 2500 Software (C2500-IK9S-L), Version 12.2(24a), "
                                            "RELEASE SOFTWARE (fc2)"]
    # The unsaved change is gone; the console starts again in user EXEC; a vty session ended.
    assert router.hostname == "dr_whoovie" and con.prompt == "dr_whoovie>"
    with pytest.raises(SessionClosed):
        vty.execute("show clock")
    con.execute("enable")
    con.execute("lab")
    assert "System returned to ROM by reload" in con.execute("show version")
    assert "uptime is 0 minutes" in con.execute("show version")
    # IPCP gives the address again and a new IKE exchange (fresh cookies) brings the tunnel back.
    assert "Serial0                    100.100.100.1   YES IPCP" in con.execute("show ip interface brief")
    out = con.execute("ping 10.2.2.3 source 10.1.1.1") + con.execute("ping 10.2.2.3 source 10.1.1.1")
    assert "Success rate is 100 percent (5/5)" in out
    assert "QM_IDLE" in console(lab, "sam-i-am").execute("show crypto isakmp sa")


def test_reload_is_privileged(lab):
    user = CliSession(lab.device("dr_whoovie"), privileged=False, line="vty1")
    out = user.execute("reload")
    assert "% Invalid input detected at '^' marker." in out or "Translating" in out
