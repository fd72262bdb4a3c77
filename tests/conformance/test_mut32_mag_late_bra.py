"""mut32 review: the MAG's RevocationSender (its global BRI, RFC 5846 9.2) remembers the BRIs it gives up as the
LMA's does (6.3); a late success BRA to one is taken and dropped, not kept for ever."""

from __future__ import annotations

from test_mag_initiated_revocation import GLOBAL, SUCCESS, _deregistrations, _revoking_mag, _the_bri
from test_mag_stub_lma import LMA_UDP, T0

from pmip6.core.revocation_sender import RevocationTiming
from pmip6.wire.messages import BindingRevocationAcknowledgement


def test_RFC5846_9_2_a_late_success_to_the_mags_global_bri_given_up_is_not_kept() -> None:
    mag = _revoking_mag(revocation_timing=RevocationTiming(max_retries=1, initial_delay=1.0, max_delay=2.0))
    bri = _the_bri(mag.shutdown(T0 + 10))
    mag.handle_timer(T0 + 11)
    fallback = mag.handle_timer(T0 + 13)
    assert _deregistrations(fallback)

    late = mag.receive(BindingRevocationAcknowledgement(SUCCESS, bri.sequence, GLOBAL), LMA_UDP, T0 + 14)

    assert late.sends == [] and late.events == []
    assert mag._revocations.take_late_acknowledged() == [], "taken when it came"
