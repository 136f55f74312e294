"""IOS 12.2 wording of ``debug crypto isakmp`` / ``ipsec`` / ``engine``, from the engines' trace records.

The engines report what happened as ``emulator.engines.ike.events.Trace``
(a category, a kind, the fields); :func:`render` turns one into the console
messages IOS prints for it.  A message may span lines (the ``(key eng. msg.)``
continuation lines of reference §3.2/§3.3): the console stamps its first line
only.

Wording authorities: the 12.1/12.2 debug of reference §3.2 (``ISAKMP (0:N):
...``, ``sending packet to X (I) MM_NO_STATE`` without ports, no ``Input =`` /
``Old State`` lines), §3.3 for the key engine blocks and ``Send initial
contact``, §3.5 for the failure lines; lines no sample shows are built the
same way, and lines that explain what the emulator refused (a message that
fails a check) say so in plain words.
"""

from __future__ import annotations

from typing import Callable, Mapping

from emulator.engines.ike.events import Trace
from emulator.engines.ike.policy import (
    MISMATCH_AUTH,
    MISMATCH_ENCRYPTION,
    MISMATCH_GROUP,
    MISMATCH_HASH,
    MISMATCH_LIFETIME,
    MISMATCH_PRESHARED,
    EspTransform,
    ProxyId,
)
from emulator.engines.ike.sa import signed_mid
from emulator.engines.ipsec.sad import IpsecSA
from emulator.wire import esp as E
from emulator.wire import isakmp as K
from emulator.wire.ipv4 import PROTO_ESP

__all__ = ["render", "render_text"]

# --------------------------------------------------------------------------- attribute lines

# Keyed by plain ints: attribute values arrive in the trace fields as ints, not as the enum members.
_ENC: dict[int, str] = {K.ENC_DES_CBC: "DES-CBC", K.ENC_3DES_CBC: "3DES-CBC", K.ENC_AES_CBC: "AES-CBC"}
_HASH: dict[int, str] = {K.HASH_MD5: "MD5", K.HASH_SHA: "SHA"}
_AUTH: dict[int, str] = {K.AUTH_PRE_SHARED: "pre-share", K.AUTH_RSA_SIG: "RSA sig", K.AUTH_RSA_ENC: "RSA encr"}
_ESP: dict[int, str] = {E.ESP_DES: "ESP_DES", E.ESP_3DES: "ESP_3DES", E.ESP_AES: "ESP_AES", E.ESP_NULL: "ESP_NULL"}
_ESP_AUTH: dict[int, str] = {E.AUTH_HMAC_MD5: "HMAC-MD5", E.AUTH_HMAC_SHA: "HMAC-SHA"}

# Notify names as IOS debugs print them (``processing NOTIFY PROPOSAL_NOT_CHOSEN``, from memory).
_IOS_NOTIFY: dict[int, str] = {K.NO_PROPOSAL_CHOSEN: "PROPOSAL_NOT_CHOSEN", K.INVALID_ID_INFORMATION: "INVALID_ID_INFO"}

# Why an ISAKMP transform does not match a policy: the 12.x-15.x debug lines (reference §3.5).
_MISMATCH = {
    MISMATCH_ENCRYPTION: "Encryption algorithm offered does not match policy!",
    MISMATCH_HASH: "Hash algorithm offered does not match policy!",
    MISMATCH_PRESHARED: "Preshared authentication offered but does not match policy!",
    MISMATCH_AUTH: "Authentication method offered does not match policy!",
    MISMATCH_GROUP: "Diffie-Hellman group offered does not match policy!",
    MISMATCH_LIFETIME: "Lifetime offered is greater than policy!",
    "rsa_unsupported": "RSA signatures need a certificate, and none is enrolled",
    "no_key_for_peer": "no pre-shared key for this peer",
    "transform_not_offered": "transform was not offered",
}


def vpi(value: int, size: int = 4) -> str:
    """IOS prints a variable attribute byte by byte: ``0x0 0x1 0x51 0x80`` (reference §3.3, §3.5)."""
    return " ".join(f"0x{b:x}" for b in value.to_bytes(max(size, (value.bit_length() + 7) // 8), "big"))


def life_duration_text(prefix: str, value: int) -> str:
    """``life duration (basic) of 60`` or ``life duration (VPI) of  0x0 0x1 0x51 0x80``
    (two spaces after ``of`` in a 12.x capture, itcertnotes.blogspot.com 2011)."""
    if value <= 0xFFFF:
        return f"{prefix}life duration (basic) of {value}"
    return f"{prefix}life duration (VPI) of  {vpi(value)}"


def _isakmp_attribute(attr: int, v: int) -> str | None:
    if attr == K.OAKLEY_ENCRYPTION:
        return f"encryption {_ENC.get(v, v)}"
    if attr == K.OAKLEY_HASH:
        return f"hash {_HASH.get(v, v)}"
    if attr == K.OAKLEY_GROUP_DESCRIPTION:
        return f"default group {v}"
    if attr == K.OAKLEY_AUTH_METHOD:
        return f"auth {_AUTH.get(v, v)}"
    if attr == K.OAKLEY_LIFE_TYPE:
        return "life type in seconds" if v == K.LIFE_SECONDS else "life type in kilobytes"
    if attr == K.OAKLEY_LIFE_DURATION:
        return life_duration_text("", v)
    if attr == K.OAKLEY_KEY_LENGTH:
        return f"keylength of {v}"
    return None


def _transform_name(transform_id: int) -> str:
    return _ESP.get(transform_id, str(transform_id))


def _ipsec_attribute(attr: int, v: int) -> str | None:
    if attr == K.IPSEC_ENCAPSULATION_MODE:
        return f"encaps is {v}"
    if attr == K.IPSEC_SA_LIFE_TYPE:
        return "SA life type in seconds" if v == K.LIFE_SECONDS else "SA life type in kilobytes"
    if attr == K.IPSEC_SA_LIFE_DURATION:
        return life_duration_text("SA ", v)
    if attr == K.IPSEC_AUTH_ALGORITHM:
        return f"authenticator is {_ESP_AUTH.get(v, v)}"
    if attr == K.IPSEC_KEY_LENGTH:
        return f"key length is {v}"
    if attr == K.IPSEC_GROUP_DESCRIPTION:
        return f"group is {v}"
    return None


# --------------------------------------------------------------------------- trace fields

# The engines fill each kind's fields with fixed types; these accessors state them.

def _int(f: Mapping[str, object], key: str) -> int:
    v = f[key]
    assert isinstance(v, int), f"trace field {key!r} is {v!r}, not an int"
    return v


def _proxy(f: Mapping[str, object], key: str) -> ProxyId:
    v = f[key]
    assert isinstance(v, ProxyId), f"trace field {key!r} is {v!r}, not a ProxyId"
    return v


def _transform(f: Mapping[str, object]) -> EspTransform:
    v = f["transform"]
    assert isinstance(v, EspTransform), f"trace field 'transform' is {v!r}, not an EspTransform"
    return v


# --------------------------------------------------------------------------- blocks


def _key_lines(title: str, local: object, peer: object, lp: ProxyId, rp: ProxyId, t: EspTransform, lifedur: str,
               spi: int, conn_id: int, flags: str, inbound: bool) -> str:
    """A ``(key eng. msg.)`` block in the 12.1/12.2 wording (reference §3.2): src/dest, src_proxy/dest_proxy."""
    if inbound:
        first = f"  (key eng. msg.) dest= {local}, src= {peer},"
        proxies = [f"    dest_proxy= {lp.text()} (type={lp.id_type}),",
                   f"    src_proxy= {rp.text()} (type={rp.id_type}),"]
    else:
        first = f"  (key eng. msg.) src= {local}, dest= {peer},"
        proxies = [f"    src_proxy= {lp.text()} (type={lp.id_type}),",
                   f"    dest_proxy= {rp.text()} (type={rp.id_type}),"]
    return "\n".join([title, first, *proxies,
                      f"    protocol= ESP, transform= {t.text} ,",
                      f"    lifedur= {lifedur},",
                      f"    spi= 0x{spi:X}({spi}), conn_id= {conn_id}, keysize= 0, flags= {flags}"])


def _creating_ipsec_sas(f: Mapping[str, object]) -> str:
    # The 12.x "Creating IPSec SAs" block (reference §3.3), flags as printed there
    # for a tunnel-mode SA without PFS.
    lp, rp = f["local_proxy"], f["remote_proxy"]
    assert isinstance(lp, ProxyId) and isinstance(rp, ProxyId)

    def lines(direction: str, src: object, dst: object, psrc: ProxyId, pdst: ProxyId, spi: object,
              conn: object) -> list[str]:
        return [f"        {direction} SA from {src} to {dst} (proxy {psrc.address} to {pdst.address})",
                f"        has spi {spi} and conn_id {conn} and flags 4",
                f"        lifetime of {f['life_s']} seconds",
                f"        lifetime of {f['life_kb']} kilobytes"]
    text = [f"ISAKMP (0:{f['conn']}): Creating IPSec SAs"]
    text += lines("inbound", f["peer"], f["local"], rp, lp, f"0x{f['spi_in']:X}", f["conn_in"])
    text += lines("outbound", f["local"], f["peer"], lp, rp, f["spi_out"], f["conn_out"])
    return "\n".join(text)


def _sa_lines(title: str, sa: IpsecSA) -> str:
    return "\n".join([title,
                      f"  (sa) sa_dest= {sa.dest}, sa_prot= {PROTO_ESP}, ",
                      f"    sa_spi= 0x{sa.spi:X}({sa.spi}),",
                      f"    sa_trans= {sa.transform.text} , sa_conn_id= {sa.conn_id}"])


def _sa(f: Mapping[str, object]) -> IpsecSA:
    sa = f["sa"]
    assert isinstance(sa, IpsecSA)
    return sa


def _initialize_sas(f: Mapping[str, object]) -> str:
    sa = _sa(f)
    return _key_lines("IPSEC(initialize_sas): ,", sa.local, sa.peer,
                      _proxy(f, "local_proxy"), _proxy(f, "remote_proxy"), sa.transform,
                      f"{f['life_s']}s and {f['life_kb']}kb", sa.spi, sa.conn_id, "0x4", sa.inbound)


def _sa_request(f: Mapping[str, object]) -> str:
    return _key_lines("IPSEC(sa_request): ,", f["local"], f["peer"],
                      _proxy(f, "local_proxy"), _proxy(f, "remote_proxy"), _transform(f),
                      f"{f['life_s']}s and {f['life_kb']}kb", _int(f, "spi"), 0, "0x4004",
                      inbound=False)


def _validate_proposal_request(f: Mapping[str, object]) -> str:
    return _key_lines("IPSEC(validate_proposal_request): proposal part #1,", f["local"], f["peer"],
                      _proxy(f, "local_proxy"), _proxy(f, "remote_proxy"), _transform(f), "0s and 0kb", 0, 0, "0x4",
                      inbound=True)


def _sa_aging(f: Mapping[str, object]) -> str:
    sa = _sa(f)
    return (f"IPSEC(sa_aging): lifetime expiring,\n  (sa) sa_dest= {sa.dest}, sa_prot= {PROTO_ESP}, "
            f"sa_spi= 0x{sa.spi:X}({sa.spi})")


def _notify_name(f: Mapping[str, object]) -> str:
    notify = f.get("notify")
    return _IOS_NOTIFY.get(notify, str(f["name"])) if isinstance(notify, int) else str(f["name"])


def _deleting_node(f: Mapping[str, object]) -> str:
    if "notify" in f:
        reason = _notify_name(f).lower().replace("_", " ")
    else:
        reason = str(f["reason"])
    error = "TRUE" if f["error"] else "FALSE"
    return f"ISAKMP (0:{f['conn']}): deleting node {signed_mid(_int(f, 'mid'))} error {error} reason \"{reason}\""


# --------------------------------------------------------------------------- the table

# kind -> template (``{tag}`` is ``0:<conn id>``, ``{mid}`` the signed message ID) or a function of the fields.
_Line = str | Callable[[Mapping[str, object]], "str | list[str] | None"]
_KINDS: dict[str, _Line] = {
    # main mode
    "sending": "ISAKMP ({tag}): sending packet to {peer} ({role}) {state}",
    "received": "ISAKMP ({tag}): received packet from {peer} ({role}) {state}",
    "received_new": "ISAKMP (0:0): received packet from {peer} (N) NEW SA",
    "local_port": "ISAKMP: local port 500, remote port 500",
    "received_ke_message": "ISAKMP: received ke message ({index}/1)",
    "beginning_main_mode": "ISAKMP ({tag}): beginning Main Mode exchange",
    "processing": "ISAKMP ({tag}): processing {payload} payload. message ID = {mid}",
    "no_key": "ISAKMP: No cert, and no keys (public or pre-shared) with remote peer {peer}",
    "no_psk_policy": "ISAKMP: no ISAKMP policy with pre-shared key authentication "
                     "(RSA signatures need a certificate, and none is enrolled)",
    "found_key": "ISAKMP ({tag}): found peer pre-shared key matching {peer}",
    "checking_transform": "ISAKMP ({tag}): Checking ISAKMP transform {number} against priority {priority} policy",
    "isakmp_attribute": lambda f: _prefixed("ISAKMP:      ", _isakmp_attribute(_int(f, "attr"), _int(f, "value"))),
    "reason": lambda f: f"ISAKMP (0:{f['conn']}): {_MISMATCH.get(str(f['reason']), f['reason'])}",
    "atts_acceptable": "ISAKMP ({tag}): atts are acceptable. Next payload is {next_payload}",
    "atts_not_acceptable": "ISAKMP ({tag}): atts are not acceptable. Next payload is {next_payload}",
    "no_offers_accepted": "ISAKMP ({tag}): no offers accepted!",
    "sa_not_acceptable": "ISAKMP ({tag}): SA not acceptable!",
    "psk_auth": "ISAKMP ({tag}): SA is doing pre-shared key authentication using id type ID_IPV4_ADDR",
    "skeyid_generated": "ISAKMP ({tag}): SKEYID state generated",
    "send_initial_contact": "ISAKMP ({tag}): Send initial contact",
    # 12.2's dump of the ID payload it sends: no address line, the length of the ID data after the
    # generic payload header (12.3 adds ``address`` and counts the header: reference §3.3).
    "id_payload": lambda f: [f"ISAKMP (0:{f['conn']}): ID payload\n"
                             f"        next-payload : {f['next_payload']}\n"
                             f"        type         : {f['id_type']}\n"
                             f"        protocol     : {f['protocol']}\n"
                             f"        port         : {f['port']}\n"
                             f"        length       : {f['length']}",
                             f"ISAKMP ({f['conn']}): Total payload length: {f['total']}"],

    "sa_authenticated": "ISAKMP ({tag}): SA has been authenticated with {peer}",
    "sa_not_authenticated": "ISAKMP ({tag}): SA not authenticated",
    # 12.x wording from memory of IOS debugs (no capture of it in the reference).
    "process_initial_contact": "ISAKMP ({tag}): Process initial contact,\n"
                               "bring down existing phase 1 and 2 SA's with local {local} remote {peer} "
                               "remote port 500",
    "phase1_duplicate": "ISAKMP ({tag}): phase 1 packet is a duplicate of a previous packet.",
    "phase2_duplicate": "ISAKMP ({tag}): phase 2 packet is a duplicate of a previous packet.",
    "retransmitting_due_to_duplicate": "ISAKMP ({tag}): retransmitting due to retransmit phase {phase}",
    "retransmit_counter": "ISAKMP ({tag}): incrementing error counter on sa: retransmit phase 1",
    "retransmitting_phase1": "ISAKMP ({tag}): retransmitting phase 1 {state}...",
    "retransmitting_phase2": "ISAKMP ({tag}): retransmitting phase 2 {mid} QM_IDLE...",
    "purging_sa": "ISAKMP ({tag}): purging SA., lifetime of {lifetime} seconds expired",
    "deleting_sa_reason": 'ISAKMP ({tag}): deleting SA reason "{reason}"',
    "unknown_cookies": "ISAKMP (0:0): received packet from {peer} with unknown cookies, ignored",
    "unsupported_exchange": "ISAKMP ({tag}): exchange type {exchange} not supported, packet ignored",
    # quick mode
    "beginning_quick_mode": "ISAKMP ({tag}): beginning Quick Mode exchange, M-ID of {mid}",
    "set_new_node": "ISAKMP: set new node {mid} to QM_IDLE",
    "checking_ipsec_proposal": "ISAKMP ({tag}): Checking IPSec proposal {number}",
    "ipsec_transform": lambda f: f"ISAKMP: transform {f['number']}, {_transform_name(_int(f, 'transform_id'))}",
    "ipsec_attributes_header": "ISAKMP:   attributes in transform:",
    "ipsec_attribute": lambda f: _prefixed("ISAKMP:      ", _ipsec_attribute(_int(f, "attr"), _int(f, "value"))),
    "ipsec_atts_acceptable": "ISAKMP ({tag}): atts are acceptable.",
    "ipsec_atts_not_acceptable": "ISAKMP ({tag}): atts are not acceptable.",
    "asking_spi": "ISAKMP ({tag}): asking for 1 spis from ipsec",
    "ipsec_policy_invalidated": "ISAKMP ({tag}): IPSec policy invalidated proposal",
    "processing_responder_lifetime": "ISAKMP ({tag}): processing NOTIFY RESPONDER_LIFETIME protocol {protocol}",
    "deleting_node": _deleting_node,
    "creating_ipsec_sas": _creating_ipsec_sas,
    # informational
    "processing_notify": lambda f: (f"ISAKMP (0:{f['conn']}): processing NOTIFY {_notify_name(f)} protocol "
                                    f"{f['protocol']}\n        spi {f['spi']}, message ID = "
                                    f"{signed_mid(_int(f, 'mid'))}"),
    "notify_has_no_hash": "ISAKMP ({tag}): Notify has no hash. Rejected.",
    "peer_deleted_isakmp_sa": "ISAKMP ({tag}): peer deleted the ISAKMP SA",
    "sending_delete": "ISAKMP ({tag}): sending DELETE for {count} IPsec SA(s) to {peer}",
    # messages refused
    "malformed_payload": "ISAKMP: malformed payload",
    # A pre-shared key mismatch seen from the side that cannot read MM5/MM6 (blissfulidiot.com 2009,
    # "ISAKMP: reserved not zero on payload 5!" then "ISAKMP: malformed payload").
    "reserved_not_zero": lambda f: ["ISAKMP: reserved not zero on payload {}!".format(f["payload"]),
                                    "ISAKMP: malformed payload"],
    "decrypt_failed": "ISAKMP ({tag}): decryption of quick mode {mid} failed",
    "expected_encrypted": "ISAKMP ({tag}): expected an encrypted packet",
    "id_or_hash_missing": "ISAKMP ({tag}): ID or HASH payload missing",
    "info_before_phase1": "ISAKMP ({tag}): encrypted informational before phase 1 completed, ignored",
    "info_hash_mismatch": "ISAKMP ({tag}): HASH of the informational exchange does not verify, ignored",
    "ke_or_nonce_missing": "ISAKMP ({tag}): KE or NONCE payload missing",
    "mm_unexpected": "ISAKMP ({tag}): main mode packet in state {state}, ignored",
    "nonce_size": "ISAKMP ({tag}): nonce of {size} bytes",
    "peer_hash_mismatch": "ISAKMP ({tag}): hash of the peer does not verify (pre-shared key mismatch?)",
    "qm1_incomplete": "ISAKMP ({tag}): quick mode message 1 lacks SA or NONCE, or has one ID payload",
    "qm2_ids_differ": "ISAKMP ({tag}): responder's ID payloads differ from the ones offered",
    "qm2_incomplete": "ISAKMP ({tag}): quick mode message 2 lacks SA or NONCE",
    "qm2_no_ke": "ISAKMP ({tag}): PFS requested but no KE payload in quick mode message 2",
    "qm2_not_one_of_ours": "ISAKMP ({tag}): responder's SA payload does not select one of the proposals offered",
    "qm2_transform_differs": "ISAKMP ({tag}): responder's transform differs from the one offered",
    "qm_already_complete": "ISAKMP ({tag}): quick mode {mid} is already complete, packet ignored",
    "qm_before_phase1": "ISAKMP ({tag}): quick mode packet before phase 1 completed (state {state}), ignored",
    "qm_hash_mismatch": "ISAKMP ({tag}): HASH({number}) does not verify, quick mode packet ignored",
    "qm_no_hash_first": "ISAKMP ({tag}): quick mode message does not start with a HASH payload",
    "responder_sa_not_one_transform": "ISAKMP ({tag}): SA payload of the responder must hold one transform",
    "too_many_quick_modes": "ISAKMP ({tag}): too many quick mode exchanges in progress",
    # crypto engine
    "generate_alg_parameter": "CryptoEngine0: generate alg parameter",
    "dh_phase1_status": "CRYPTO_ENGINE: Dh phase 1 status: {status}",
    "create_skeyid": "CryptoEngine0: create ISAKMP SKEYID for conn id {conn}",
    "clear_dh": "CryptoEngine0: clear dh number for conn id {conn}",
    "create_ipsec_sa": "CryptoEngine0: create ipsec SA for conn id {conn}",
    "internal_error": "CRYPTO: internal error in {where}",
    # IPsec
    "sa_request": _sa_request,
    "sa_request_no_peer": "IPSEC(sa_request): crypto map {map} {seq} has no peer, no SA requested",
    "sa_request_transform_unusable": "IPSEC(sa_request): transform set {name}: {reason}",
    "sa_request_no_transform": "IPSEC(sa_request): crypto map {map} {seq} has no usable transform set, "
                               "no SA requested",
    "validate_proposal_request": _validate_proposal_request,
    "validate_transform_proposal": "IPSEC(validate_transform_proposal): {reason}",
    "transform_not_supported": "IPSEC(validate_transform_proposal): transform proposal "
                               "(prot {protocol}, trans {cipher}, hmac_alg {auth}) not supported",
    "key_engine_queue_event": "IPSEC(key_engine): got a queue event...",
    "spi_response": lambda f: (f"IPSEC(spi_response): getting spi {f['spi']} for SA \n"
                               f"        from {f['peer']!s:<15} to {f['local']!s:<15} for prot 3"),
    "initialize_sas": _initialize_sas,
    "create_sa": lambda f: _sa_lines("IPSEC(create_sa): sa created,", _sa(f)),
    "delete_notify": "IPSEC(key_engine_delete_sas): rec'd delete notify from ISAKMP",
    "delete_sa_spi": "IPSEC(key_engine_delete_sas): delete SA with spi {spi}/50 for {peer}",
    "sa_aging": _sa_aging,
    "delete_sa": lambda f: _sa_lines("IPSEC(delete_sa): deleting SA,", _sa(f)),
}


def _prefixed(prefix: str, line: str | None) -> str | None:
    return None if line is None else prefix + line


def render(trace: Trace) -> list[str]:
    """The console messages of one trace (none for an attribute IOS does not print)."""
    line = _KINDS.get(trace.kind)
    fields = trace.fields
    if line is None:
        return [f"{trace.kind} {dict(fields)}"]
    if isinstance(line, str):
        values = dict(fields)
        if "conn" in values:
            values["tag"] = f"0:{values['conn']}"
        if "mid" in values:
            values["mid"] = signed_mid(_int(values, "mid"))
        return [line.format_map(values)]
    out = line(fields)
    if out is None:
        return []
    return out if isinstance(out, list) else [out]


def render_text(trace: Trace) -> str:
    """All of a trace's messages as one text (for tests and captures)."""
    return "\n".join(render(trace))
