"""Walkthrough 13 (soak), finding 1: an MN de-registered at MAG-1, attached at MAG-2, then back at MAG-1 with
Handoff Indicator 3 while its MAG-1 entry still drains (MinDelayBeforeBCEDelete, RFC 5213 5.3.5).

The PBU names no prefix and no MN-LL-ID, so the lookup is RFC 5213 5.4.1.3 (key: the MN-ID). The LMA holds two
entries for the MN: the draining one at MAG-1 and the live one at MAG-2. pmip6's added rule (Proxy-CoA and ATT
match, src/pmip6/core/lookup.py) revives the draining entry at MAG-1 and leaves the live session at MAG-2 as it
is, unrevoked: the MN then holds two live sessions (two home addresses, two key pairs), and MAG-2 refreshes its
stale one for as long as it believes the MN attached. The soak saw 7 of 60 MNs end so in 100 s of churn.
"""

from __future__ import annotations

import dataclasses

from harness import domain

from pmip6.core.bce import BceState
from pmip6.core.lma import MobileNodeProfile
from pmip6.core.mag_settings import AttachRequest
from pmip6.wire.numbers import AccessTechnologyType, HandoffIndicator

MN = b"mnd@opA.example"


def _attach(hi: int) -> AttachRequest:
    return AttachRequest(mn_id=MN, att=AccessTechnologyType.IEEE_802_11, hi=hi)


def test_an_mn_back_at_mag_1_while_its_entry_there_drains_keeps_no_second_live_session_at_mag_2() -> None:
    network, (mag_1, mag_2) = domain(mags=2, profiles=(MobileNodeProfile(MN, "opA"),))
    network.lma.reconfigure(dataclasses.replace(network.lma.settings, binding_revocation=True), now=network.now)
    network.attach(mag_1, _attach(HandoffIndicator.NEW_INTERFACE))
    network.run_for(1)
    network.detach(mag_1, MN)  # de-registered: drains at the LMA for MinDelayBeforeBCEDelete (10 s)
    network.run_for(1)
    network.attach(mag_2, _attach(HandoffIndicator.NEW_INTERFACE))  # a new session at MAG-2
    network.run_for(1)
    network.attach(mag_1, _attach(HandoffIndicator.HANDOFF_BETWEEN_MAGS))  # back at MAG-1, 2 s later
    network.run_for(15)

    live = [bce for bce in network.lma.bindings_of(MN) if bce.state is BceState.ACTIVE]
    assert [bce.proxy_coa.address for bce in live] == [mag_1.settings.proxy_coa], (
        "one live session, where the MN is; MAG-2's is moved or revoked")
    assert list(mag_2.entries()) == [], "MAG-2 no longer holds the MN"
