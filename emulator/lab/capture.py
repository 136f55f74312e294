"""Packet capture of a lab's links to pcap files, stamped with the lab clock.

Serial links are written with the link type of their encapsulation (PPP in
HDLC-like framing, 9; Cisco HDLC, 104) without the FCS, as capture hardware
delivers them; Ethernet segments as Ethernet (1).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import BinaryIO, Mapping, Protocol, Sequence

from emulator.device.router import Router
from emulator.lab.keylog import key_log_lines
from emulator.lab.private import write_private
from emulator.sim.wires import EthernetSegment, SerialLink, Tap
from emulator.wire.pcap import LINKTYPE_C_HDLC, LINKTYPE_ETHERNET, LINKTYPE_PPP, PcapWriter


class CapturedLink(Protocol):
    """A link of the lab file: the (device, interface) ports it joins."""

    @property
    def ports(self) -> Sequence[tuple[str, str]]: ...


class CapturedLab(Protocol):
    """What a capture needs of a running lab: its wires and its devices."""

    @property
    def serial_links(self) -> Sequence[tuple[CapturedLink, SerialLink]]: ...

    @property
    def segments(self) -> Sequence[tuple[CapturedLink, EthernetSegment]]: ...

    @property
    def devices(self) -> Mapping[str, Router]: ...


def _file_name(kind: str, ports: Sequence[tuple[str, str]]) -> str:
    text = "--".join(f"{dev}-{iface}" for dev, iface in ports)
    return f"{kind}-" + re.sub(r"[^A-Za-z0-9_.-]", "_", text) + ".pcap"


def _serial_tap(writer: PcapWriter) -> Tap:
    def tap(t: int, direction: str, frame: bytes) -> None:
        # The FCS is checked by the receiving interface, not kept in captures.
        writer.write_ns(t, frame[:-2])
    return tap


def _ethernet_tap(writer: PcapWriter) -> Tap:
    def tap(t: int, port: str, frame: bytes) -> None:
        writer.write_ns(t, frame)
    return tap


class LabCapture:
    """One pcap per link; ``close()`` flushes and closes them all."""

    def __init__(self, lab: CapturedLab, directory: str | Path):
        self.lab = lab
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.files: list[Path] = []
        self._handles: list[BinaryIO] = []
        for link, serial in lab.serial_links:
            dev, iface = link.ports[0]
            ppp = lab.devices[dev].config.interfaces[iface].encapsulation == "ppp"
            writer = self._open(_file_name("serial", link.ports), LINKTYPE_PPP if ppp else LINKTYPE_C_HDLC)
            serial.taps.append(_serial_tap(writer))
        for link, segment in lab.segments:
            writer = self._open(_file_name("ethernet", link.ports), LINKTYPE_ETHERNET)
            segment.taps.append(_ethernet_tap(writer))

    def _open(self, name: str, linktype: int) -> PcapWriter:
        path = self.directory / name
        handle = open(path, "wb")
        self._handles.append(handle)
        self.files.append(path)
        return PcapWriter(handle, linktype)

    def flush(self) -> None:
        for handle in self._handles:
            handle.flush()
        self.write_keys()

    def write_keys(self) -> None:
        """The lab's keys in Wireshark's user-table formats, beside the captures:
        ``esp_sa`` (eight quoted fields per ESP SA) and ``ikev1_decryption_table``
        (``INITIATOR_COOKIE,ENCRYPTION_KEY`` per phase 1 SA), and the IKE key log ``ike_keys.log``
        (every SA's cookies, nonces and keys: ``emulator/lab/keylog.py``), each with mode 0600."""
        esp, ike = [], []
        for router in self.lab.devices.values():
            esp += [row for row in router.crypto.esp_key_rows if row not in esp]
            ike += [row for row in router.crypto.ike.key_rows if row not in ike]
        keylog = key_log_lines(self.lab.devices)
        for name, rows in (("esp_sa", esp), ("ikev1_decryption_table", ike), ("ike_keys.log", keylog)):
            path = self.directory / name
            write_private(path, "".join(row + "\n" for row in rows))   # keys: the owner's only
            if path not in self.files:
                self.files.append(path)

    def close(self) -> None:
        if self._handles:
            self.write_keys()
        for handle in self._handles:
            handle.close()
        self._handles = []
