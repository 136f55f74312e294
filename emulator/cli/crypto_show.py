"""IOS 12.2 text of the crypto show commands, from the live state of a ``CryptoSubsystem``.

Layout authorities, in order: the document's ``show crypto ipsec sa`` sample
(Doc 14131, hub; reproduced exactly, spacing and the trailing space after
``#pkts compr. failed: 0,`` included), then the reference samples (§1.1-1.5,
§1.13), then, where 12.2 was not captured anywhere, a choice written next to
the code.  Values are the emulator's state: the SPIs are the ones on the
wire, the counters count real packets, lifetimes count down on the clock.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address
from typing import TYPE_CHECKING

from emulator.cli.layout import Layout, layout_of
from emulator.config.acl_syntax import render_entry
from emulator.engines.ike.policy import DEFAULT_POLICY, acl_entry_text, proxies_from_acl_entry
from emulator.wire import esp as E
from emulator.wire.isakmp import AttrGroup

if TYPE_CHECKING:
    from emulator.engines.ipsec import CryptoSubsystem, IpsecFlow, IpsecSA

ZERO = IPv4Address(0)


# ---------------------------------------------------------------- helpers

def _crypto_interfaces(sub: "CryptoSubsystem") -> list[tuple[str, str]]:
    return [(name, i.crypto_map) for name, i in sub.config.interfaces.items() if i.crypto_map]


def flows_for_show(sub: "CryptoSubsystem", iface: str, map_name: str) -> list["IpsecFlow"]:
    """The flows ``show crypto ipsec sa`` lists for one interface, in IOS order: each static
    entry's ACL permit lines (a flow without SAs still shows, with ``current outbound spi: 0``,
    reference §1.2), then flows of that entry negotiated with narrower proxies, then the flows of
    the temporary entries instantiated from dynamic maps."""
    from emulator.engines.ipsec import IpsecFlow
    cfg = sub.config
    # The interface's flows grouped by map entry, in their order, and by key: one pass over them.
    by_seq: dict[int, list[IpsecFlow]] = {}
    by_key: dict[object, IpsecFlow] = {}
    for f in sub.flows():
        if f.iface == iface and f.map_name == map_name:
            by_seq.setdefault(f.seq, []).append(f)
        by_key.setdefault(f.key, f)
    out: list[IpsecFlow] = []
    for entry in sub.map_entries(cfg, map_name):
        if entry.dynamic_map:
            for temp in sub.temporary_entries(map_name):
                if temp.parent_seq == entry.seq:
                    out += by_seq.get(temp.seq, [])
            continue
        seen = set()
        acl = cfg.access_lists.get(entry.match_address) if entry.match_address else None
        for acl_entry in (acl.entries if acl is not None else []):
            proxies = proxies_from_acl_entry(acl_entry)
            if proxies is None:
                continue
            key = (iface, map_name, entry.seq, proxies[0], proxies[1])
            if key in seen:
                continue
            seen.add(key)
            found = by_key.get(key)
            out.append(found if found is not None else
                       IpsecFlow(key, iface, map_name, entry.seq, proxies[0], proxies[1],
                                 entry.peers[0] if entry.peers else None, True))
        out += [f for f in by_seq.get(entry.seq, []) if f.key not in seen]
    return out


def _sa_block(sa: "IpsecSA", now: int) -> list[str]:
    t = sa.transform
    return [f"      spi: 0x{sa.spi:X}({sa.spi})",
            f"        transform: {t.text} ,",
            f"        in use settings ={{{t.mode_text}, }}",
            f"        slot: 0, conn id: {sa.conn_id}, flow_id: {sa.flow_id}, crypto map: {sa.flow.map_name}",
            f"        sa timing: remaining key lifetime (k/sec): ({sa.remaining_kb()}/{sa.remaining_seconds(now)})",
            f"        IV size: {t.iv_size} bytes",
            f"        replay detection support: {'Y' if t.auth else 'N'}",
            ""]


def _flow_lines(f: "IpsecFlow", now: int, local_addr: IPv4Address, detail: bool) -> list[str]:
    out = f.current_outbound
    peer = f.peer or ZERO
    # flags: the document's hub flow (made from the peer's proposal) prints "{}"; flows made from
    # the crypto ACL print "origin_is_acl," (12.3 samples, reference §1.2) - choice for 12.2.
    flags = "origin_is_acl," if f.origin_is_acl else ""
    lines = [f"   local  ident (addr/mask/prot/port): ({f.local_proxy.text()})",
             f"   remote ident (addr/mask/prot/port): ({f.remote_proxy.text()})",
             f"   current_peer: {peer}",
             f"     PERMIT, flags={{{flags}}}",
             f"    #pkts encaps: {f.encaps}, #pkts encrypt: {f.encrypt}, #pkts digest {f.digest}",
             f"    #pkts decaps: {f.decaps}, #pkts decrypt: {f.decrypt}, #pkts verify {f.verify}",
             "    #pkts compressed: 0, #pkts decompressed: 0",
             "    #pkts not compressed: 0, #pkts compr. failed: 0, ",
             f"    #pkts decompress failed: 0, #send errors {f.send_errors}, #recv errors {f.recv_errors}"]
    if detail:
        # 12.2 detail counters: wording of later releases (no 12.2 capture found) - choice.
        lines += [f"    #pkts no sa (send) {f.send_errors}, #pkts invalid sa (rcv) {f.invalid_sa}",
                  f"    #pkts encaps failed (send) 0, #pkts decap failed (rcv) {f.decaps_failed}",
                  f"    #pkts invalid prot (recv) 0, #pkts verify failed: {f.verify_failed}",
                  f"    #pkts invalid identity (recv) {f.invalid_identity}, #pkts invalid len (rcv) 0",
                  "    #pkts replay rollover (send): 0, #pkts replay rollover (rcv) 0",
                  f"    ##pkts replay failed (rcv): {f.replay_failed}",
                  "    #pkts internal err (send): 0, #pkts internal err (recv) 0"]
    lines += ["",
              f"     local crypto endpt.: {f.local_addr or local_addr}, remote crypto endpt.: {peer}",
              f"     path mtu {f.path_mtu}, ip mtu {f.ip_mtu}, ip mtu interface {f.iface}",
              # 12.x prints the outbound SPI in hex without 0x (document: "52456533"; reference §1.2).
              f"     current outbound spi: {out.spi:X}" if out else "     current outbound spi: 0",
              ""]
    for title, sas in (("inbound esp sas:", f.inbound), ("inbound ah sas:", []), ("inbound pcp sas:", []),
                       ("outbound esp sas:", f.outbound), ("outbound ah sas:", []), ("outbound pcp sas:", [])):
        lines.append(f"     {title}")
        if not sas:
            lines.append("")
        for sa in sas:
            lines += _sa_block(sa, now)
    return lines


# ---------------------------------------------------------------- show crypto ipsec sa

def show_crypto_ipsec_sa(sub: "CryptoSubsystem", now: int, address: bool = False, peer=None, map: str | None = None,
                         detail: bool = False, interface: str | None = None) -> str:
    """``show crypto ipsec sa [address | peer A | map NAME | interface IF] [detail]``."""
    if address:
        return _by_address(sub, now)
    ios15 = layout_of(sub.config) is Layout.IOS15
    peer = IPv4Address(peer) if peer is not None else None
    lines = [""]
    for iface, map_name in _crypto_interfaces(sub):
        if interface is not None and iface != interface:
            continue
        if map is not None and map_name != map:
            continue
        local = sub.local_address(iface) or ZERO
        flows = [f for f in flows_for_show(sub, iface, map_name) if peer is None or f.peer == peer]
        if peer is not None and not flows:
            continue
        # 15.x drops the dot after "addr" (reference §1.2).
        addr = "local addr" if ios15 else "local addr."
        lines += [f"interface: {iface}", f"    Crypto map tag: {map_name}, {addr} {local}", ""]
        for f in flows:
            lines += _flow_lines_15(sub, f, now, local, detail) if ios15 else _flow_lines(f, now, local, detail)
        lines.append("")
    while len(lines) > 1 and lines[-1] == "" and lines[-2] == "":
        lines.pop()
    return "\n".join(lines) + "\n"


def _by_address(sub: "CryptoSubsystem", now: int) -> str:
    """``show crypto ipsec sa address``: SAs grouped by destination (12.x layout from memory - choice)."""
    groups: dict[IPv4Address, list] = {}
    for sa in sub.sas():
        dest = sa.local if sa.inbound else sa.peer
        groups.setdefault(dest, []).append(sa)
    lines = [""]
    for dest in sorted(groups):
        lines += [f"dest address: {dest}", "   protocol: ESP"]
        for sa in groups[dest]:
            lines += _sa_block(sa, now)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- show crypto call admission statistics

def show_crypto_call_admission_statistics(sub: "CryptoSubsystem") -> str:
    """The layout of IOS 12.3(8)T's Call Admission Control for IKE: the limits, the SAs active and in
    negotiation, and the requests accepted and rejected each way (rejections by the SA limit; this
    emulator has no resource-low rejections). Laid out from memory of Cisco's feature guide sample."""
    ike = sub.ike
    adm = ike.admission
    total = len(ike.sas())
    negotiating = ike.negotiating()
    rule = "-" * 69
    rows = [
        ("System Resource Limit:", 0, "Max IKE SAs", 0, "Max in nego:", ike.in_negotiation_limit()),
        ("Total IKE SA Count:", total, "active:", total - negotiating, "negotiating:", negotiating),
        ("Incoming IKE Requests:", adm.incoming_accepted + adm.incoming_rejected, "accepted:",
         adm.incoming_accepted, "rejected:", adm.incoming_rejected),
        ("Outgoing IKE Requests:", adm.outgoing_accepted + adm.outgoing_rejected, "accepted:",
         adm.outgoing_accepted, "rejected:", adm.outgoing_rejected),
        ("Rejected IKE Requests:", adm.incoming_rejected + adm.outgoing_rejected, "rsrc low:", 0,
         "SA limit:", adm.rejected_sa_limit),
    ]
    lines = ["", rule, f"{'Crypto Call Admission Control Statistics':^69}".rstrip(), rule]
    for a, x, b, y, c, z in rows:
        lines.append(f"{a:<23}{x:>8} {b:<12}{y:>6} {c:<13}{z:>6}")
    return "\n".join(lines) + "\n\n"


# ---------------------------------------------------------------- show crypto isakmp sa

def show_crypto_isakmp_sa(sub: "CryptoSubsystem", now: int) -> str:
    """12.2 layout without a status column.  Column widths from a 12.x capture with the
    older debug format (``dst             src             state           conn-id    slot`` /
    ``11.11.11.2      10.10.10.2      MM_SA_SETUP           1       0``, itcertnotes.blogspot.com,
    2011); dst is the responder's address, src the initiator's (reference §1.1, same capture)."""
    if layout_of(sub.config) is Layout.IOS15:
        return _isakmp_sa_15(sub)
    lines = ["dst             src             state           conn-id    slot"]
    for sa in sub.ike.sas():
        lines.append(f"{str(sa.dst):<16}{str(sa.src):<16}{sa.state:<16}{sa.conn_id:>7}{0:>8}")
    lines.append("")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- show crypto isakmp policy

_ENC_TEXT = {"des": "DES - Data Encryption Standard (56 bit keys).",
             "3des": "Three key triple DES"}
_HASH_TEXT = {"md5": "Message Digest 5", "sha": "Secure Hash Standard"}
_AUTH_TEXT = {"pre-share": "Pre-Shared Key", "rsa-sig": "Rivest-Shamir-Adleman Signature",
              "rsa-encr": "Rivest-Shamir-Adleman Encryption"}
_GROUP_TEXT = {AttrGroup.MODP_768: "#1 (768 bit)", AttrGroup.MODP_1024: "#2 (1024 bit)",
               AttrGroup.MODP_1536: "#5 (1536 bit)"}


def _suite(title: str, p) -> list[str]:
    enc = p.encryption.split()[0]
    if enc == "aes":
        enc_text = f"AES - Advanced Encryption Standard ({p.key_length or 128} bit keys)."
    else:
        enc_text = _ENC_TEXT.get(enc, enc)
    return [title,
            f"        encryption algorithm:   {enc_text}",
            f"        hash algorithm:         {_HASH_TEXT.get(p.hash, p.hash)}",
            f"        authentication method:  {_AUTH_TEXT.get(p.authentication, p.authentication)}",
            f"        Diffie-Hellman group:   {_GROUP_TEXT.get(p.group, f'#{p.group}')}",
            f"        lifetime:               {p.lifetime} seconds, no volume limit"]


def show_crypto_isakmp_policy(sub: "CryptoSubsystem") -> str:
    """Reference §1.13 wording; the ``Global IKE policy`` heading of later releases is left out (choice)."""
    lines: list[str] = []
    for prio, p in sorted(sub.config.isakmp_policies.items()):
        lines += _suite(f"Protection suite of priority {prio}", p)
    lines += _suite("Default protection suite", DEFAULT_POLICY)
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- show crypto map

def _acl_lines(cfg, name: str) -> list[str]:
    acl = cfg.access_lists.get(name)
    if acl is None:
        return []
    out = []
    for e in acl.entries:
        if e.remark is not None:
            continue
        text = re.sub(r"^deny\s+", "deny ", render_entry(e))
        out.append(f"            access-list {acl.name} {text}")
    return out


def _transform_sets_line(names: list[str]) -> str:
    return "        Transform sets={ " + "".join(f"{n}, " for n in names) + "}"


def _map_title(ios15: bool) -> str:
    return "Crypto Map IPv4" if ios15 else "Crypto Map"


def _sa_policy_lines(sub: "CryptoSubsystem", entry, transform_sets: list[str], ios15: bool) -> list[str]:
    """The end of a map entry's block: lifetime, (15.x: Responder-Only), PFS and DH group, transform sets."""
    cfg = sub.config
    s, kb = sub.entry_lifetimes(cfg, entry)
    pfs = entry.pfs if entry is not None else None
    lines = [f"        Security association lifetime: {kb} kilobytes/{s} seconds"]
    if ios15:
        lines.append("        Responder-Only (Y/N): N")
    lines.append(f"        PFS (Y/N): {'Y' if pfs else 'N'}")
    if pfs:
        lines.append(f"        DH group:  {pfs}")
    return lines + (_transform_sets_15(cfg, transform_sets) if ios15 else [_transform_sets_line(transform_sets)])


def _map_block(sub: "CryptoSubsystem", name: str, entry, ios15: bool) -> list[str]:
    """One configured entry of ``show crypto map``."""
    block = [f'{_map_title(ios15)} "{name}" {entry.seq} {entry.kind}']
    if entry.dynamic_map:
        return block + [f"        Dynamic map template tag: {entry.dynamic_map}"]
    block += [f"        Peer = {p}" for p in entry.peers]
    return block + entry_policy_lines(sub, entry, ios15)


def entry_policy_lines(sub: "CryptoSubsystem", entry, ios15: bool) -> list[str]:
    """What a crypto map or dynamic map entry says after its title and peers: its access list and
    the lines it permits, the current peer, and the SA policy (lifetime, PFS, transform sets)."""
    if entry.match_address:
        lines = [f"        Extended IP access list {entry.match_address}", *_acl_lines(sub.config, entry.match_address)]
    else:
        lines = ["        No matching address list set."]
    if entry.peers:
        lines.append(f"        Current peer: {entry.peers[0]}")
    return lines + _sa_policy_lines(sub, entry, entry.transform_sets, ios15)


def _temporary_block(sub: "CryptoSubsystem", name: str, temp, dyn, ios15: bool) -> list[str]:
    """A temporary entry a peer made through a dynamic map (reference §1.3; the same content in 15.x wording)."""
    block = [f'{_map_title(ios15)} "{name}" {temp.seq} ipsec-isakmp',
             f"        Peer = {temp.peer}",
             "        Extended IP access list ",
             f"            access-list  {acl_entry_text(temp.local_proxy, temp.remote_proxy)}",
             f"            dynamic (created from dynamic map {temp.dynamic_map}/{temp.dynamic_seq})",
             f"        Current peer: {temp.peer}"]
    return block + _sa_policy_lines(sub, dyn, dyn.transform_sets if dyn is not None else [], ios15)


def show_crypto_map(sub: "CryptoSubsystem", interface: str | None = None, tag: str | None = None) -> str:
    """``show crypto map [interface IF | tag NAME]``, 12.x layout (reference §1.3; 8-space
    indentation, one-line ``Transform sets={ a, }``), temporary dynamic entries included; the
    15.x layout when the configuration says so."""
    cfg = sub.config
    ios15 = layout_of(cfg) is Layout.IOS15
    users: dict[str, list[str]] = {}
    for iface, map_name in _crypto_interfaces(sub):
        users.setdefault(map_name, []).append(iface)
    names = sorted({n for n, _ in cfg.crypto_maps})
    if interface is not None:
        m = cfg.interfaces.get(interface)
        names = [m.crypto_map] if m is not None and m.crypto_map in names else []
    if tag is not None:
        names = [n for n in names if n == tag]
    lines: list[str] = []
    for name in names:
        blocks = [(entry.seq, _map_block(sub, name, entry, ios15)) for entry in sub.map_entries(cfg, name)]
        for temp in sub.temporary_entries(name):
            dyn = cfg.dynamic_maps.get((temp.dynamic_map, temp.dynamic_seq))
            blocks.append((temp.seq, _temporary_block(sub, name, temp, dyn, ios15)))
        blocks.sort(key=lambda b: b[0])
        for i, (_seq, block) in enumerate(blocks):
            lines += block
            if i == len(blocks) - 1:
                lines.append(f"        Interfaces using crypto map {name}:")
                lines += [f"                {iface}" for iface in users.get(name, [])]
            lines.append("")
    return "\n".join(lines) + "\n" if lines else ""


# ---------------------------------------------------------------- transform sets, lifetime

def show_crypto_ipsec_transform_set(sub: "CryptoSubsystem", name: str | None = None) -> str:
    """12.x layout from memory (the reference only has the 15.x shape) - choice."""
    lines: list[str] = []
    for ts in sub.config.transform_sets.values():
        if name is not None and ts.name != name:
            continue
        lines.append(f"Transform set {ts.name}: {{ {' '.join(ts.transforms)}  }} ")
        lines.append(f"   will negotiate = {{ {'Transport' if ts.mode == 'transport' else 'Tunnel'},  }}, ")
        lines.append("")
    return "\n".join(lines) + "\n" if lines else ""


def show_crypto_ipsec_sa_lifetime(sub: "CryptoSubsystem") -> str:
    """``show crypto ipsec security-association lifetime`` (reference §1.13)."""
    s, kb = sub.entry_lifetimes(sub.config, None)
    return f"Security association lifetime: {kb} kilobytes/{s} seconds\n"


# ---------------------------------------------------------------- crypto engine

# Keyed by plain ints: transform ids arrive as ints from the SA records.
_ENGINE_CIPHER: dict[int, str] = {E.ESP_DES: "DES_56_CB", E.ESP_3DES: "3DES_56_C", E.ESP_AES: "AES_CBC",
                                  E.ESP_NULL: "NULL"}
_ENGINE_AUTH: dict[int, str] = {E.AUTH_HMAC_MD5: "HMAC_MD5", E.AUTH_HMAC_SHA: "HMAC_SHA"}


def _algorithm(cipher: int, auth: int | None) -> str:
    """Engine algorithm names as in reference §1.4 (``HMAC_MD5+3DES_56_C``, ``HMAC_SHA+DES_56_CB``);
    AES and NULL names are a choice."""
    c = _ENGINE_CIPHER.get(cipher, "?")
    a = _ENGINE_AUTH.get(auth or 0)
    return f"{a}+{c}" if a else c


def show_crypto_engine_connections_active(sub: "CryptoSubsystem") -> str:
    """12.x columns (the reference samples are whitespace-normalized, widths are a choice)."""
    from emulator.wire import isakmp as K
    lines = ["", "  ID Interface            IP-Address      State  Algorithm           Encrypt  Decrypt"]
    ike_cipher: dict[int, int] = {K.ENC_DES_CBC: E.ESP_DES, K.ENC_3DES_CBC: E.ESP_3DES, K.ENC_AES_CBC: E.ESP_AES}
    ike_auth: dict[int, int] = {K.HASH_MD5: E.AUTH_HMAC_MD5, K.HASH_SHA: E.AUTH_HMAC_SHA}
    rows = []
    for ike_sa in sub.ike.sas():
        if not ike_sa.established:
            continue
        proposal = ike_sa.proposal
        assert proposal is not None, f"IKE SA {ike_sa.conn_id} is QM_IDLE without a chosen proposal"
        alg = _algorithm(ike_cipher.get(proposal.encryption, 0), ike_auth.get(proposal.hash))
        rows.append((ike_sa.conn_id, ike_sa.iface, ike_sa.local, alg, 0, 0))
    for sa in sub.sas():
        alg = _algorithm(sa.transform.cipher, sa.transform.auth)
        enc, dec = (0, sa.packets) if sa.inbound else (sa.packets, 0)
        rows.append((sa.conn_id, sa.flow.iface, sa.local, alg, enc, dec))
    for conn, iface, addr, alg, enc, dec in sorted(rows, key=lambda r: r[0]):
        lines.append(f"{conn:>4} {iface:<20} {str(addr):<15} {'set':<6} {alg:<18} {enc:>8} {dec:>8}")
    lines.append("")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the 15.x layouts
#
# Authorities: ``show crypto isakmp sa`` and ``show crypto ipsec sa`` of a 15.x router with
# software crypto (tests/samples/ios15_*: ``IPv4 Crypto ISAKMP SA`` heading, conn-id 1001 for the
# engine's connection SW:1, ``conn id: 1, flow_id: SW:1, sibling_flags 80000040``, ``Status:
# ACTIVE(ACTIVE)``); ``show crypto map`` of a 15.x router (``Crypto Map IPv4 "CMAP" 1 ...``,
# ``Responder-Only (Y/N): N``, the transform sets one per line); the detail counters as a 15.x/XE
# ``show crypto ipsec sa detail`` prints them.

ISAKMP_CONN_BASE = 1000     # 15.x numbers ISAKMP SAs from 1001 (C-id 1001 is the engine's SW:1)
REPLAY_WINDOW = 64          # IOS's default anti-replay window


def _plaintext_mtu(t, path_mtu: int) -> int:
    """The largest packet that fits the path once encrypted: outer IP header, ESP header, IV, the
    payload padded to the cipher's block with its 2-byte trailer, ICV.  In transport mode the packet's
    own header is the outer one.  Gives the 15.x samples' 1438 (esp-aes esp-sha-hmac, tunnel, 1500),
    1446 (esp-3des esp-sha256-hmac), 1358 (esp-null esp-sha-hmac, 1400) and 1458 (esp-aes
    esp-sha256-hmac, transport)."""
    from emulator.wire import isakmp as K
    cipher = E.CIPHERS[t.cipher]
    room = path_mtu - 20 - E.HEADER_LEN - cipher.iv_size - E.AUTHS[t.auth or E.AUTH_NONE].icv_size
    padded = room - room % cipher.block_size
    return padded - 2 + (0 if t.mode == K.ENCAP_TUNNEL else 20)


def _flow_pfs(sub: "CryptoSubsystem", f: "IpsecFlow") -> str | None:
    """The ``set pfs`` group of the crypto map entry (or the dynamic map behind a temporary one) of a flow."""
    cfg = sub.config
    for entry in sub.map_entries(cfg, f.map_name):
        if entry.seq == f.seq and not entry.dynamic_map:
            return entry.pfs
    for temp in sub.temporary_entries(f.map_name):
        if temp.seq == f.seq:
            dyn = cfg.dynamic_maps.get((temp.dynamic_map, temp.dynamic_seq))
            return dyn.pfs if dyn is not None else None
    return None


def _sa_block_15(sa: "IpsecSA", now: int, detail: bool) -> list[str]:
    t = sa.transform
    replay = "Y" if t.auth else "N"
    if detail and t.auth:
        replay += f"  replay window size: {REPLAY_WINDOW}"
    # sibling_flags: 80000040 on the samples' tunnel-mode crypto map SAs, 80000000 in transport mode.
    sibling = "80000040" if t.mode_text == "Tunnel" else "80000000"
    return [f"      spi: 0x{sa.spi:X}({sa.spi})",
            f"        transform: {t.text} ,",
            f"        in use settings ={{{t.mode_text}, }}",
            f"        conn id: {sa.flow_id}, flow_id: SW:{sa.flow_id}, sibling_flags {sibling}, "
            f"crypto map: {sa.flow.map_name}",
            f"        sa timing: remaining key lifetime (k/sec): ({sa.remaining_kb()}/{sa.remaining_seconds(now)})",
            f"        IV size: {t.iv_size} bytes",
            f"        replay detection support: {replay}",
            "        Status: ACTIVE(ACTIVE)",
            ""]


def _flow_lines_15(sub: "CryptoSubsystem", f: "IpsecFlow", now: int, local_addr: IPv4Address,
                   detail: bool) -> list[str]:
    out = f.current_outbound
    peer = f.peer or ZERO
    flags = "origin_is_acl," if f.origin_is_acl else ""
    lines = ["   protected vrf: (none)",
             f"   local  ident (addr/mask/prot/port): ({f.local_proxy.text()})",
             f"   remote ident (addr/mask/prot/port): ({f.remote_proxy.text()})",
             f"   current_peer {peer} port 500",
             f"     PERMIT, flags={{{flags}}}",
             f"    #pkts encaps: {f.encaps}, #pkts encrypt: {f.encrypt}, #pkts digest: {f.digest}",
             f"    #pkts decaps: {f.decaps}, #pkts decrypt: {f.decrypt}, #pkts verify: {f.verify}",
             "    #pkts compressed: 0, #pkts decompressed: 0",
             "    #pkts not compressed: 0, #pkts compr. failed: 0",
             "    #pkts not decompressed: 0, #pkts decompress failed: 0"]
    if detail:
        lines += [f"    #pkts no sa (send) {f.send_errors}, #pkts invalid sa (rcv) {f.invalid_sa}",
                  f"    #pkts encaps failed (send) 0, #pkts decaps failed (rcv) {f.decaps_failed}",
                  f"    #pkts invalid prot (recv) 0, #pkts verify failed: {f.verify_failed}",
                  f"    #pkts invalid identity (recv) {f.invalid_identity}, #pkts invalid len (rcv) 0",
                  "    #pkts replay rollover (send): 0, #pkts replay rollover (rcv) 0",
                  f"    ##pkts replay failed (rcv): {f.replay_failed}",
                  "    #pkts tagged (send): 0, #pkts untagged (rcv): 0",
                  "    #pkts not tagged (send): 0, #pkts not untagged (rcv): 0",
                  "    #pkts internal err (send): 0, #pkts internal err (recv) 0"]
    else:
        lines.append(f"    #send errors {f.send_errors}, #recv errors {f.recv_errors}")
    path_mtu, ip_mtu = f.path_mtu, f.ip_mtu   # the values the 12.2 layout prints too
    plain = _plaintext_mtu(out.transform, path_mtu) if out else path_mtu
    pfs = _flow_pfs(sub, f)
    lines += ["",
              f"     local crypto endpt.: {f.local_addr or local_addr}, remote crypto endpt.: {peer}",
              f"     plaintext mtu {plain}, path mtu {path_mtu}, ip mtu {ip_mtu}, ip mtu idb {f.iface}",
              f"     current outbound spi: 0x{out.spi:X}({out.spi})" if out else "     current outbound spi: 0x0(0)",
              f"     PFS (Y/N): {'Y' if pfs else 'N'}, DH group: {pfs or 'none'}",
              ""]
    for title, sas in (("inbound esp sas:", f.inbound), ("inbound ah sas:", []), ("inbound pcp sas:", []),
                       ("outbound esp sas:", f.outbound), ("outbound ah sas:", []), ("outbound pcp sas:", [])):
        lines.append(f"     {title}")
        if not sas:
            lines.append("")
        for sa in sas:
            lines += _sa_block_15(sa, now, detail)
    return lines


def _isakmp_sa_15(sub: "CryptoSubsystem") -> str:
    """15.x: the IPv4 table with its heading and status column, then the (empty) IPv6 one.  An SA in
    negotiation is ACTIVE too; one being deleted is gone from the engine, so ``(deleted)`` never shows."""
    lines = ["IPv4 Crypto ISAKMP SA", "dst             src             state          conn-id status"]
    for sa in sub.ike.sas():
        lines.append(f"{str(sa.dst):<16}{str(sa.src):<16}{sa.state:<15}{ISAKMP_CONN_BASE + sa.conn_id:>7} ACTIVE")
    lines += ["", "IPv6 Crypto ISAKMP SA", ""]
    return "\n".join(lines) + "\n"


def _transform_sets_15(cfg, names: list[str]) -> list[str]:
    lines = ["        Transform sets={"]
    for n in names:
        ts = cfg.transform_sets.get(n)
        if ts is not None:
            lines.append(f"                {n}:  {{ {' '.join(ts.transforms)}  }} ,")
    return lines + ["        }"]


__all__ = ["show_crypto_ipsec_sa", "show_crypto_isakmp_sa", "show_crypto_isakmp_policy", "show_crypto_map",
           "show_crypto_ipsec_transform_set", "show_crypto_ipsec_sa_lifetime", "show_crypto_engine_connections_active",
           "flows_for_show"]
