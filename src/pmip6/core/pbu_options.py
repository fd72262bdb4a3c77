"""The options of one received PBU, sorted by kind in a single pass (RFC 5213 sections 5.3.1 and 5.3.6).

The LMA reads most options of a PBU several times: for its checks (5.3.1), the Binding Cache lookup
(5.4.1), the entry's fields and the PBA's echoed options (5.3.6). Sorting them once replaces a scan of
the option tuple per read. Each single-valued field is the first option of its kind, as
:meth:`~pmip6.wire.messages.ProxyBindingUpdate.option` returns it; the repeatable ones keep message order.
"""

from __future__ import annotations

from dataclasses import dataclass

from pmip6.wire.messages import ProxyBindingUpdate
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    AlternateCareOfAddressOption,
    GREKeyOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    IPv4HomeAddressRequestOption,
    LinkLocalAddressOption,
    MNIdentifierOption,
    MNLinkLayerIdentifierOption,
    MobilityOption,
    TimestampOption,
)


@dataclass(slots=True, eq=False)
class PbuOptions:
    """What a PBU carries, by option kind; None (or an empty list) when it carries none of that kind."""

    mn_identifier: MNIdentifierOption | None
    home_network_prefixes: list[HomeNetworkPrefixOption]
    ipv4_home_address_requests: list[IPv4HomeAddressRequestOption]
    handoff_indicator: HandoffIndicatorOption | None
    access_technology_type: AccessTechnologyTypeOption | None
    mn_link_layer_identifier: MNLinkLayerIdentifierOption | None
    link_local_address: LinkLocalAddressOption | None
    timestamp: TimestampOption | None
    gre_key: GREKeyOption | None
    alternate_care_of_address: AlternateCareOfAddressOption | None

    @property
    def ipv4_home_address_request(self) -> IPv4HomeAddressRequestOption | None:
        """The first IPv4 Home Address Request option (RFC 5844 3.1.2.1 rejects a second one)."""
        requests = self.ipv4_home_address_requests
        return requests[0] if requests else None

    @classmethod
    def of(cls, pbu: ProxyBindingUpdate) -> PbuOptions:
        first: dict[type, MobilityOption] = {}
        prefixes: list[HomeNetworkPrefixOption] = []
        ipv4_requests: list[IPv4HomeAddressRequestOption] = []
        for option in pbu.options:
            kind = type(option)
            if kind is HomeNetworkPrefixOption:
                prefixes.append(option)  # type: ignore[arg-type]
            elif kind is IPv4HomeAddressRequestOption:
                ipv4_requests.append(option)  # type: ignore[arg-type]
            elif kind not in first:
                first[kind] = option
        get = first.get
        return cls(
            get(MNIdentifierOption),  # type: ignore[arg-type]
            prefixes,
            ipv4_requests,
            get(HandoffIndicatorOption),  # type: ignore[arg-type]
            get(AccessTechnologyTypeOption),  # type: ignore[arg-type]
            get(MNLinkLayerIdentifierOption),  # type: ignore[arg-type]
            get(LinkLocalAddressOption),  # type: ignore[arg-type]
            get(TimestampOption),  # type: ignore[arg-type]
            get(GREKeyOption),  # type: ignore[arg-type]
            get(AlternateCareOfAddressOption),  # type: ignore[arg-type]
        )
