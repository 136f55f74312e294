"""``show interfaces``, ``show ip interface brief`` and ``show arp`` in the IOS 12.2 layouts.

A 15.x configuration (``emulator.cli.layout``) switches ``show interfaces`` to the wording
of the 12.4 and later captures (reference §1.9 (a), tests/samples/ref_1.9_show_int_serial_12.4_ppp.txt;
``Kbit/sec`` from 15.x captures): ``BW 1544 Kbit/sec``, the PPP line ``Encapsulation PPP, LCP
Open`` followed by ``Open: IPCP, CDPCP, loopback not set``, and ``Available Bandwidth N kilobits/sec`` (75% of
the bandwidth, what weighted fair queueing may reserve) under the conversations.
"""

from __future__ import annotations

from emulator.cli import iostime
from emulator.cli.layout import Layout, layout_of
from emulator.config.grammar import CommandError
from emulator.config.render import interface_sort_key
from emulator.device.adapters import EthernetAdapter
from emulator.device.interfaces import AddressMethod, LinkStatus
from emulator.device.router import Router
from emulator.engines.arp import ARP_TIMEOUT
from emulator.engines.ppp import State

__all__ = ["interfaces", "ip_interface_brief", "arp", "LINK_STATUS", "ADDRESS_METHOD", "LCP_STATE"]

LINK_STATUS = {LinkStatus.UP: "up", LinkStatus.DOWN: "down", LinkStatus.ADMIN_DOWN: "administratively down"}
ADDRESS_METHOD = {AddressMethod.NVRAM: "NVRAM", AddressMethod.MANUAL: "manual", AddressMethod.IPCP: "IPCP",
                  AddressMethod.UNSET: "unset"}
# How "show interfaces" names the RFC 1661 states ("LCP Open", "LCP REQsent", "LCP Listen"...).
LCP_STATE = {State.INITIAL: "Closed", State.STARTING: "Closed", State.CLOSED: "Closed",
             State.STOPPED: "Listen", State.CLOSING: "TERMsent", State.STOPPING: "TERMsent",
             State.REQ_SENT: "REQsent", State.ACK_RCVD: "ACKrcvd", State.ACK_SENT: "ACKsent",
             State.OPENED: "Open"}


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
    r.interfaces.catch_up(r.now)          # the load samples due by now
    st = r.interface_state(name)
    c = st.counters
    status = LINK_STATUS[r.link_status(name)]
    proto = "up" if r.protocol_up(name) else "down"
    serial = name.startswith("Serial")
    ios15 = layout_of(r.config) is Layout.IOS15
    out = [f"{name} is {status}, line protocol is {proto}"]
    if serial:
        out.append(f"  Hardware is {r.platform.serial_hardware(name)}")
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
    out += [f"  MTU {iface.mtu or 1500} bytes, BW {bw} Kbit{'/sec' if ios15 else ''}, DLY {dly} usec,",
            f"     reliability 255/255, txload {txload}/255, rxload {rxload}/255"]
    out += _encapsulation_lines(iface, st, ios15)
    if not serial:
        out.append(f"  ARP type: ARPA, ARP Timeout {iostime.stamp(ARP_TIMEOUT)}")
    last_in, last_out = iostime.since(r.now, c.last_input), iostime.since(r.now, c.last_output)
    out.append(f"  Last input {last_in}, output {last_out}, output hang never")
    out.append(f'  Last clearing of "show interface" counters {iostime.since(r.now, c.cleared)}')
    if serial:
        out += [f"  Input queue: 0/75/{c.input_drops}/0 (size/max/drops/flushes); Total output drops: {c.output_drops}",
                "  Queueing strategy: weighted fair",
                "  Output queue: 0/1000/64/0 (size/max total/threshold/drops)",
                "     Conversations  0/1/256 (active/max active/max total)",
                "     Reserved Conversations 0/0 (allocated/max allocated)"]
        if ios15:
            out.append(f"     Available Bandwidth {bw * 3 // 4} kilobits/sec")
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


def _encapsulation_lines(iface, st, ios15: bool) -> list[str]:
    """Encapsulation, keepalive and PPP state: 12.2 puts ``loopback not set`` on the encapsulation
    line and the LCP state on a line of its own; 15.x puts the LCP state on the encapsulation line
    and ``loopback not set`` after the open NCPs."""
    encap = {"ppp": "PPP", "hdlc": "HDLC", "arpa": "ARPA"}[iface.encapsulation]
    keepalive = f"  Keepalive set ({iface.keepalive} sec)" if iface.keepalive is not None else "  Keepalive not set"
    if iface.encapsulation != "ppp":
        return [f"  Encapsulation {encap}, loopback not set", keepalive]
    lcp = LCP_STATE[st.lcp_state] if st.lcp_state is not None else "Closed"
    if ios15:
        ncps = "".join(f"{n}, " for n in st.open_ncps)
        return [f"  Encapsulation PPP, LCP {lcp}", f"  {'Open: ' if ncps else ''}{ncps}loopback not set", keepalive]
    out = [f"  Encapsulation {encap}, loopback not set", keepalive, f"  LCP {lcp}"]
    if st.open_ncps:
        out.append("  Open: " + ", ".join(st.open_ncps))
    return out


def ip_interface_brief(r: Router) -> str:
    out = ["Interface                  IP-Address      OK? Method Status                Protocol"]
    for name in sorted(r.config.interfaces, key=interface_sort_key):
        addr = r.interface_address(name)
        ip = str(addr.ip) if addr else "unassigned"
        method = ADDRESS_METHOD[r.interface_state(name).address_method]
        proto = "up" if r.protocol_up(name) else "down"
        out.append(f"{name:<27}{ip:<16}YES {method:<7}{LINK_STATUS[r.link_status(name)]:<22}{proto}")
    return "\n".join(out) + "\n"


def arp(r: Router) -> str:
    out = ["Protocol  Address          Age (min)  Hardware Addr   Type   Interface"]
    for name in sorted(r.adapters, key=interface_sort_key):
        adapter = r.adapters[name]
        if not isinstance(adapter, EthernetAdapter):
            continue
        for ip, mac, learnt in adapter.arp_table():
            age = "-" if learnt is None else str(iostime.minutes(r.now - learnt))
            out.append(f"Internet  {str(ip):<16}{age:>8}   {_mac(mac)}  ARPA   {name}")
    return "\n".join(out) + "\n"

