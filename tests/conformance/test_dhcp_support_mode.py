"""RFC 5844 3.3.4 and 3.2.3.2: the LMA's IPv4 DHCP Support Mode option (``[lma] dhcp_support_mode``) and the MAG's
reading of it (the BUL entry's ``dhcp_server``)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from lma_builders import ANY_IPV4, LMAA, MAG1, NOW, hnp_of, make_lma, pbu, the_pba
from test_mag_stub_lma import (
    ASSIGNED_IPV4,
    LMA_UDP,
    T0,
    entry_of,
    make_mag,
    only_pbu,
    pba_for,
    registered,
    request,
)

from pmip6.core.lma_settings import DhcpSupportMode
from pmip6.wire.messages import BindingRevocationIndication, ProxyBindingAcknowledgement
from pmip6.wire.numbers import BRFlags, HandoffIndicator, RevocationTrigger, Status
from pmip6.wire.options import (
    IPv4DefaultRouterAddressOption,
    IPv4DHCPSupportModeOption,
    IPv4HomeAddressReplyOption,
    IPv4HomeAddressRequestOption,
    MNIdentifierOption,
)


def _same_address(pba: ProxyBindingAcknowledgement) -> IPv4HomeAddressRequestOption:
    """The IPv4 Home Address Request of a refresh: the address the PBA assigned."""
    reply = pba.option(IPv4HomeAddressReplyOption)
    assert reply is not None
    return IPv4HomeAddressRequestOption(reply.address, reply.prefix_length)


@pytest.mark.parametrize(("mode", "flag"), [(DhcpSupportMode.SERVER, True), (DhcpSupportMode.RELAY, False)])
def test_RFC5844_3_3_4_an_accepting_pba_with_an_ipv4_home_address_carries_the_configured_mode(
        mode: DhcpSupportMode, flag: bool) -> None:
    lma = make_lma(dhcp_support_mode=mode)
    pba = the_pba(lma.receive(pbu(ipv4=ANY_IPV4), MAG1, LMAA, NOW))
    assert pba.status == Status.ACCEPTED
    assert pba.option(IPv4DHCPSupportModeOption) == IPv4DHCPSupportModeOption(flag)
    kinds = [type(option) for option in pba.options]
    assert kinds.index(IPv4DHCPSupportModeOption) == kinds.index(IPv4DefaultRouterAddressOption) + 1
    refresh = the_pba(lma.receive(pbu(sequence=2, ipv4=_same_address(pba), hi=HandoffIndicator.NOT_CHANGED,
                                      prefixes=(hnp_of(pba),)), MAG1, LMAA, NOW + 1))
    assert refresh.option(IPv4DHCPSupportModeOption) == IPv4DHCPSupportModeOption(flag)


def test_RFC5844_3_3_4_no_option_without_the_setting_without_ipv4_or_on_rejection() -> None:
    assert the_pba(make_lma().receive(pbu(ipv4=ANY_IPV4), MAG1, LMAA, NOW)).option(IPv4DHCPSupportModeOption) is None
    lma = make_lma(dhcp_support_mode=DhcpSupportMode.SERVER)
    ipv6_only = the_pba(lma.receive(pbu(), MAG1, LMAA, NOW))
    assert ipv6_only.status == Status.ACCEPTED and ipv6_only.option(IPv4DHCPSupportModeOption) is None
    refused = the_pba(lma.receive(pbu(b"nobody@opZ.example", ipv4=ANY_IPV4), MAG1, LMAA, NOW))
    assert refused.status >= Status.REASON_UNSPECIFIED and refused.option(IPv4DHCPSupportModeOption) is None


@pytest.mark.parametrize(("option", "server"), [
    (IPv4DHCPSupportModeOption(True), True), (IPv4DHCPSupportModeOption(False), False), (None, False)])
def test_RFC5844_3_2_3_2_the_bul_entry_records_the_pbas_dhcp_support_mode(
        option: IPv4DHCPSupportModeOption | None, server: bool) -> None:
    """S set: the MAG is the MN's DHCP server; S clear or no option: a DHCP relay."""
    mag = make_mag()
    sent = only_pbu(mag.attach(request(), T0))
    mag.receive(pba_for(sent, extra=() if option is None else (option,)), LMA_UDP, T0 + 0.05)
    assert entry_of(mag).dhcp_server is server


def test_RFC5844_3_2_3_2_a_refresh_without_the_option_or_without_ipv4_makes_the_mag_a_relay_again() -> None:
    mag = make_mag()
    sent = only_pbu(mag.attach(request(), T0))
    mag.receive(pba_for(sent, extra=(IPv4DHCPSupportModeOption(True),)), LMA_UDP, T0 + 0.05)
    assert entry_of(mag).dhcp_server
    refresh = only_pbu(mag.refresh(entry_of(mag).mn_id, T0 + 10))
    mag.receive(pba_for(refresh), LMA_UDP, T0 + 10.05)
    assert not entry_of(mag).dhcp_server, "no option: relay"
    refresh = only_pbu(mag.refresh(entry_of(mag).mn_id, T0 + 20))
    mag.receive(pba_for(refresh, extra=(IPv4DHCPSupportModeOption(True),)), LMA_UDP, T0 + 20.05)
    assert entry_of(mag).dhcp_server
    refresh = only_pbu(mag.refresh(entry_of(mag).mn_id, T0 + 30))
    answer = pba_for(refresh, extra=(IPv4DHCPSupportModeOption(True),))
    without_ipv4 = replace(answer, options=tuple(option for option in answer.options if not isinstance(
        option, IPv4HomeAddressReplyOption | IPv4DefaultRouterAddressOption)))
    mag.receive(without_ipv4, LMA_UDP, T0 + 30.05)
    entry = entry_of(mag)
    assert entry.ipv4_home_address is None and not entry.dhcp_server, "RFC 5844 3.2.3.3: no IPv4 home address"


def test_RFC5846_9_1_a_revoked_ipv4_home_address_takes_the_dhcp_server_mode_with_it() -> None:
    """The V flag releases only the IPv4 home address (RFC 5846 9.1): the entry is no IPv4 MN's any more, served by
    the MAG's DHCP server or not (RFC 5844 3.2.3.2, as after a PBA without IPv4)."""
    mag = make_mag()
    registered(mag, extra=(IPv4DHCPSupportModeOption(True),))
    assert entry_of(mag).dhcp_server
    revocation = BindingRevocationIndication(RevocationTrigger.ADMINISTRATIVE_REASON, 4242, BRFlags.P | BRFlags.V, (
        MNIdentifierOption(entry_of(mag).mn_id), IPv4HomeAddressRequestOption(ASSIGNED_IPV4)))
    mag.receive(revocation, LMA_UDP, T0 + 5)
    entry = entry_of(mag)
    assert entry.ipv4_home_address is None and entry.home_network_prefixes and not entry.dhcp_server
