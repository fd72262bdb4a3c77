"""RFC 5844 section 4 at the LMA: the encapsulation mode a PBU with the F flag sets (4.1.3.1) and keeps."""

from __future__ import annotations

import json
from ipaddress import IPv6Address

from lma_builders import GRE_NOT_REQUIRED_MN, LMAA, MAG1, MN1, MN2, NOW, make_lma, pbu, the_pba

from pmip6.core.bce import BindingCacheEntry
from pmip6.core.events import BindingEstablished, BindingUpdated, Peer
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.numbers import BUFlags, HandoffIndicator, Status
from pmip6.wire.options import GREKeyOption, HomeNetworkPrefixOption, NATDetectionOption

FORCED = BUFlags.A | BUFlags.P | BUFlags.F
MAG_IPV6 = Peer(IPv6Address("2001:db8:ffff::10"))
LMAA_IPV6 = IPv6Address("2001:db8:ffff::1")


def _forced_lma() -> LocalMobilityAnchor:
    return make_lma(accept_forced_udp_encapsulation=True,
                    authorized_mags=frozenset({MAG1.address, MAG_IPV6.address}))


def _only_entry(lma: LocalMobilityAnchor, mn_id: bytes = MN1) -> BindingCacheEntry:
    (entry,) = lma.bindings_of(mn_id)
    return entry


def _register(lma: LocalMobilityAnchor, message: ProxyBindingUpdate, source: Peer = MAG1,
              now: float = NOW) -> tuple[ProxyBindingAcknowledgement, object]:
    outcome = lma.receive(message, source, LMAA_IPV6 if source.port is None else LMAA, now)
    (event,) = outcome.events
    return the_pba(outcome), event


def test_RFC5844_4_1_3_1_f_flag_without_gre_sets_ipv4_udp_mode_in_bce_and_session() -> None:
    lma = _forced_lma()
    pba, event = _register(lma, pbu(flags=FORCED))
    assert pba.status == Status.ACCEPTED
    assert pba.option(NATDetectionOption) == NATDetectionOption(force_udp=True, refresh_time=0)
    assert _only_entry(lma).udp_encapsulation
    assert isinstance(event, BindingEstablished) and event.session.udp and not event.session.gre


def test_RFC5844_4_1_3_1_without_f_the_mode_is_ipv4() -> None:
    lma = _forced_lma()
    pba, event = _register(lma, pbu())
    assert pba.option(NATDetectionOption) is None
    assert not _only_entry(lma).udp_encapsulation
    assert isinstance(event, BindingEstablished) and not event.session.udp


def test_RFC5844_4_1_3_1_RFC5845_7_1_f_flag_with_gre_is_not_ipv4_udp() -> None:
    """With GRE negotiated RFC 5845 decides: GRE over IPv4 without T, the TLV-header format with T."""
    lma = _forced_lma()
    _, plain_gre = _register(lma, pbu(MN1, flags=FORCED, gre=GREKeyOption(0x1234)))
    _, tlv = _register(lma, pbu(MN2, flags=FORCED, gre=GREKeyOption(0x1235), t_flag=True))
    for mn_id, event in ((MN1, plain_gre), (MN2, tlv)):
        assert isinstance(event, BindingEstablished) and event.session.gre and not event.session.udp
        assert not _only_entry(lma, mn_id).udp_encapsulation


def test_RFC5844_4_1_3_1_gre_declined_by_policy_leaves_ipv4_udp() -> None:
    """Status 2 (GRE_KEY_OPTION_NOT_REQUIRED): GRE is not negotiated, so F gives IPv4-UDP."""
    lma = _forced_lma()
    pba, event = _register(lma, pbu(GRE_NOT_REQUIRED_MN, flags=FORCED, gre=GREKeyOption(0x1234)))
    assert pba.status == Status.GRE_KEY_OPTION_NOT_REQUIRED and pba.option(NATDetectionOption) is not None
    assert isinstance(event, BindingEstablished) and event.session.udp


def test_RFC5844_4_f_flag_over_ipv6_transport_changes_nothing() -> None:
    """RFC 5844 section 4 is IPv4 transport: over IPv6 there is no IPv4-UDP mode and no NAT Detection option."""
    lma = _forced_lma()
    pba, event = _register(lma, pbu(flags=FORCED), MAG_IPV6)
    assert pba.status == Status.ACCEPTED and pba.option(NATDetectionOption) is None
    assert isinstance(event, BindingEstablished) and not event.session.udp
    assert not _only_entry(lma).udp_encapsulation


def test_RFC5844_4_2_2_refresh_without_f_changes_the_mode_with_binding_updated() -> None:
    lma = _forced_lma()
    _register(lma, pbu(flags=FORCED))
    hnp = _only_entry(lma).home_network_prefixes[0]
    refresh = pbu(sequence=2, hi=HandoffIndicator.NOT_CHANGED,
                  prefixes=(HomeNetworkPrefixOption.naming(hnp),))
    _, event = _register(lma, refresh, now=NOW + 1)
    assert isinstance(event, BindingUpdated)
    assert (event.previous.udp, event.session.udp) == (True, False)


def test_RFC5844_4_1_3_1_ipv4_udp_mode_survives_a_restart() -> None:
    lma = _forced_lma()
    _register(lma, pbu(flags=FORCED))
    record = json.loads(json.dumps(_only_entry(lma).to_record()))
    assert record["udp_encapsulation"] is True
    restored = BindingCacheEntry.from_record(record)
    assert restored.udp_encapsulation and restored.to_record() == record
    (event,) = _forced_lma().restore([restored], NOW + 1).events
    assert isinstance(event, BindingEstablished) and event.session.udp


def test_record_written_before_ipv4_udp_mode_loads_as_ipv4_mode() -> None:
    lma = _forced_lma()
    _register(lma, pbu())
    record = _only_entry(lma).to_record()
    del record["udp_encapsulation"]
    assert BindingCacheEntry.from_record(record).udp_encapsulation is False
