"""Review 20: a Handoff Indicator 4 PBU waiting for the de-registration of the MN's one session (RFC 5213 5.4.1.2
item 4, 5.4.1.3 item 3) is served by that de-registration, also when both come from one signaling address that names
two Proxy-CoAs in Alternate Care-of Address options (RFC 6275 9.5.1; the LMA takes the option's address as the
Proxy-CoA, so to it these are two MAGs' tunnels).

A PBU of "its MAG" that supersedes the wait (a newer one for the same interface) is one from the same signaling
address AND for the same Proxy-CoA: the de-registration of the waited-for session at TUNNEL_END, sent from SIGNALING,
is not the waiting PBU's MAG's, and serves the wait rather than dropping it unanswered."""

from __future__ import annotations

from ipaddress import IPv6Address

from lma_builders import NOW, make_lma, pbu, the_pba

from pmip6.core.bce import BceState
from pmip6.core.events import BindingEstablished, Peer
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.wire.messages import ProxyBindingUpdate
from pmip6.wire.mobility import decode_message, encode_message
from pmip6.wire.numbers import HandoffIndicator, Status
from pmip6.wire.options import AlternateCareOfAddressOption

SIGNALING_ADDRESS = IPv6Address("2001:db8:1::1")
SIGNALING = Peer(SIGNALING_ADDRESS, None)
TUNNEL_END = IPv6Address("2001:db8:2::2")
OTHER_TUNNEL_END = IPv6Address("2001:db8:3::3")
LMAA6 = IPv6Address("2001:db8::100")


def _naming(address: IPv6Address, **fields: object) -> ProxyBindingUpdate:
    message = pbu(extra=(AlternateCareOfAddressOption(address),), **fields)  # type: ignore[arg-type]
    return decode_message(encode_message(message, source=SIGNALING_ADDRESS,
                                         destination=LMAA6))  # type: ignore[return-value]


def test_RFC5213_5_4_1_3_the_waited_for_sessions_de_registration_from_the_same_sender_serves_the_wait() -> None:
    lma: LocalMobilityAnchor = make_lma(authorized_mags=frozenset({SIGNALING.address}))
    first = lma.receive(_naming(TUNNEL_END, sequence=1, timestamp=NOW), SIGNALING, LMAA6, NOW)
    assert the_pba(first).status == Status.ACCEPTED
    waiting = lma.receive(_naming(OTHER_TUNNEL_END, sequence=2, timestamp=NOW + 1, hi=HandoffIndicator.UNKNOWN),
                          SIGNALING, LMAA6, NOW + 1)
    assert waiting.sends == [] and lma.waiting().handoff_waits == 1, "waits for the session at TUNNEL_END"

    outcome = lma.receive(_naming(TUNNEL_END, sequence=3, timestamp=NOW + 2, lifetime=0,
                                  hi=HandoffIndicator.UNKNOWN), SIGNALING, LMAA6, NOW + 2)

    assert any(isinstance(event, BindingEstablished) for event in outcome.events), (
        "the de-registration the wait is for serves it (5.4.1.3 item 3): " + repr(outcome.events))
    assert lma.waiting().handoff_waits == 0
    live = [entry.proxy_coa for entry in lma.bindings() if entry.state is BceState.ACTIVE]
    assert live == [Peer(OTHER_TUNNEL_END, None)]
