"""A stub LMA for the MAG conformance tests: hand-built PBAs answering a MAG's PBUs (no tests here).

The PBA echoes what RFC 5213 5.3.6 says an LMA echoes (MN-ID, HI, ATT, MN-LL-ID, Timestamp) and carries
whatever the test asks for: status, T flag, GRE Key option (absent, without key, with an uplink key),
assigned HNP and IPv4 home address (RFC 5844 3.1.2.6).
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, IPv6Network
from typing import TypedDict

from pmip6.core.bul import BindingUpdateListEntry
from pmip6.core.events import Outcome, Peer
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import AttachRequest, MagGreMode, MagSettings
from pmip6.core.revocation_sender import RevocationTiming
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.numbers import AccessTechnologyType, BAFlags, Status
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    GREKeyOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    IPv4DefaultRouterAddressOption,
    IPv4HomeAddressReplyOption,
    MNIdentifierOption,
    MNLinkLayerIdentifierOption,
    MobilityOption,
    TimestampOption,
)

LMA_UDP = Peer(IPv4Address("198.51.100.1"), 5436)
LMA_IPV6 = Peer(IPv6Address("2001:db8:ffff::1"))
MAG_IPV4 = IPv4Address("198.51.100.10")
MAG_IPV6 = IPv6Address("2001:db8:aaaa::10")
UPLINK_KEY = 0x11223344
ASSIGNED_HNP = IPv6Network("2001:db8:1:1::/64")
ASSIGNED_IPV4 = IPv4Address("10.0.0.7")
DEFAULT_ROUTER = IPv4Address("10.0.0.1")
T0 = 1_800_000_000.0
WITHOUT_KEY = object()
"""Pass as ``gre=`` to answer with the GRE Key option but no key (GRE encapsulation mode only)."""


class MagOverrides(TypedDict, total=False):
    """The :class:`MagSettings` fields that helpers of the tests pass on to :func:`make_mag` for their callers."""

    gre: MagGreMode
    force_udp_encapsulation: bool
    global_revocation: bool
    identity: bytes
    revocation_timing: RevocationTiming


def make_mag(*, udp: bool = True, seed: int = 7, **settings: object) -> MobileAccessGateway:
    """A MAG towards LMA_UDP (IPv4/UDP transport, RFC 5844) or LMA_IPV6 (raw MH over IPv6)."""
    lma, proxy_coa = (LMA_UDP, MAG_IPV4) if udp else (LMA_IPV6, MAG_IPV6)
    return MobileAccessGateway(
        MagSettings(proxy_coa=proxy_coa, lma=lma, **settings),  # type: ignore[arg-type]
        GreKeyAllocator(seed),
    )


def request(mn_id: bytes = b"mn1@example.org", **fields: object) -> AttachRequest:
    return AttachRequest(mn_id=mn_id, att=AccessTechnologyType.IEEE_802_11, **fields)  # type: ignore[arg-type]


def only_pbu(outcome: Outcome) -> ProxyBindingUpdate:
    """The one PBU an engine call sent (fails the test otherwise)."""
    assert len(outcome.sends) == 1, outcome
    message = outcome.sends[0].message
    assert isinstance(message, ProxyBindingUpdate)
    return message


def pba_for(
    pbu: ProxyBindingUpdate,
    status: int = Status.ACCEPTED,
    *,
    gre: int | object | None = UPLINK_KEY,
    t_flag: bool = False,
    lifetime: int | None = None,
    extra: tuple[MobilityOption, ...] = (),
) -> ProxyBindingAcknowledgement:
    """The stub LMA's answer to ``pbu``. ``gre``: an uplink key, WITHOUT_KEY, or None (no option)."""
    options: list[MobilityOption] = [pbu.option(MNIdentifierOption) or MNIdentifierOption(b"")]
    accepted = status < Status.REASON_UNSPECIFIED
    if accepted and pbu.lifetime:
        options.append(HomeNetworkPrefixOption.naming(ASSIGNED_HNP))
    echoed: list[MobilityOption | None] = [pbu.option(HandoffIndicatorOption), pbu.option(AccessTechnologyTypeOption),
                                           pbu.option(TimestampOption), pbu.option(MNLinkLayerIdentifierOption)]
    options += [option for option in echoed if option is not None]
    if accepted and pbu.lifetime:
        options += [IPv4HomeAddressReplyOption(0, ASSIGNED_IPV4, 24), IPv4DefaultRouterAddressOption(DEFAULT_ROUTER)]
    if gre is WITHOUT_KEY:
        options.append(GREKeyOption())
    elif gre is not None:
        options.append(GREKeyOption(int(gre)))  # type: ignore[call-overload]
    options += extra
    flags = BAFlags.P | (BAFlags.T if t_flag else 0)
    return ProxyBindingAcknowledgement(
        status=status,
        sequence=pbu.sequence,
        flags=flags,
        lifetime=pbu.lifetime if lifetime is None else lifetime,
        options=tuple(options),
    )


def registered(
    mag: MobileAccessGateway, mn_id: bytes = b"mn1@example.org", now: float = T0, **answer: object
) -> ProxyBindingUpdate:
    """Attach ``mn_id`` and accept its PBU with ``answer`` (see :func:`pba_for`); returns the PBU."""
    pbu = only_pbu(mag.attach(request(mn_id), now))
    outcome = mag.receive(pba_for(pbu, **answer), mag.settings.lma, now + 0.01)  # type: ignore[arg-type]
    assert outcome.events, outcome
    return pbu


def stop(mag: MobileAccessGateway, now: float, revocation_wait: float | None = None) -> Outcome:
    """What a stopping daemon has the MAG do: :meth:`MobileAccessGateway.shutdown`, then the timer it makes due at
    once, which sends the de-registrations, each stamped as it leaves."""
    outcome = mag.shutdown(now, revocation_wait)
    outcome.extend(mag.handle_timer(now))
    return outcome


def entry_of(mag: MobileAccessGateway, mn_id: bytes = b"mn1@example.org") -> BindingUpdateListEntry:
    return next(entry for entry in mag.entries() if entry.mn_id == mn_id)

