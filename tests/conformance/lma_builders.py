"""Builders shared by the LMA conformance tests: settings, PBUs and outcome accessors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network
from typing import TypedDict, TypeVar

from pmip6.core.events import Alarm, Event, Outcome, Peer, RegistrationRejected
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LmaSettings, LocalMobilityAnchor, MobileNodeProfile, Tenant
from pmip6.core.policy import GrePolicy, LmaGrePolicy
from pmip6.wire.messages import MobilityMessage, ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.numbers import AccessTechnologyType, BUFlags, HandoffIndicator
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    GREKeyOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    IPv4HomeAddressRequestOption,
    MNIdentifierOption,
    MNLinkLayerIdentifierOption,
    MobilityOption,
    TimestampOption,
)

NOW = 1_800_000_000.0
LMAA = IPv4Address("192.0.2.100")
MAG1 = Peer(IPv4Address("192.0.2.1"), 5436)
MAG2 = Peer(IPv4Address("192.0.2.2"), 5436)
STRANGER = Peer(IPv4Address("198.51.100.9"), 5436)
MN1, MN2, MN3, MN4 = b"mn1@opA.example", b"mn2@opA.example", b"mn3@opB.example", b"mn4@opB.example"
GRE_REQUIRED_MN = b"required@opA.example"
GRE_NOT_REQUIRED_MN = b"not-required@opA.example"
ALL_ZERO_HNP = HomeNetworkPrefixOption(IPv6Address(0), 0)
ANY_IPV4 = IPv4HomeAddressRequestOption(IPv4Address(0))
LIFETIME_UNITS = 100  # 400 s

_O = TypeVar("_O", bound=MobilityOption)
_E = TypeVar("_E", bound=Event)
_M = TypeVar("_M", bound=MobilityMessage)

OP_A = Tenant("opA", IPv4Network("10.0.0.0/24"), IPv6Network("2001:db8:a::/48"))
OP_B = Tenant("opB", IPv4Network("10.200.0.0/24"), IPv6Network("2001:db8:b::/48"))
"""Pools apart from OP_A's: tenants whose pools overlap need GRE keys (core/overlap.py); tests of that use their own."""


def settings(**overrides: object) -> LmaSettings:
    base = LmaSettings(
        authorized_mags=frozenset({MAG1.address, MAG2.address}),
        tenants=(OP_A, OP_B),
        mobile_nodes=(
            MobileNodeProfile(MN1, "opA"),
            MobileNodeProfile(MN2, "opA"),
            MobileNodeProfile(MN3, "opB"),
            MobileNodeProfile(MN4, "opB"),
            MobileNodeProfile(GRE_REQUIRED_MN, "opA"),
            MobileNodeProfile(GRE_NOT_REQUIRED_MN, "opA"),
        ),
        gre_policy=LmaGrePolicy(
            default=GrePolicy.OPTIONAL,
            per_mn={GRE_REQUIRED_MN: GrePolicy.REQUIRED, GRE_NOT_REQUIRED_MN: GrePolicy.NOT_REQUIRED},
        ),
    )
    return replace(base, **overrides)  # type: ignore[arg-type]


def make_lma(**overrides: object) -> LocalMobilityAnchor:
    return LocalMobilityAnchor(settings(**overrides), keys=GreKeyAllocator(seed=7))


class Handoff(TypedDict, total=False):
    """Arguments of :func:`pbu` that a test gives every PBU of a handoff alike, passed as ``**handoff``."""

    hi: int | None
    ll_id: bytes | None
    prefixes: Sequence[HomeNetworkPrefixOption]
    ipv4: IPv4HomeAddressRequestOption | None


def pbu(
    mn_id: bytes | None = MN1,
    *,
    sequence: int = 1,
    lifetime: int = LIFETIME_UNITS,
    gre: GREKeyOption | None = None,
    t_flag: bool = False,
    hi: int | None = HandoffIndicator.NEW_INTERFACE,
    att: int | None = AccessTechnologyType.IEEE_802_11,
    prefixes: Sequence[HomeNetworkPrefixOption] = (ALL_ZERO_HNP,),
    ipv4: IPv4HomeAddressRequestOption | None = None,
    timestamp: float | None = None,
    ll_id: bytes | None = None,
    flags: BUFlags = BUFlags.A | BUFlags.P,
    extra: tuple[MobilityOption, ...] = (),
) -> ProxyBindingUpdate:
    """A PBU as a MAG would send it; every option can be left out by passing None / ()."""
    options: list[MobilityOption] = []
    if mn_id is not None:
        options.append(MNIdentifierOption(mn_id))
    options.extend(prefixes)
    if hi is not None:
        options.append(HandoffIndicatorOption(hi))
    if att is not None:
        options.append(AccessTechnologyTypeOption(att))
    if ll_id is not None:
        options.append(MNLinkLayerIdentifierOption(ll_id))
    if timestamp is not None:
        options.append(TimestampOption.from_time(timestamp))
    if ipv4 is not None:
        options.append(ipv4)
    if gre is not None:
        options.append(gre)
    options.extend(extra)
    if t_flag:
        flags |= BUFlags.T
    return ProxyBindingUpdate(sequence=sequence, flags=flags, lifetime=lifetime, options=tuple(options))


def the_pba(outcome: Outcome) -> ProxyBindingAcknowledgement:
    """The one PBA an outcome sends."""
    return the_message(outcome, ProxyBindingAcknowledgement)


def the_message(outcome: Outcome, kind: type[_M]) -> _M:
    """The one message an outcome sends, a ``kind`` (fails the test otherwise)."""
    assert len(outcome.sends) == 1, outcome
    message = outcome.sends[0].message
    assert isinstance(message, kind), message
    return message


def rejected_status(outcome: Outcome) -> int:
    pba = the_pba(outcome)
    assert pba.status >= 128, pba
    # Nothing but the rejection happened; an Alarm may tell the operator why (e.g. an exhausted pool).
    assert [type(event) for event in outcome.events if not isinstance(event, Alarm)] \
        == [RegistrationRejected], outcome.events
    return pba.status


def hnp_of(pba: ProxyBindingAcknowledgement) -> HomeNetworkPrefixOption:
    prefixes = pba.options_of(HomeNetworkPrefixOption)
    assert len(prefixes) == 1, pba
    return prefixes[0]


def option_of(message: ProxyBindingUpdate | ProxyBindingAcknowledgement, kind: type[_O]) -> _O:
    """The ``kind`` option ``message`` carries (fails the test if it carries none)."""
    option = message.option(kind)
    assert option is not None, message
    return option


def events_as(outcome: Outcome, kind: type[_E]) -> list[_E]:
    """The events of ``outcome``, every one a ``kind`` (fails the test otherwise)."""
    events: list[_E] = [event for event in outcome.events if isinstance(event, kind)]
    assert len(events) == len(outcome.events), outcome.events
    return events
