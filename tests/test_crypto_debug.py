"""The IOS wording of the crypto trace records (emulator/cli/crypto_debug.py)."""

from __future__ import annotations

import re
from ipaddress import IPv4Address

from emulator.cli import crypto_debug
from emulator.cli.session import CliSession
from emulator.engines.ike.events import Category, Trace
from emulator.lab.labfile import Lab
from emulator.wire import isakmp as K
from support import ROOT

ENGINES = [*(ROOT / "emulator" / "engines" / "ike").glob("*.py"),
           *(ROOT / "emulator" / "engines" / "ipsec").glob("*.py")]


def test_every_trace_kind_the_engines_emit_has_its_wording():
    used = set()
    for path in ENGINES:
        text = path.read_text()
        used |= set(re.findall(r'(?:_trace|Bad)\("([a-z0-9_]+)"', text))
        used |= set(re.findall(r'Trace\(Category\.[A-Z]+, "([a-z0-9_]+)"', text))
    assert len(used) > 80
    assert sorted(used - set(crypto_debug._KINDS)) == []


def test_lines_with_their_ios_wording():
    def text(kind: str, category: Category = Category.ISAKMP, **fields: object) -> str:
        return crypto_debug.render_text(Trace(category, kind, fields))
    assert text("sending", conn=2, peer=IPv4Address("10.15.58.38"), role="I", state="MM_NO_STATE") == \
        "ISAKMP (0:2): sending packet to 10.15.58.38 (I) MM_NO_STATE"                    # reference §3.2
    assert text("beginning_quick_mode", conn=2, mid=0xE6981C52) == \
        "ISAKMP (0:2): beginning Quick Mode exchange, M-ID of -426238894"                 # signed, as IOS prints
    assert text("isakmp_attribute", attr=K.OAKLEY_LIFE_DURATION, value=86400) == \
        "ISAKMP:      life duration (VPI) of  0x0 0x1 0x51 0x80"
    assert text("isakmp_attribute", attr=99, value=1) == ""                            # not printed by IOS
    assert text("reason", conn=1, reason="mismatch:hash") == \
        "ISAKMP (0:1): Hash algorithm offered does not match policy!"
    assert crypto_debug.render(Trace(Category.ISAKMP, "reserved_not_zero", {"payload": 5, "conn": 1})) == [
        "ISAKMP: reserved not zero on payload 5!", "ISAKMP: malformed payload"]
    assert text("deleting_node", conn=1, mid=0xFFFFFFFF, error=True, notify=int(K.NO_PROPOSAL_CHOSEN),
                name="NO_PROPOSAL_CHOSEN") == 'ISAKMP (0:1): deleting node -1 error TRUE reason "proposal not chosen"'


def test_debug_lines_reach_the_console_only_for_the_switches_that_are_on():
    lab = Lab.from_file(ROOT / "fixtures" / "doc14131" / "lab.yml")
    remote = CliSession(lab.device("dr_whoovie"), privileged=True, line="vty0")
    assert remote.execute("debug crypto isakmp") == "Crypto ISAKMP debugging is on\n"
    remote.execute("ping ip 10.2.2.3 source 10.1.1.1")
    log = "\n".join(lab.device("dr_whoovie").log_buffer)
    assert "ISAKMP (0:1): beginning Main Mode exchange" in log
    assert "IPSEC(" not in log and "CryptoEngine0" not in log
    assert "Traceback" not in log and "Error" not in log


ID_DUMP = ["ISAKMP (0:1): ID payload",
           "        next-payload : 8",          # the HASH payload follows the ID payload
           "        type         : 1",          # ID_IPV4_ADDR
           "        protocol     : 17",
           "        port         : 500",
           "        length       : 8"]          # ID header (4) and the IPv4 address (4)


def test_the_id_payload_each_side_sends_is_dumped_as_12_2_prints_it():
    """12.2's dump (no ``address`` line, the ID data's length) after ``SA is doing pre-shared key
    authentication``, then ``Total payload length`` with the generic header; reference §3.3 shows 12.3's
    (with ``address``, length 12).  The initiator also says ``Send initial contact`` before it."""
    lab = Lab.from_file(ROOT / "fixtures" / "doc14131" / "lab.yml")
    hub = CliSession(lab.device("sam-i-am"), privileged=True, line="vty0")
    remote = CliSession(lab.device("dr_whoovie"), privileged=True, line="vty0")
    hub.execute("debug crypto isakmp")
    remote.execute("debug crypto isakmp")
    remote.execute("ping ip 10.2.2.3 source 10.1.1.1")
    for device, last_state in (("dr_whoovie", "(I) MM_KEY_EXCH"), ("sam-i-am", "(R) QM_IDLE")):
        log = [re.sub(r"^\d\d:\d\d:\d\d: ", "", line) for line in lab.device(device).log_buffer]
        at = log.index(ID_DUMP[0])
        assert log[at - 1] == "ISAKMP (0:1): SA is doing pre-shared key authentication using id type ID_IPV4_ADDR"
        assert log[at:at + 7] == ID_DUMP + ["ISAKMP (1): Total payload length: 12"]
        assert log[at + 7].startswith("ISAKMP (0:1): sending packet to ") and log[at + 7].endswith(last_state)
        assert log.count(ID_DUMP[0]) == 1
    remote_log = [re.sub(r"^\d\d:\d\d:\d\d: ", "", line) for line in lab.device("dr_whoovie").log_buffer]
    assert remote_log[remote_log.index(ID_DUMP[0]) - 2] == "ISAKMP (0:1): Send initial contact"


def test_no_debug_line_names_the_emulator():
    assert not [k for k, v in crypto_debug._KINDS.items() if isinstance(v, str) and "emulator" in v]
    assert not [v for v in crypto_debug._MISMATCH.values() if "emulator" in v]
