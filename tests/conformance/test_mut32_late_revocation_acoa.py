"""mut32: a late BRA to a global BRI given up (RFC 5846 6.3, 8.1) from a MAG that signals for another Proxy-CoA too
(an Alternate Care-of Address option, RFC 5213 5.3.1 item 13): the sessions it registered since are its own (RFC
5846 13), also those whose tunnels end at the other address."""

from __future__ import annotations

from lma_builders import MN1, NOW, pbu
from test_lma_alternate_care_of_address import LMAA6, SIGNALING, TUNNEL_END, _naming
from test_mut32_late_revocation import GIVEN_UP, _accepted, _bri, _deregistered, _give_up, _lma

from pmip6.wire.messages import BindingRevocationAcknowledgement
from pmip6.wire.numbers import BindingRevocationStatus


def test_RFC5846_13_a_late_global_bra_ends_the_session_its_mag_registered_since_for_another_proxy_coa() -> None:
    lma = _lma(authorized_mags=frozenset({SIGNALING.address}))
    _accepted(lma.receive(pbu(MN1), SIGNALING, LMAA6, NOW - 100))
    bri = _bri(lma.clear(NOW, mag=SIGNALING.address), to=SIGNALING)
    _give_up(lma)
    _accepted(lma.receive(_naming(TUNNEL_END, sequence=2), SIGNALING, LMAA6, GIVEN_UP))
    assert [entry.mag for entry in lma.bindings_of(MN1) if entry.proxy_coa.address == TUNNEL_END] == [SIGNALING]

    late = lma.receive(BindingRevocationAcknowledgement(BindingRevocationStatus.SUCCESS, bri.sequence, bri.flags),
                       SIGNALING, LMAA6, GIVEN_UP + 5)

    assert _deregistered(late) == [MN1]
