"""The optional C fast path of the Mobility Header codec (``pmip6.wire._speedups``).

``pip install`` compiles it when a C compiler is present; without one pmip6 runs the same codec in pure
Python. The extension handles well-formed PBU, PBA and Binding Error messages and declines everything
else (malformed input, other MH types, values that do not fit), so the pure-Python codec in
:mod:`pmip6.wire.mobility` stays the reference: it runs whenever the fast path declines, and its errors
are the only ones callers see. ``tests/unit/wire/test_speedups.py`` checks that both give the same
messages and octets.

Set ``PMIP6_PURE_PYTHON=1`` to run without the extension.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from ipaddress import IPv4Address, IPv6Address
from types import ModuleType

from pmip6.wire.messages import BindingError, ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.option_codec import ALL_ZERO_ADDRESS, option_layout
from pmip6.wire.options import (
    AccessTechnologyTypeOption,
    GREKeyOption,
    HandoffIndicatorOption,
    HomeNetworkPrefixOption,
    IPv4DefaultRouterAddressOption,
    IPv4DHCPSupportModeOption,
    IPv4HomeAddressReplyOption,
    IPv4HomeAddressRequestOption,
    LinkLocalAddressOption,
    MNIdentifierOption,
    MNLinkLayerIdentifierOption,
    NATDetectionOption,
    TimestampOption,
    UnknownOption,
    VendorSpecificOption,
)

PURE_PYTHON_VARIABLE = "PMIP6_PURE_PYTHON"

_MESSAGE_CLASSES = (ProxyBindingUpdate, ProxyBindingAcknowledgement, BindingError)
_OPTION_CLASSES = (  # in the extension's order (the enum at the top of _speedups.c)
    MNIdentifierOption, VendorSpecificOption, HomeNetworkPrefixOption, HandoffIndicatorOption,
    AccessTechnologyTypeOption, MNLinkLayerIdentifierOption, LinkLocalAddressOption, TimestampOption,
    NATDetectionOption, GREKeyOption, IPv4HomeAddressRequestOption, IPv4HomeAddressReplyOption,
    IPv4DefaultRouterAddressOption, IPv4DHCPSupportModeOption, UnknownOption,
)


def load_speedups(bu_flags: Mapping[int, object], bu_mask: int, ba_flags: Mapping[int, object],
                  ba_mask: int) -> ModuleType | None:
    """The configured extension, or None when it is not built or ``PMIP6_PURE_PYTHON`` is set.

    The flag tables map each combination of defined flag bits to the flag object decoding returns."""
    if os.environ.get(PURE_PYTHON_VARIABLE):
        return None
    try:
        from pmip6.wire import _speedups
    except ImportError:
        return None
    _speedups.configure(
        _MESSAGE_CLASSES,
        tuple((option_class, *option_layout(option_class)) for option_class in _OPTION_CLASSES),
        dict(bu_flags), bu_mask, dict(ba_flags), ba_mask, IPv6Address, IPv4Address, ALL_ZERO_ADDRESS,
    )
    return _speedups
