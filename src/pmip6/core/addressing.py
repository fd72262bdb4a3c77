"""Which home addresses a PBU gets (RFC 5213 5.3.2, RFC 5844 3.1.2.1-3.1.2.4), planned before anything
is allocated so that a later rejection (e.g. the GRE policy check) leaves the pools untouched.

- Home Network Prefix options: ALL_ZERO asks for a prefix from the tenant's pool (exhausted:
  INSUFFICIENT_RESOURCES). A NON_ZERO prefix that no session of the MN holds is honoured when it is a free
  prefix of the tenant's pool (pmip6's choice; RFC 5213 leaves the MN's authorization to the policy
  profile) and otherwise rejected with NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX.
- IPv4 Home Address Request: 0.0.0.0 allocates (exhausted: INSUFFICIENT_RESOURCES, Reply status 128);
  a specific address is honoured if free in the pool, else NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS with Reply
  status 129 (RFC 5844 3.1.2.2).
- An update keeps the session's addresses; a family the PBU no longer asks for is released (RFC 5844
  3.1.2.4) and one it newly asks for is added (3.1.2.1, "extending an IPv4 home address mobility support
  to the existing IPv6-only mobility session").
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, IPv6Network

from pmip6.core.bce import BindingCacheEntry
from pmip6.core.pools import TenantPools
from pmip6.wire.numbers import IPv4HomeAddressReplyStatus, Status
from pmip6.wire.options import HomeNetworkPrefixOption, IPv4HomeAddressRequestOption

_UNSPECIFIED_IPV4 = IPv4Address(0)


def non_zero_prefixes(options: list[HomeNetworkPrefixOption]) -> tuple[IPv6Network, ...]:
    """The NON_ZERO prefixes of the request, one per option, as networks (host bits cleared); impossible lengths
    are skipped."""
    return tuple(option.network for option in options if option.prefix_length <= 128 and int(option.prefix) != 0)


_LINK_LOCAL_PREFIX = int(IPv6Address("fe80::"))
_UNIVERSAL_LOCAL_BIT = 1 << 57
"""RFC 4291 appendix A: in an interface identifier, 0 here means "not globally unique"."""


def generated_link_local(mn_id: bytes) -> IPv6Address:
    """The link-local address the LMA generates for a mobile node (RFC 5213 5.3.6, a Link-local Address query
    with ALL_ZERO): fe80::/64 with an interface identifier hashed from the MN-ID, so that every MAG of the
    MN's session, and the LMA after a restart, gives the same one (pmip6's choice; RFC 5213 leaves it open)."""
    identifier = int.from_bytes(hashlib.sha256(b"pmip6 link-local " + mn_id).digest()[:8], "big")
    return IPv6Address(_LINK_LOCAL_PREFIX | identifier & ~_UNIVERSAL_LOCAL_BIT)


@dataclass(frozen=True, slots=True)
class AddressRejection:
    """Why no address plan: the PBA status, and for INSUFFICIENT_RESOURCES the pool that ran out."""

    status: Status
    ipv4_reply_status: IPv4HomeAddressReplyStatus = IPv4HomeAddressReplyStatus.FAILURE
    exhausted: IPv4Network | IPv6Network | None = None


_NOT_AUTHORIZED_FOR_IPV4_ADDRESS = AddressRejection(
    Status.NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS, IPv4HomeAddressReplyStatus.ADMINISTRATIVELY_PROHIBITED
)


@dataclass(slots=True)
class AddressPlan:
    """What :meth:`commit` will do. Not frozen: one is built per registration (a frozen one costs 4x to build)."""

    keep_prefixes: tuple[IPv6Network, ...] = ()
    claim_prefixes: tuple[IPv6Network, ...] = ()
    allocate_prefix: bool = False
    release_prefixes: tuple[IPv6Network, ...] = ()
    keep_ipv4: IPv4Interface | None = None
    claim_ipv4: IPv4Address | None = None
    allocate_ipv4: bool = False
    release_ipv4: IPv4Interface | None = None

    @property
    def holds_prefixes(self) -> bool:
        """Whether the session holds home network prefixes once the plan is committed."""
        return bool(self.keep_prefixes or self.claim_prefixes or self.allocate_prefix)

    @property
    def holds_ipv4(self) -> bool:
        """Whether the session holds an IPv4 home address once the plan is committed."""
        return self.keep_ipv4 is not None or self.claim_ipv4 is not None or self.allocate_ipv4

    def commit(self, pools: TenantPools) -> tuple[tuple[IPv6Network, ...], IPv4Interface | None]:
        """Allocate, claim and release as planned; returns the session's prefixes and IPv4 home address."""
        prefixes = list(self.keep_prefixes)
        if pools.prefixes is not None:
            for prefix in self.release_prefixes:
                pools.prefixes.release(prefix)
            for prefix in self.claim_prefixes:
                pools.prefixes.claim(prefix)
                prefixes.append(prefix)
            if self.allocate_prefix:
                prefixes.append(pools.prefixes.allocate())  # type: ignore[arg-type]
        ipv4 = self.keep_ipv4
        if pools.ipv4 is not None:
            if self.release_ipv4 is not None:
                pools.ipv4.release(self.release_ipv4.ip)
            if self.claim_ipv4 is not None:
                ipv4 = pools.ipv4.claim(self.claim_ipv4)
            elif self.allocate_ipv4:
                ipv4 = pools.ipv4.allocate()
        return tuple(prefixes), ipv4


def plan_addresses(
    prefix_options: list[HomeNetworkPrefixOption],
    requested_prefixes: tuple[IPv6Network, ...],
    ipv4_request: IPv4HomeAddressRequestOption | None,
    pools: TenantPools,
    current: BindingCacheEntry | None,
) -> AddressPlan | AddressRejection:
    """Plan the session's addresses (see the module docstring); ``requested_prefixes`` are the NON_ZERO ones of
    ``prefix_options`` (:func:`non_zero_prefixes`), ``current`` is the entry being updated."""
    current_prefixes = current.home_network_prefixes if current is not None else ()
    current_ipv4 = current.ipv4_home_address if current is not None else None
    keep_prefixes: tuple[IPv6Network, ...] = ()
    claim_prefixes: tuple[IPv6Network, ...] = ()
    allocate_prefix = False
    release_prefixes: tuple[IPv6Network, ...] = ()
    if not prefix_options:
        release_prefixes = current_prefixes
    elif current_prefixes:
        keep_prefixes = current_prefixes
    else:
        assert pools.prefixes is not None  # the LMA checked NOT_AUTHORIZED_FOR_IPV6_MOBILITY_SERVICE
        claim_prefixes = tuple(sorted(set(requested_prefixes)))
        if claim_prefixes:
            if not all(pools.prefixes.available(prefix) for prefix in claim_prefixes):
                return AddressRejection(Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX)
        elif pools.prefixes.has_free():
            allocate_prefix = True
        else:
            return AddressRejection(Status.INSUFFICIENT_RESOURCES, exhausted=pools.prefixes.network)

    keep_ipv4: IPv4Interface | None = None
    claim_ipv4: IPv4Address | None = None
    allocate_ipv4 = False
    release_ipv4: IPv4Interface | None = None
    if ipv4_request is None:
        release_ipv4 = current_ipv4
    elif current_ipv4 is not None:
        if ipv4_request.address not in (_UNSPECIFIED_IPV4, current_ipv4.ip):
            return _NOT_AUTHORIZED_FOR_IPV4_ADDRESS
        keep_ipv4 = current_ipv4
    else:
        assert pools.ipv4 is not None  # the LMA checked NOT_AUTHORIZED_FOR_IPV4_MOBILITY_SERVICE
        if ipv4_request.address != _UNSPECIFIED_IPV4:
            if not pools.ipv4.available(ipv4_request.address):
                return _NOT_AUTHORIZED_FOR_IPV4_ADDRESS
            claim_ipv4 = ipv4_request.address
        elif pools.ipv4.has_free():
            allocate_ipv4 = True
        else:
            return AddressRejection(Status.INSUFFICIENT_RESOURCES, exhausted=pools.ipv4.network)
    # The fields in order, named alike: keywords to a class cost a dict per call.
    return AddressPlan(keep_prefixes, claim_prefixes, allocate_prefix, release_prefixes,
                       keep_ipv4, claim_ipv4, allocate_ipv4, release_ipv4)
