"""Renderers of the basic show commands, in the IOS 12.2 layouts."""

from __future__ import annotations

from emulator.config.grammar import CommandError
from emulator.config.render import interface_sort_key
from emulator.device.router import Router, format_uptime
from emulator.labtime import MS, SECOND


def version(r: Router) -> str:
    p = r.platform
    counts = {}
    for name in p.interfaces:
        kind = name.rstrip("0123456789/.")
        counts[kind] = counts.get(kind, 0) + 1
    lines = [
        "Cisco Internetwork Operating System Software ",
        f"IOS (tm) {p.family} Software ({p.image}), Version {p.software}, RELEASE SOFTWARE (fc2)",
        "Copyright (c) 1986-2004 by cisco Systems, Inc.",
        p.compiled,
        "Image text-base: 0x0307A6B8, data-base: 0x00001000",
        "",
        "ROM: System Bootstrap, Version 11.0(10c)XB2, PLATFORM SPECIFIC RELEASE SOFTWARE (fc1)",
        "BOOTLDR: 3000 Bootstrap Software (IGS-BOOT-R), Version 11.0(10c)XB2, PLATFORM SPECIFIC RELEASE SOFTWARE (fc1)",
        "",
        f"{r.hostname} uptime is {format_uptime(r.uptime)}",
        "System returned to ROM by power-on",
        f'System image file is "{p.image_file}"',
        "",
        p.processor,
        f"Processor board ID {r.processor_board_id()}, with hardware revision 00000000",
        "Bridging software.",
        "X.25 software, Version 3.0.0.",
    ]
    if counts.get("Ethernet"):
        lines.append(f"{counts['Ethernet']} Ethernet/IEEE 802.3 interface(s)")
    if counts.get("Serial"):
        lines.append(f"{counts['Serial']} Serial network interface(s)")
    if counts.get("BRI"):
        lines.append(f"{counts['BRI']} ISDN Basic Rate interface(s)")
    lines += [
        "32K bytes of non-volatile configuration memory.",
        "16384K bytes of processor board System flash (Read ONLY)",
        "",
        "Configuration register is 0x2102",
    ]
    return "\n".join(lines) + "\n"


NVRAM_SIZE = 32762


def startup_config(r: Router) -> str:
    body = "\n".join(line for line in r.startup_config.splitlines()
                     if not line.startswith(("Building configuration", "Current configuration")))
    body = body.strip("\n") + "\n"
    return f"Using {len(body.encode())} out of {NVRAM_SIZE} bytes\n{body}"


def _hms(r: Router, when: int | None) -> str:
    if when is None:
        return "never"
    secs = (r.now - when) // SECOND
    if secs >= 86400:
        return f"{secs // 86400}d{secs // 3600 % 24}h"
    return f"{secs // 3600:02d}:{secs // 60 % 60:02d}:{secs % 60:02d}"


def _mac(mac: bytes) -> str:
    h = mac.hex()
    return f"{h[0:4]}.{h[4:8]}.{h[8:12]}"


def interfaces(r: Router, name: str | None = None) -> str:
    if name is not None and name not in r.config.interfaces:
        raise CommandError("invalid", "", -1)
    names = [name] if name else sorted(r.config.interfaces, key=interface_sort_key)
    return "".join(_interface(r, n) for n in names)


def _interface(r: Router, name: str) -> str:
    iface = r.config.interfaces[name]
    st = r.interface_state(name)
    c = st.counters
    status = r.link_status(name)
    proto = "up" if r.protocol_up(name) else "down"
    serial = name.startswith("Serial")
    out = [f"{name} is {status}, line protocol is {proto}"]
    if serial:
        out.append(f"  Hardware is {r.platform.serial_controller}")
    else:
        out.append(f"  Hardware is {r.platform.ethernet_controller}, address is {_mac(st.mac)} (bia {_mac(st.mac)})")
    if iface.description:
        out.append(f"  Description: {iface.description}")
    addr = r.interface_address(name)
    if addr is not None:
        out.append(f"  Internet address is {addr.with_prefixlen}")
    elif iface.negotiated:
        out.append("  Internet address will be negotiated using IPCP")
    bw = iface.bandwidth or (1544 if serial else 10000)
    dly = (iface.delay * 10) if iface.delay is not None else (20000 if serial else 1000)
    txload = max(1, min(255, round(c.out_bps / (bw * 1000) * 255)))
    rxload = max(1, min(255, round(c.in_bps / (bw * 1000) * 255)))
    out += [f"  MTU 1500 bytes, BW {bw} Kbit, DLY {dly} usec,",
            f"     reliability 255/255, txload {txload}/255, rxload {rxload}/255"]
    encap = {"ppp": "PPP", "hdlc": "HDLC", "arpa": "ARPA"}[iface.encapsulation]
    out.append(f"  Encapsulation {encap}, loopback not set")
    if iface.keepalive is not None:
        out.append(f"  Keepalive set ({iface.keepalive} sec)")
    else:
        out.append("  Keepalive not set")
    if iface.encapsulation == "ppp":
        out.append(f"  LCP {st.lcp_state or 'Closed'}")
        if st.open_ncps:
            out.append("  Open: " + ", ".join(st.open_ncps))
    if not serial:
        out.append("  ARP type: ARPA, ARP Timeout 04:00:00")
    out.append(f"  Last input {_hms(r, c.last_input)}, output {_hms(r, c.last_output)}, output hang never")
    out.append(f'  Last clearing of "show interface" counters {_hms(r, c.cleared)}')
    if serial:
        out += [f"  Input queue: 0/75/{c.input_drops}/0 (size/max/drops/flushes); Total output drops: {c.output_drops}",
                "  Queueing strategy: weighted fair",
                "  Output queue: 0/1000/64/0 (size/max total/threshold/drops)",
                "     Conversations  0/1/256 (active/max active/max total)",
                "     Reserved Conversations 0/0 (allocated/max allocated)"]
    else:
        out += ["  Queueing strategy: fifo",
                f"  Output queue {0}/40, {c.output_drops} drops; input queue 0/75, {c.input_drops} drops"]
    out += [f"  5 minute input rate {int(c.in_bps)} bits/sec, {int(c.in_pps)} packets/sec",
            f"  5 minute output rate {int(c.out_bps)} bits/sec, {int(c.out_pps)} packets/sec",
            f"     {c.packets_in} packets input, {c.bytes_in} bytes, 0 no buffer",
            f"     Received {c.broadcasts_in} broadcasts, {c.runts} runts, {c.giants} giants, 0 throttles"]
    if serial:
        out += [f"     {c.input_errors} input errors, {c.crc} CRC, 0 frame, 0 overrun, 0 ignored, 0 abort",
                f"     {c.packets_out} packets output, {c.bytes_out} bytes, 0 underruns",
                f"     {c.output_errors} output errors, 0 collisions, {c.resets} interface resets",
                "     0 output buffer failures, 0 output buffers swapped out",
                f"     {c.carrier_transitions} carrier transitions"]
        up = "up" if st.carrier and not iface.shutdown else "down"
        out.append(f"     DCD={up}  DSR={up}  DTR={up}  RTS={up}  CTS={up}")
    else:
        out += [f"     {c.input_errors} input errors, {c.crc} CRC, 0 frame, 0 overrun, 0 ignored",
                "     0 input packets with dribble condition detected",
                f"     {c.packets_out} packets output, {c.bytes_out} bytes, 0 underruns",
                f"     {c.output_errors} output errors, 0 collisions, {c.resets} interface resets",
                "     0 babbles, 0 late collision, 0 deferred",
                "     0 lost carrier, 0 no carrier",
                "     0 output buffer failures, 0 output buffers swapped out"]
    return "\n".join(out) + "\n"


def ip_interface_brief(r: Router) -> str:
    out = ["Interface                  IP-Address      OK? Method Status                Protocol"]
    for name in sorted(r.config.interfaces, key=interface_sort_key):
        addr = r.interface_address(name)
        ip = str(addr.ip) if addr else "unassigned"
        method = r.interface_state(name).address_method
        proto = "up" if r.protocol_up(name) else "down"
        out.append(f"{name:<27}{ip:<16}YES {method:<7}{r.link_status(name):<22}{proto}")
    return "\n".join(out) + "\n"


def clock(r: Router) -> str:
    # Without a calendar IOS counts from 00:00:00 UTC Mon Mar 1 1993, marked unsynchronised.
    uptime = r.uptime
    t = uptime // SECOND
    days = t // 86400
    weekday = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[days % 7]
    ms = uptime // MS % 1000
    return f"*{t // 3600 % 24:02d}:{t // 60 % 60:02d}:{t % 60:02d}.{ms:03d} UTC {weekday} Mar {1 + days} 1993\n"


def arp(r: Router) -> str:
    from emulator.device.adapters import EthernetAdapter
    out = ["Protocol  Address          Age (min)  Hardware Addr   Type   Interface"]
    for name in sorted(r.adapters, key=interface_sort_key):
        adapter = r.adapters[name]
        if not isinstance(adapter, EthernetAdapter):
            continue
        for ip, mac, learnt in adapter.arp_table():
            age = "-" if learnt is None else str((r.now - learnt) // SECOND // 60)
            out.append(f"Internet  {str(ip):<16}{age:>8}   {_mac(mac)}  ARPA   {name}")
    return "\n".join(out) + "\n"

