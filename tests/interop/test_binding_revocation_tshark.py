"""tshark as the independent oracle of pmip6's Binding Revocation Indication and Acknowledgement (RFC 5846
section 5).

Each BRI and BRA is encoded over IPv6 (next header 135, MH checksum over the pseudo-header, checked against
Scapy's) and over IPv4/UDP 5436 (MH checksum 0, RFC 5846 section 4), written into one pcap with PcapWriter, and
tshark must show the MH type 16, the B.R. Type, the trigger or status, the sequence number, the P/V/G flags,
zero reserved bits and the MN-ID / HNP / IPv4 HoA Request options exactly as encoded, with no expert
warning. Wireshark's packet-mip6.c names the BRI flags ``mip6.bri_ip/iv/ig`` and the BRA flags
``mip6.bri_ap/av/ag``. Scapy (2.8) has no Binding Revocation layer, so it serves only as the checksum oracle here.
"""

from __future__ import annotations

from ipaddress import IPv4Address
from pathlib import Path

import pytest
from tshark_fields import (HOME_PREFIX, MAG6, TSHARK_MARKS, Case, expected_row, pmip6_decode_json,
                           signaling_cases)

from pmip6.wire.messages import BindingRevocationAcknowledgement, BindingRevocationIndication
from pmip6.wire.numbers import BindingRevocationStatus, BRFlags, RevocationTrigger
from pmip6.wire.options import (AlternateCareOfAddressOption, HomeNetworkPrefixOption, IPv4HomeAddressRequestOption,
                                MNIdentifierOption)

pytestmark = TSHARK_MARKS
FIELDS = [
    "frame.number", "mip6.mhtype", "mip6.csum", "mip6.bri_br.type", "mip6.bri_r.trigger", "mip6.bri_status",
    "mip6.bri_seqnr", "mip6.bri_ip", "mip6.bri_iv", "mip6.bri_ig", "mip6.bri_ap", "mip6.bri_av", "mip6.bri_ag",
    "mip6.bri_res", "mip6.mnid.subtype", "mip6.mnid.identifier", "mip6.nemo.mnp.mnp", "mip6.nemo.mnp.pfl",
    "mip6.ipv4ha.ha", "mip6.ipv4ha.preflen", "mip6.acoa.acoa",
    "ip.checksum.status", "udp.length", "udp.srcport", "udp.dstport", "udp.checksum.status", "_ws.expert.message",
]
FLAG_FIELDS = {BindingRevocationIndication: ("mip6.bri_ip", "mip6.bri_iv", "mip6.bri_ig"),
               BindingRevocationAcknowledgement: ("mip6.bri_ap", "mip6.bri_av", "mip6.bri_ag")}


def _messages() -> list[BindingRevocationIndication | BindingRevocationAcknowledgement]:
    """A BRI per kind of revocation (one MN; its IPv4 HoA only, named by an IPv4 Home Address Request option as
    RFC 5846 section 6.1.1 requires with V and P; global, with the MAG's identity, also naming its Proxy-CoA in an
    Alternate Care-of Address option) and the BRA answering each."""
    mn_id = MNIdentifierOption(b"mn1@example.com")
    revoked = (mn_id, HomeNetworkPrefixOption(HOME_PREFIX, 64))
    mag_identity = (MNIdentifierOption(b"mag1.example.net"),)
    return [
        BindingRevocationIndication(RevocationTrigger.INTER_MAG_HANDOVER_DIFFERENT_ACCESS_TYPE, 7, BRFlags.P, revoked),
        BindingRevocationAcknowledgement(BindingRevocationStatus.SUCCESS, 7, BRFlags.P),
        BindingRevocationIndication(RevocationTrigger.ADMINISTRATIVE_REASON, 8, BRFlags.P | BRFlags.V,
                                    (mn_id, IPv4HomeAddressRequestOption(IPv4Address("10.0.0.2"), 24))),
        BindingRevocationAcknowledgement(BindingRevocationStatus.BINDING_DOES_NOT_EXIST, 8, BRFlags.P | BRFlags.V,
                                         revoked),
        BindingRevocationIndication(RevocationTrigger.PER_PEER_POLICY, 65535, BRFlags.P | BRFlags.G, mag_identity),
        BindingRevocationAcknowledgement(BindingRevocationStatus.GLOBAL_REVOCATION_NOT_AUTHORIZED, 65535,
                                         BRFlags.P | BRFlags.V | BRFlags.G),
        BindingRevocationIndication(RevocationTrigger.PER_PEER_POLICY, 9, BRFlags.P | BRFlags.G,
                                    (*mag_identity, AlternateCareOfAddressOption(MAG6))),  # RFC 5846 9.2
        BindingRevocationAcknowledgement(BindingRevocationStatus.SUCCESS, 9, BRFlags.P | BRFlags.G),
    ]


def _expected(message: BindingRevocationIndication | BindingRevocationAcknowledgement) -> dict[str, str]:
    expected = {"mip6.mhtype": "16", "mip6.bri_seqnr": str(message.sequence), "mip6.bri_res": "0x0000"}
    if isinstance(message, BindingRevocationIndication):
        expected |= {"mip6.bri_br.type": "1", "mip6.bri_r.trigger": str(message.trigger)}
    else:
        expected |= {"mip6.bri_br.type": "2", "mip6.bri_status": str(message.status)}
    for flag, name in zip((BRFlags.P, BRFlags.V, BRFlags.G), FLAG_FIELDS[type(message)]):
        expected[name] = "1" if message.flags & flag else "0"
    for option in message.options:
        if isinstance(option, MNIdentifierOption):
            expected |= {"mip6.mnid.subtype": str(option.subtype), "mip6.mnid.identifier": option.identifier.decode()}
        elif isinstance(option, HomeNetworkPrefixOption):
            expected |= {"mip6.nemo.mnp.mnp": str(option.prefix), "mip6.nemo.mnp.pfl": str(option.prefix_length)}
        elif isinstance(option, IPv4HomeAddressRequestOption):
            expected |= {"mip6.ipv4ha.ha": str(option.address), "mip6.ipv4ha.preflen": str(option.prefix_length)}
        elif isinstance(option, AlternateCareOfAddressOption):
            expected |= {"mip6.acoa.acoa": str(option.address)}
    return expected


def _cases() -> list[Case]:
    cases = []
    for message in _messages():
        name, expected = f"{type(message).__name__} seq={message.sequence}", _expected(message)
        cases += signaling_cases(name, message, expected, from_mag=False)
    return cases


CASES = _cases()


@pytest.mark.parametrize("index", range(len(CASES)), ids=[case.name for case in CASES])
def test_tshark_reports_exactly_what_was_encoded(index: int, rows: list[dict[str, str]]) -> None:
    assert rows[index] == expected_row(FIELDS, index, CASES[index])


def test_pmip6_decode_json_agrees_with_tshark(capture: Path, rows: list[dict[str, str]]) -> None:
    frames = pmip6_decode_json(capture)
    assert len(frames) == len(rows)
    for frame, row in zip(frames, rows):
        assert frame["error"] is None and frame["mh"]["type"] == int(row["mip6.mhtype"])
        assert frame["mh"]["seq"] == int(row["mip6.bri_seqnr"])
        if row["mip6.bri_br.type"] == "1":
            assert frame["mh"]["trigger"] == int(row["mip6.bri_r.trigger"]) and frame["mh"]["status"] is None
        else:
            assert frame["mh"]["status"] == int(row["mip6.bri_status"]) and "trigger" not in frame["mh"]
