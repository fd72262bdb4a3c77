"""What the LMA's revocation sender says a restart must not lose (RFC 5846 8.1, :mod:`pmip6.core.owed_revocation`):
the record of each owed BRI is where that BRI went, and an "Inter-MAG Handover - Unknown" BRI owes nothing; a V-flag
BRI's record (a version 2 one) says it revokes the IPv4 home address binding only, and records written before it
existed still read."""

from __future__ import annotations

import json
import random
import re
from ipaddress import IPv4Address, IPv4Interface, IPv6Network

import pytest

from pmip6.core.events import Peer, RevocationSent, TunnelSession
from pmip6.core.owed_revocation import OwedRevocation
from pmip6.core.revocation_sender import RevocationSender, RevocationTiming
from pmip6.wire.messages import BindingRevocationIndication
from pmip6.wire.numbers import BRFlags, RevocationTrigger
from pmip6.wire.options import IPv4HomeAddressRequestOption, MNIdentifierOption

MAG = IPv4Address("192.0.2.1")
NOW = 1000.0


def _sender() -> RevocationSender:
    return RevocationSender(RevocationTiming(), random.Random(1))


def _session(mn_id: bytes, port: int, lmaa: str) -> TunnelSession:
    return TunnelSession(mn_id=mn_id, peer=Peer(MAG, port), local=IPv4Address(lmaa))


def test_RFC5846_8_1_a_global_bri_is_owed_at_the_mags_latest_port_and_from_its_lmaa_for_every_session() -> None:
    """A global BRI goes to the MAG's latest registration (its port, the LMAA it reached): the stored records say
    so for every session it revokes, so a restart sends it there again, not to an older session's port."""
    older, latest = _session(b"mn1@opA", 5436, "192.0.2.9"), _session(b"mn2@opA", 40000, "192.0.2.10")
    sender = _sender()
    (send,) = sender.revoke_all([older, latest], NOW, to=latest).sends

    owed = sender.owed()
    assert [(revocation.session.mn_id, revocation.session.peer, revocation.session.local) for revocation in owed] == [
        (b"mn1@opA", send.destination, send.source), (b"mn2@opA", send.destination, send.source)]
    assert send.destination == Peer(MAG, 40000) and send.source == IPv4Address("192.0.2.10")
    assert {revocation.whole_mag for revocation in owed} == {True}
    (changed,) = sender.take_owed_changes().values()
    assert changed == owed


def test_RFC5846_8_1_an_inter_mag_handover_unknown_bri_is_not_owed() -> None:
    """Trigger 4 asks the MAG about a session for a Handoff Indicator 4 PBU that waits in memory: a restart loses
    that PBU (its MAG retransmits it), so the question is not stored; sent again, it would revoke where it asks."""
    sender = _sender()
    sender.revoke(_session(b"mn1@opA", 5436, "192.0.2.9"), RevocationTrigger.INTER_MAG_HANDOVER_UNKNOWN, NOW)
    assert sender.outstanding() == 1
    assert sender.owed() == [] and sender.take_owed_changes() == {}


_V_SESSION = TunnelSession(mn_id=b"mn1@opA", peer=Peer(MAG, 5436), local=IPv4Address("192.0.2.9"), tenant="opA",
                           ipv4_home_address=IPv4Address("10.0.0.2"),
                           home_network_prefixes=(IPv6Network("2001:db8:a:1::/64"),), gre=True, downlink_key=11,
                           uplink_key=22)
_V_ADDRESS = IPv4Interface("10.0.0.2/24")


def test_RFC5846_6_1_1_a_v_flag_bri_names_the_address_in_an_ipv4_home_address_request_option_and_no_hnp() -> None:
    sender = _sender()
    outcome = sender.revoke(_V_SESSION, RevocationTrigger.ADMINISTRATIVE_REASON, NOW, ipv4_only=_V_ADDRESS)
    (send,) = outcome.sends
    bri = send.message
    assert isinstance(bri, BindingRevocationIndication) and bri.flags == BRFlags.P | BRFlags.V
    assert bri.options == (MNIdentifierOption(b"mn1@opA"), IPv4HomeAddressRequestOption(IPv4Address("10.0.0.2"), 24))
    assert outcome.events == [RevocationSent(_V_SESSION, RevocationTrigger.ADMINISTRATIVE_REASON, True)]
    assert not sender.revoking(b"mn1@opA", MAG), "the session it leaves its HNPs is still registered there"


def test_RFC5846_8_1_a_v_flag_bri_is_owed_as_a_version_2_record_that_round_trips_and_resumes_as_a_v_flag_bri() -> None:
    sender = _sender()
    sender.revoke(_V_SESSION, RevocationTrigger.ADMINISTRATIVE_REASON, NOW, ipv4_only=_V_ADDRESS)
    (owed,) = sender.owed()
    assert owed == OwedRevocation(_V_SESSION, RevocationTrigger.ADMINISTRATIVE_REASON, False, _V_ADDRESS)
    record = owed.to_record()
    assert (record["record_version"], record["ipv4_only"]) == (2, "10.0.0.2/24")
    assert OwedRevocation.from_record(json.loads(json.dumps(record))) == owed

    (send,) = _sender().resume([owed], NOW + 5).sends
    assert isinstance(send.message, BindingRevocationIndication) and send.message.flags == BRFlags.P | BRFlags.V
    assert send.message.option(IPv4HomeAddressRequestOption) == IPv4HomeAddressRequestOption(_V_ADDRESS.ip, 24)


def test_a_revocation_record_written_before_the_v_flag_still_restores_as_a_whole_session_revocation() -> None:
    """What pmip6 wrote before V-flag records existed, key for key: version 1, no ``ipv4_only``."""
    stored = {"record_version": 1, "mn_id_hex": b"mn1@opA".hex(), "tenant": "opA", "mag": "192.0.2.1",
              "mag_port": 5436, "lmaa": "192.0.2.9", "home_network_prefixes": ["2001:db8:a:1::/64"],
              "ipv4_home_address": "10.0.0.2", "gre": True, "downlink_key": 11, "uplink_key": 22, "tlv": False,
              "udp": False, "trigger": 1, "whole_mag": False}
    revocation = OwedRevocation.from_record(stored)
    assert revocation == OwedRevocation(_V_SESSION, RevocationTrigger.ADMINISTRATIVE_REASON)
    assert revocation.ipv4_only is None and revocation.to_record() == stored, "and is written as it was"


@pytest.mark.parametrize(("changes", "problem"), [
    ({"record_version": 2}, "revocation record without 'ipv4_only'"),
    ({"record_version": 2, "ipv4_only": 167772162}, "ipv4_only must be an IPv4 address with its prefix length"),
    ({"record_version": 2, "ipv4_only": "10.0.0.2/33"}, "unreadable revocation record"),
    ({"record_version": 3}, "unsupported revocation record version 3"),
])
def test_a_v_flag_record_without_its_address_is_refused_saying_why(changes: dict[str, object], problem: str) -> None:
    record = OwedRevocation(_V_SESSION, RevocationTrigger.ADMINISTRATIVE_REASON).to_record() | changes
    with pytest.raises(ValueError, match=re.escape(problem)):
        OwedRevocation.from_record(record)
