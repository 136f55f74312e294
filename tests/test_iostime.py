"""IOS time formats (emulator/cli/iostime.py) and the console log's stamps and words."""

from ipaddress import IPv4Address

import pytest

from emulator.cli import iostime
from emulator.cli.console_log import ConsoleLog
from emulator.config.model import DeviceConfig, TimestampService
from emulator.device.console import (
    DeviceLog,
    IpcpAddressInstalled,
    IpcpRouteInstalled,
    LineProtocolChanged,
    LinkAdminDown,
    LinkChanged,
    Message,
    PoolExhausted,
    PoolUndefined,
)
from emulator.labtime import MS, SECOND

DAY = 86400 * SECOND
HOUR = 3600 * SECOND
MINUTE = 60 * SECOND


@pytest.mark.parametrize("ns, text", [
    (0, "00:00:00"), (75 * SECOND + 999 * MS, "00:01:15"), (DAY - 1, "23:59:59"),
    (DAY + 2 * HOUR, "1d02h"), (6 * DAY + 23 * HOUR, "6d23h"), (9 * DAY, "1w2d"), (-5 * SECOND, "00:00:00")])
def test_stamp(ns, text):
    assert iostime.stamp(ns) == text


def test_datetime_stamp_counts_from_march_1():
    assert iostime.datetime_stamp(75 * SECOND + 123 * MS) == "*Mar  1 00:01:15"
    assert iostime.datetime_stamp(75 * SECOND + 123 * MS, msec=True) == "*Mar  1 00:01:15.123"
    assert iostime.datetime_stamp(10 * DAY + HOUR) == "*Mar 11 01:00:00"


def test_log_prefix_follows_service_timestamps():
    assert iostime.log_prefix(None, 75 * SECOND) == ""
    assert iostime.log_prefix(TimestampService("log"), 75 * SECOND) == "00:01:15: "
    assert iostime.log_prefix(TimestampService("debug", "datetime", ("msec",)), 75 * SECOND + 7 * MS) == \
        "*Mar  1 00:01:15.007: "
    assert iostime.log_prefix(TimestampService("debug", "datetime"), 75 * SECOND + 7 * MS) == "*Mar  1 00:01:15: "


@pytest.mark.parametrize("ns, text", [
    (59 * SECOND, "0 minutes"), (61 * SECOND, "1 minute"), (2 * HOUR, "2 hours, 0 minutes"),
    (9 * DAY + 3 * HOUR + 4 * MINUTE, "1 week, 2 days, 3 hours, 4 minutes"),
    (366 * DAY + 1 * DAY, "1 year, 2 days, 0 minutes")])
def test_uptime_words(ns, text):
    assert iostime.uptime_words(ns) == text


def test_since_and_minutes():
    assert iostime.since(100 * SECOND, None) == "never"
    assert iostime.since(100 * SECOND, 40 * SECOND) == "00:01:00"
    assert iostime.since(2 * DAY + 3 * HOUR, 0) == "2d3h"
    assert iostime.minutes(3 * MINUTE - 1) == 2


def test_clock_weekday_and_date():
    assert iostime.clock(75 * SECOND + 123 * MS) == "*00:01:15.123 UTC Mon Mar 1 1993"
    assert iostime.clock(8 * DAY + HOUR) == "*01:00:00.000 UTC Tue Mar 9 1993"


def test_console_log_stamps_and_words_every_event():
    cfg = DeviceConfig()
    cfg.timestamps = [TimestampService("debug", "datetime", ("msec",)), TimestampService("log")]
    now = [75 * SECOND + 5 * MS]
    sink = ConsoleLog()
    log = DeviceLog(sink, cfg, lambda: now[0])
    log.log(LinkChanged("Serial0", True))
    log.log(LinkAdminDown("Ethernet0"))
    log.log(LineProtocolChanged("Serial0", False))
    log.debug(IpcpAddressInstalled("Serial1", IPv4Address("192.0.2.9")))
    log.debug(IpcpRouteInstalled("Serial1", IPv4Address("192.0.2.10")))
    log.extend(["  continued", "  and again"])
    cfg.timestamps = []
    log.log(PoolUndefined("Serial0", "P"))
    log.log(PoolExhausted("Serial0", "P"))
    log.log(Message("%SYS-5-CONFIG_I: Configured from console by console"))
    assert sink.lines == [
        "00:01:15: %LINK-3-UPDOWN: Interface Serial0, changed state to up",
        "00:01:15: %LINK-5-CHANGED: Interface Ethernet0, changed state to administratively down",
        "00:01:15: %LINEPROTO-5-UPDOWN: Line protocol on Interface Serial0, changed state to down",
        "*Mar  1 00:01:15.005: Se1 IPCP: Install negotiated IP interface address 192.0.2.9",
        "*Mar  1 00:01:15.005: Se1 IPCP: Install route to 192.0.2.10",
        "  continued",
        "  and again",
        "%IPCP-3-NOPOOL: Serial0: ip local pool P is not defined",
        "%IPCP-4-POOLEXHAUST: Serial0: ip local pool P has no free address",
        "%SYS-5-CONFIG_I: Configured from console by console",
    ]


def test_datetime_stamp_options_in_ios_order():
    at = 75 * SECOND + 5 * MS
    svc = TimestampService("debug", "datetime", ("msec", "localtime", "show-timezone", "year"))
    assert iostime.log_prefix(svc, at) == "*Mar  1 1993 00:01:15.005 UTC: "
    assert iostime.log_prefix(TimestampService("log", "datetime", ("year",)), at) == "*Mar  1 1993 00:01:15: "
    assert iostime.log_prefix(TimestampService("log", "datetime", ("show-timezone",)), at) == "*Mar  1 00:01:15 UTC: "
