"""Building the Proxy Binding Acknowledgement (RFC 5213 5.3.6, RFC 5844 3.1.2.6, RFC 5845 5.2 and 7.4).

Option order: MN-ID, HNP(s), HI, ATT, MN-LL-ID, Link-local Address, Timestamp, IPv4 Home Address Reply,
IPv4 Default-Router Address, GRE Key, NAT Detection.
- MN-ID copied from the PBU (zero-length when it had none); HI and ATT copied (0 when absent);
  MN-LL-ID, Link-local Address and Timestamp only when the PBU carried them.
- HNPs: on acceptance one per assigned prefix; on rejection every HNP of the request, or one ALL_ZERO
  HNP when it had none -- unless it carried only an IPv4 Home Address Request (RFC 5844 3.1.2.6).
- IPv4 Home Address Reply whenever the PBU had an IPv4 Home Address Request; on rejection it echoes the
  request's address and prefix length; Default-Router only when the status is below 128.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Network

from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.numbers import BAFlags, BUFlags, IPv4HomeAddressReplyStatus, Status
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    IPv4DefaultRouterAddressOption,
    IPv4HomeAddressReplyOption,
    IPv4HomeAddressRequestOption,
    LinkLocalAddressOption,
    MNIdentifierOption,
    MNLinkLayerIdentifierOption,
    MobilityOption,
    TimestampOption,
)

_ALL_ZERO_PREFIX = HomeNetworkPrefixOption(IPv6Address(0), 0)


def _echoed_options(pbu: ProxyBindingUpdate, prefixes: Iterable[HomeNetworkPrefixOption]) -> list[MobilityOption]:
    mn_id = pbu.option(MNIdentifierOption)
    hi = pbu.option(HandoffIndicatorOption)
    att = pbu.option(AccessTechnologyTypeOption)
    options: list[MobilityOption] = [mn_id if mn_id is not None else MNIdentifierOption(b"")]
    options.extend(prefixes)
    options.append(hi if hi is not None else HandoffIndicatorOption(0))
    options.append(att if att is not None else AccessTechnologyTypeOption(0))
    ll_id = pbu.option(MNLinkLayerIdentifierOption)
    if ll_id is not None:
        options.append(ll_id)
    return options


def acceptance(
    pbu: ProxyBindingUpdate,
    status: Status,
    *,
    lifetime: int,
    prefixes: tuple[IPv6Network, ...],
    ipv4_home_address: IPv4Interface | None,
    ipv4_default_router: IPv4Address | None,
    link_local_address: IPv6Address | None,
    extra_flags: BAFlags = BAFlags(0),
    extra_options: Iterable[MobilityOption] = (),
) -> ProxyBindingAcknowledgement:
    """A PBA with a status below 128. ``lifetime`` is in 4-second units; ``extra_options`` go last (GRE Key, NAT Detection)."""
    options = _echoed_options(
        pbu, (HomeNetworkPrefixOption(prefix.network_address, prefix.prefixlen) for prefix in prefixes)
    )
    if pbu.option(LinkLocalAddressOption) is not None:
        options.append(LinkLocalAddressOption(link_local_address or IPv6Address(0)))
    timestamp = pbu.option(TimestampOption)
    if timestamp is not None:
        options.append(timestamp)
    if pbu.option(IPv4HomeAddressRequestOption) is not None and ipv4_home_address is not None:
        options.append(
            IPv4HomeAddressReplyOption(
                IPv4HomeAddressReplyStatus.SUCCESS, ipv4_home_address.ip, ipv4_home_address.network.prefixlen
            )
        )
        if ipv4_default_router is not None:
            options.append(IPv4DefaultRouterAddressOption(ipv4_default_router))
    options.extend(extra_options)
    return ProxyBindingAcknowledgement(
        status=status,
        sequence=pbu.sequence,
        flags=_p_flag(pbu) | extra_flags,
        lifetime=lifetime,
        options=tuple(options),
    )


def rejection(
    pbu: ProxyBindingUpdate,
    status: Status,
    *,
    sequence: int | None = None,
    lma_time: TimestampOption | None = None,
    ipv4_reply_status: IPv4HomeAddressReplyStatus = IPv4HomeAddressReplyStatus.FAILURE,
) -> ProxyBindingAcknowledgement:
    """A PBA with a status of 128 or more that echoes the request (RFC 5213 5.3.6).

    ``sequence``: the last accepted sequence number (status 135). ``lma_time``: the LMA's current time,
    sent instead of the PBU's Timestamp (statuses 156 and 157, RFC 5213 5.5).
    """
    ipv4_request = pbu.option(IPv4HomeAddressRequestOption)
    prefixes = pbu.options_of(HomeNetworkPrefixOption)
    if not prefixes and ipv4_request is None:
        prefixes = [_ALL_ZERO_PREFIX]
    options = _echoed_options(pbu, prefixes)
    link_local = pbu.option(LinkLocalAddressOption)
    if link_local is not None:
        options.append(link_local)
    timestamp = lma_time if lma_time is not None else pbu.option(TimestampOption)
    if timestamp is not None and pbu.option(TimestampOption) is not None:
        options.append(timestamp)
    if ipv4_request is not None:
        options.append(IPv4HomeAddressReplyOption(ipv4_reply_status, ipv4_request.address, ipv4_request.prefix_length))
    return ProxyBindingAcknowledgement(
        status=status,
        sequence=pbu.sequence if sequence is None else sequence,
        flags=_p_flag(pbu),
        lifetime=0,
        options=tuple(options),
    )


def _p_flag(pbu: ProxyBindingUpdate) -> BAFlags:
    """RFC 5213 5.3.6: P set in the PBA only if it was set in the PBU."""
    return BAFlags.P if pbu.flags & BUFlags.P else BAFlags(0)
