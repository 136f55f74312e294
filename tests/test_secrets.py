"""No secret leaves the process: IOS secret forms and known values masked in what a run writes;
files holding keys or passwords are their owner's only."""

from __future__ import annotations

import logging
import os
import re
import stat
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from _pytest._code.code import ExceptionInfo

from drivers.emulated import EmulatedDriver
from drivers.secrets import masked_log_records, scenario_secrets, scrub_object
from emulator.config.masking import FORMS, MASK, Masker, mask_forms, secret_values
from emulator.frontends.server import MaskedLogFormatter
from emulator.lab.private import write_private
from support import DOC_LAB, ROOT
from support.leaks import artefact_texts, lab_secrets, leaks

# Every secret form, as show running-config prints it, and the same line masked.
FORM_LINES = [
    ("enable secret 5 $1$hSOA$.a.YDNgOuN7NKF.NKgtoJ/", "enable secret 5 <removed>"),
    ("enable secret level 15 0 clear-one", "enable secret level 15 0 <removed>"),
    ("enable password 7 0822455D0A16", "enable password 7 <removed>"),
    ("username ops privilege 15 password 0 pw 9f3", "username ops privilege 15 password 0 <removed>"),
    ("username bob secret 5 $1$zz$yy", "username bob secret 5 <removed>"),
    ("crypto isakmp key cisco123 address 0.0.0.0 0.0.0.0", "crypto isakmp key <removed> address 0.0.0.0 0.0.0.0"),
    ("crypto isakmp key 6 Xy_z address 192.0.2.4", "crypto isakmp key 6 <removed> address 192.0.2.4"),
    (" password ww", " password <removed>"),
    (" password 7 0822455D0A16", " password 7 <removed>"),
    (" key-string 7 0822455D0A16", " key-string 7 <removed>"),
    ("tacacs-server key supersecret", "tacacs-server key <removed>"),
    ("tacacs-server host 192.0.2.9 port 49 single-connection key 7 0822455D0A16",
     "tacacs-server host 192.0.2.9 port 49 single-connection key 7 <removed>"),
    ("radius-server host 192.0.2.8 auth-port 1645 key rad-key",
     "radius-server host 192.0.2.8 auth-port 1645 key <removed>"),
    ("snmp-server community public RO", "snmp-server community <removed> RO"),
    (" ppp chap password 0 chappy", " ppp chap password 0 <removed>"),
    (" ppp pap sent-username me password pappy", " ppp pap sent-username me password <removed>"),
]


@pytest.mark.parametrize("line, masked", FORM_LINES, ids=[m for m, _ in FORM_LINES])
def test_every_secret_form_is_masked_and_the_command_still_reads(line, masked):
    assert mask_forms(line) == masked
    assert mask_forms(line + "\n") == masked + "\n"
    # Typed after a prompt, quoted in a failure message, or in the repr of a multi-line string.
    assert mask_forms(f"r1(config)#{line.strip()}") == f"r1(config)#{masked.strip()}"
    assert mask_forms(f"E   AssertionError: no '{line.strip()}'") == f"E   AssertionError: no '{masked.strip()}'"
    assert mask_forms(f"'end\\n{line}\\n!'") == f"'end\\n{masked}\\n!'"


def test_the_table_names_every_form_once():
    assert len({name for name, _ in FORMS}) == len(FORMS) == 8


def test_secret_values_of_the_documents_configurations():
    hub = (ROOT / "fixtures" / "doc14131" / "sam-i-am.cfg").read_text()
    assert secret_values(hub) == {"cisco123", "ww"}
    # Type 7 passwords give their clear text too; type 5 hashes are secrets as they stand.
    assert secret_values(" password 7 0822455D0A16\nenable secret 5 $1$ab$cd") == {"0822455D0A16", "cisco", "$1$ab$cd"}


def test_text_that_is_no_secret_is_left_alone():
    text = ("        sa timing: remaining key lifetime (k/sec): (4607999/3599)\n"
            "Password: \n"
            "no service password-encryption\n"
            "ISAKMP (0:1): found peer pre-shared key matching 99.99.99.1\n"
            "% Login disabled on line 66, until 'password' is set\n"
            '    key = f"crypto isakmp key {scenario[\'hub.isakmp_key\']} address"\n')
    assert Masker(["ww", "lab"])(text) == text


def test_known_values_are_masked_as_whole_words_and_short_ones_only_in_forms():
    mask = Masker(["cisco123", "ww", "lab"])
    assert mask.values == {"cisco123"}
    assert mask("keys cisco123 and 'cisco123', not cisco1234 or xcisco123") == \
        "keys <removed> and '<removed>', not cisco1234 or xcisco123"
    assert mask("the lab clock; www.example.com") == "the lab clock; www.example.com"


def test_a_masker_learns_what_devices_print_only_when_asked():
    mask = Masker()
    assert mask("crypto isakmp key cisco321 address 192.0.2.1", learn=True) == \
        "crypto isakmp key <removed> address 192.0.2.1"
    assert mask("the remote has cisco321") == "the remote has <removed>"
    other = Masker()
    other("crypto isakmp key other-key address 192.0.2.1")
    assert other.values == frozenset()


def test_a_pathological_line_is_masked_in_one_pass():
    line = "password " + "a " * 20000 + "'"
    masked = Masker()(line)
    assert masked == "password <removed> '"
    text = (" " * 5000 + "E" + " " * 5000 + "x\n") * 20
    assert Masker(["cisco123"])(text) == text
    print(f"\nmasked a {len(line)}-character line and {len(text)} characters of blanks")


def test_the_scenario_keys_that_hold_secrets():
    data = {"hub": {"isakmp_key": "k1", "isakmp_key_address": "0.0.0.0", "hostname": "h"},
            "remote": {"isakmp_key": "k2"}, "snmp": {"community": "c1"}, "ping": {"count": 5}}
    assert scenario_secrets(data) == {"k1", "k2", "c1"}


def test_a_failure_representation_is_masked_in_place():
    try:
        key = "crypto isakmp key cisco321 address 99.99.99.1"
        raise AssertionError(f"the remote has no '{key}'")
    except AssertionError:
        info = ExceptionInfo.from_current()
    longrepr = info.getrepr(showlocals=True)
    assert "cisco321" in str(longrepr)
    masked = scrub_object(longrepr, Masker(["cisco321"]))
    assert masked is longrepr
    assert "cisco321" not in str(longrepr)
    assert "the remote has no 'crypto isakmp key <removed> address 99.99.99.1'" in longrepr.reprcrash.message


def test_the_emulated_transcript_masks_what_send_returns_in_full():
    driver = EmulatedDriver(DOC_LAB)
    try:
        out = driver.session("hub").send("show running-config")
        assert "crypto isakmp key cisco123 address 0.0.0.0 0.0.0.0" in out and "\n password ww\n" in out
        shown = driver.transcript[-1].output
        assert "crypto isakmp key <removed> address 0.0.0.0 0.0.0.0" in shown and "\n password <removed>\n" in shown
        assert re.search(r"\nenable secret 5 <removed>\n", shown)
        assert leaks({"transcript": driver.transcript[-1].render()}, lab_secrets(DOC_LAB)) == []
    finally:
        driver.close()


def test_private_files_are_created_0600_and_narrowed_when_they_exist(tmp_path):
    fresh = tmp_path / "fresh"
    old_umask = os.umask(0)          # even with nothing masked off by the umask
    try:
        write_private(fresh, "k1\n")
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o600 and fresh.read_text() == "k1\n"
    there = tmp_path / "there"
    there.write_text("a longer old text\n")
    there.chmod(0o644)
    write_private(there, "k2\n")
    assert stat.S_IMODE(there.stat().st_mode) == 0o600 and there.read_text() == "k2\n"


def test_the_server_log_masks_a_typed_line():
    formatter = MaskedLogFormatter(Masker(["cisco123"]), "%(levelname)s %(message)s")
    record = logging.LogRecord("emulator", logging.ERROR, __file__, 1, "%s: %r failed",
                               ("sam-i-am vty 0", "username ops password 0 pw-9f3"), None)
    assert formatter.format(record) == "ERROR sam-i-am vty 0: 'username ops password 0 <removed>' failed"
    record = logging.LogRecord("emulator", logging.ERROR, __file__, 1, "saw %s", ("cisco123",), None)
    assert formatter.format(record) == "ERROR saw <removed>"


def test_log_records_are_masked_while_a_run_lasts(caplog):
    log = logging.getLogger("netmiko.base_connection")
    undo = masked_log_records(Masker(["cisco123"]))
    try:
        with caplog.at_level(logging.DEBUG, logger="netmiko"):
            log.debug("read_channel: %s", "crypto isakmp key cisco123 address 0.0.0.0 0.0.0.0\n password ww")
            log.debug("the key is %r", "cisco123")
    finally:
        undo()
    with caplog.at_level(logging.DEBUG, logger="netmiko"):
        log.debug("after: %s", "cisco123")
    assert [r.getMessage() for r in caplog.records] == [
        "read_channel: crypto isakmp key <removed> address 0.0.0.0 0.0.0.0\n password <removed>",
        "the key is '<removed>'", "after: cisco123"]


WRONG_PSK = ROOT / "fixtures" / "misconfigured" / "wrong-psk" / "lab.yml"


@pytest.mark.parametrize("lab, failures, literal", [
    (DOC_LAB, 0, {"cisco123", "ww", "lab"}),
    # Failures quote the keys: the expected one and the one the remote has.
    (WRONG_PSK, 9, {"cisco123", "cisco321", "ww", "lab"}),
], ids=["doc14131", "wrong-psk"])
def test_an_emulated_run_writes_no_secret(lab, failures, literal, tmp_path):
    html, junit, captures = tmp_path / "report.html", tmp_path / "junit.xml", tmp_path / "captures"
    result = subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA", "--lab", str(lab),
                             f"--html={html}", "--self-contained-html", f"--junitxml={junit}",
                             f"--pcap-dir={captures}"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == (1 if failures else 0), result.stdout[-3000:]
    assert ET.parse(junit).getroot().find("testsuite").get("failures") == str(failures)
    secrets = lab_secrets(lab)
    assert literal <= secrets and sum(s.startswith("$1$") for s in secrets) == 2
    texts = artefact_texts(tmp_path)
    texts["stdout"], texts["stderr"] = result.stdout, result.stderr
    assert leaks(texts, secrets | literal) == []
    # The transcripts are in the report, inline, with each secret command readable.
    decoded = texts[str(html)]
    assert "CLI transcript" in texts[str(html)] and "sam-i-am#show running-config" in decoded
    for line in ("crypto isakmp key <removed> address 0.0.0.0 0.0.0.0",
                 "crypto isakmp key <removed> address 99.99.99.1", "enable secret 5 <removed>", " password <removed>"):
        assert line in decoded, line
    # The claims matrix quotes the document's configuration lines, masked too.
    assert f"crypto isakmp key {MASK} address 0.0.0.0 0.0.0.0" in texts[str(html)]
    if failures:    # the failure still says what is wrong, in the report and on the terminal
        message = "the remote has no 'crypto isakmp key <removed> address 99.99.99.1'"
        assert message in texts[str(html)] and message in result.stdout and message in texts[str(junit)]
        assert "phase1-psk-mismatch: phase 1 stopped at MM_KEY_EXCH: the pre-shared keys do not match" \
            in texts[str(html)]
    # The key files stay beside the captures, the owner's only; the report links to them.
    keys = sorted(captures.rglob("esp_sa")) + sorted(captures.rglob("ikev1_decryption_table"))
    assert len(keys) == 10
    assert {stat.S_IMODE(k.stat().st_mode) for k in keys} == {0o600}
    assert any(k.stat().st_size for k in keys)
    assert "mode 0600" in texts[str(html)] and "test_tunnel/esp_sa" in texts[str(html)]


def test_md5_crypt_through_the_c_library_equals_the_rounds_computed_here():
    import random
    import string

    from emulator.config import secrets as sec
    rng = random.Random(5)
    alphabet = string.ascii_letters + string.digits + "./"
    for _ in range(60):
        password = "".join(rng.choice(string.printable[:94] + " ") for _ in range(rng.randrange(0, 40)))
        salt = "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 9)))
        assert sec.md5_crypt(password, salt) == sec.md5_crypt_rounds(password, salt)
    # a salt the C library would read otherwise, and a password beyond ASCII: the rounds here
    assert sec.md5_crypt("lab", "ab$cd") == sec.md5_crypt_rounds("lab", "ab$cd")
    assert sec.md5_crypt("clé", "abcd") == sec.md5_crypt_rounds("clé", "abcd")
    # the FreeBSD/IOS reference value (an IOS "enable secret 5" of "cisco" with salt "mERr")
    assert sec.md5_crypt("cisco", "mERr") == "$1$mERr$hx5rVt7rPNoS4wqbXKX7m0"
