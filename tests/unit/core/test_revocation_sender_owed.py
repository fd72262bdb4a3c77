"""What the LMA's revocation sender says a restart must not lose (RFC 5846 8.1, :mod:`pmip6.core.owed_revocation`):
the record of each owed BRI is where that BRI went, and an "Inter-MAG Handover - Unknown" BRI owes nothing."""

from __future__ import annotations

import random
from ipaddress import IPv4Address

from pmip6.core.events import Peer, TunnelSession
from pmip6.core.revocation_sender import RevocationSender, RevocationTiming
from pmip6.wire.numbers import RevocationTrigger

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
