"""mut35: the engine's record changes with no binding event (``LocalMobilityAnchor.take_record_changes``: a V-flag
BRI's BRA ending ``ipv4_withdrawn``) are taken at each outcome when there is no state file, not kept for ever."""

from __future__ import annotations

import dataclasses
import time

from test_persistence import LMAA, MAG_A, PORT, StoreLab, lab  # noqa: F401 (fixture)

from pmip6.core.events import Peer
from pmip6.core.lma import Tenant
from pmip6.wire.messages import BindingRevocationAcknowledgement, BindingRevocationIndication


def test_without_a_state_file_the_record_changes_are_not_kept(lab: StoreLab) -> None:
    """mut35 T03: a reload took MN's IPv4 home address; MAG_A acknowledges the V-flag BRI, which ends the LMA's
    memory of the address: with nowhere to write the row, the engine's note of it goes with the outcome."""
    lab.start_without_state_file()
    engine = lab.lma.lma
    (tenant,) = engine.settings.tenants
    (entry,) = engine.bindings()
    assert entry.ipv4_home_address is not None, "a dual-stack session"
    reloaded = engine.reconfigure(dataclasses.replace(engine.settings, tenants=(
        Tenant(tenant.name, None, tenant.ipv6_prefix_pool),)), time.time())
    (bri,) = [send.message for send in reloaded.sends if isinstance(send.message, BindingRevocationIndication)]
    (bra,) = [send.message for send in lab.mags[MAG_A].receive(bri, Peer(LMAA, PORT), lab.now()).sends
              if isinstance(send.message, BindingRevocationAcknowledgement)]

    lab.lma.on_message(bra, Peer(MAG_A, PORT), LMAA)

    assert entry.ipv4_withdrawn is None, "the BRA ended the memory of the address"
    assert engine.take_record_changes() == set()
