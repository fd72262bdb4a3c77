"""Building the Proxy Binding Acknowledgement (RFC 5213 5.3.6, RFC 5844 3.1.2.6, RFC 5845 5.2 and 7.4).

Option order: MN-ID, HNP(s), HI, ATT, MN-LL-ID, Link-local Address, Timestamp, IPv4 Home Address Reply,
IPv4 Default-Router Address, IPv4 DHCP Support Mode, GRE Key, NAT Detection.
- MN-ID copied from the PBU (zero-length when it had none); HI and ATT copied (0 when absent);
  MN-LL-ID, Link-local Address and Timestamp only when the PBU carried them.
- HNPs: on acceptance one per assigned prefix; on rejection every HNP of the request, or one ALL_ZERO
  HNP when it had none -- unless it carried only an IPv4 Home Address Request (RFC 5844 3.1.2.6).
- IPv4 Home Address Reply whenever the PBU had an IPv4 Home Address Request; on rejection it echoes the
  request's address and prefix length, and so does an acceptance that refuses the IPv4 part alone (the reply's
  status then says why, RFC 5844 3.3.2: 128 or more); Default-Router only with an accepted IPv4 home address
  and a status below 128, and so is the DHCP Support Mode option (RFC 5844 3.3.4), when the LMA is configured
  with one.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Network

from pmip6.core.pbu_options import PbuOptions
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.numbers import BAFlags, BUFlags, IPv4HomeAddressReplyStatus, Status
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    IPv4DefaultRouterAddressOption,
    IPv4DHCPSupportModeOption,
    IPv4HomeAddressReplyOption,
    LinkLocalAddressOption,
    MNIdentifierOption,
    MobilityOption,
    TimestampOption,
)

_ALL_ZERO_PREFIX = HomeNetworkPrefixOption(IPv6Address(0), 0)
_BU_P = BUFlags.P.value
_NO_BA_FLAGS = BAFlags(0)


def _echoed_options(received: PbuOptions, prefixes: Iterable[HomeNetworkPrefixOption]) -> list[MobilityOption]:
    mn_id = received.mn_identifier
    hi = received.handoff_indicator
    att = received.access_technology_type
    options: list[MobilityOption] = [mn_id if mn_id is not None else MNIdentifierOption(b"")]
    options.extend(prefixes)
    options.append(hi if hi is not None else HandoffIndicatorOption(0))
    options.append(att if att is not None else AccessTechnologyTypeOption(0))
    ll_id = received.mn_link_layer_identifier
    if ll_id is not None:
        options.append(ll_id)
    return options


def acceptance(
    pbu: ProxyBindingUpdate,
    received: PbuOptions,
    status: Status,
    *,
    lifetime: int,
    prefixes: tuple[IPv6Network, ...],
    ipv4_home_address: IPv4Interface | None,
    ipv4_default_router: IPv4Address | None,
    link_local_address: IPv6Address | None,
    dhcp_server: bool | None = None,
    extra_flags: BAFlags = _NO_BA_FLAGS,
    extra_options: Iterable[MobilityOption] = (),
    ipv4_refusal: IPv4HomeAddressReplyStatus | None = None,
) -> ProxyBindingAcknowledgement:
    """A PBA with a status below 128 answering ``pbu`` (whose options are ``received``). ``lifetime`` is in
    4-second units; ``dhcp_server``: the S flag of an IPv4 DHCP Support Mode option that goes with the IPv4 home
    address (None: no option); ``extra_options`` go last (GRE Key, NAT Detection). ``ipv4_refusal``: the status of
    the IPv4 Home Address Reply of a session accepted without the IPv4 home address its request named."""
    options = _echoed_options(
        received, [HomeNetworkPrefixOption.naming(prefix) for prefix in prefixes]
    )
    if received.link_local_address is not None:
        options.append(LinkLocalAddressOption(link_local_address or IPv6Address(0)))
    timestamp = received.timestamp
    if timestamp is not None:
        options.append(timestamp)
    if received.ipv4_home_address_requests and ipv4_home_address is not None:
        options.append(
            IPv4HomeAddressReplyOption(
                IPv4HomeAddressReplyStatus.SUCCESS, ipv4_home_address.ip, ipv4_home_address.network.prefixlen
            )
        )
        if ipv4_default_router is not None:
            options.append(IPv4DefaultRouterAddressOption(ipv4_default_router))
        if dhcp_server is not None:
            options.append(IPv4DHCPSupportModeOption(dhcp_server))
    elif ipv4_refusal is not None and (request := received.ipv4_home_address_request) is not None:
        options.append(IPv4HomeAddressReplyOption(ipv4_refusal, request.address, request.prefix_length))
    options.extend(extra_options)
    flags = _p_flag(pbu)
    if extra_flags:
        flags |= extra_flags
    # status, sequence, flags, lifetime, options: the fields in order (keywords to a class cost a dict per call)
    return ProxyBindingAcknowledgement(status, pbu.sequence, flags, lifetime, tuple(options))


def rejection(
    pbu: ProxyBindingUpdate,
    received: PbuOptions,
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
    ipv4_request = received.ipv4_home_address_request
    prefixes = received.home_network_prefixes
    if not prefixes and ipv4_request is None:
        prefixes = [_ALL_ZERO_PREFIX]
    options = _echoed_options(received, prefixes)
    link_local = received.link_local_address
    if link_local is not None:
        options.append(link_local)
    if received.timestamp is not None:
        options.append(lma_time if lma_time is not None else received.timestamp)
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
    return BAFlags.P if int(pbu.flags) & _BU_P else _NO_BA_FLAGS
