"""Which bindings a Binding Revocation Indication from the LMA revokes at a MAG (RFC 5846 sections 6.2.1 and 9.1).

:func:`revocation_answer` takes the BRI and the MAG's Binding Update List and returns the entries it revokes,
or the status that refuses it:

- P clear: 134 (Revocation Function NOT Supported): a MAG holds proxy bindings only.
- G set: "Per-Peer Policy" revokes every entry (the LMA is the MAG's one peer), if the BRI carries no mobility
  option (9.1 "MUST validate"; else 134); "Revoking Mobility Node Local Policy" every entry whose MN-ID is in
  the realm the BRI's MN-ID option names (``@example.com``, 8.1), 131 (Revoked Mobile Nodes Identity Required)
  without that option or when it names no entry; a per-MN trigger with G: 134 (6.2.1).
- A trigger RFC 5846 does not define: 133 (Revocation Trigger NOT Supported, 6.2.1).
- G clear: a global trigger, 134 (6.2.1); no MN-ID option, 131; no entry for it, or HNP options none of which
  is the entry's, 128 (Binding Does NOT Exist). HNP options of which only some are the entry's revoke it with
  status 1, partial success, naming the others (9.1: bindings "already released" are accepted). With V only the
  IPv4 home address binding goes: the IPv4 Home Address Request option must name the entry's address (129
  without the option, 128 for another address).

An inter-MAG handover trigger for an entry whose registration is still in flight is refused with 132
(Revocation Failed - MN is Attached): the MN has just attached here, the BRI is about an earlier visit. Otherwise
it is accepted as it comes: this MAG learns of attachments from outside (its ``attach`` and ``detach``), so it
cannot make 9.1's check that the MN is no longer attached (a SHOULD). docs/requirements.md lists what of RFC 5846
pmip6 implements.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv6Network

from pmip6.core.bul import BindingUpdateListEntry, BulState
from pmip6.wire.messages import BindingRevocationIndication
from pmip6.wire.numbers import BindingRevocationStatus, BRFlags, RevocationTrigger
from pmip6.wire.options import HomeNetworkPrefixOption, IPv4HomeAddressRequestOption, MNIdentifierOption

_GLOBAL_TRIGGERS = frozenset({RevocationTrigger.PER_PEER_POLICY, RevocationTrigger.REVOKING_MOBILITY_NODE_LOCAL_POLICY})
_PER_MN_TRIGGERS = frozenset(RevocationTrigger) - _GLOBAL_TRIGGERS
_HANDOVER_TRIGGERS = frozenset({RevocationTrigger.INTER_MAG_HANDOVER_SAME_ACCESS_TYPE,
                                RevocationTrigger.INTER_MAG_HANDOVER_DIFFERENT_ACCESS_TYPE,
                                RevocationTrigger.INTER_MAG_HANDOVER_UNKNOWN})


@dataclass(frozen=True, slots=True)
class Revocation:
    """The entries a BRI revokes; ``ipv4_only``: only their IPv4 home address bindings (the V flag);
    ``released``: the HNP options it named that no entry holds (a partial success, RFC 5846 9.1)."""

    entries: tuple[BindingUpdateListEntry, ...]
    ipv4_only: bool = False
    released: tuple[HomeNetworkPrefixOption, ...] = ()


def revocation_answer(indication: BindingRevocationIndication,
                      entries: Mapping[bytes, BindingUpdateListEntry]) -> Revocation | BindingRevocationStatus:
    """What ``indication`` revokes among ``entries`` (by MN-ID), or why it is refused (module docstring)."""
    flags, trigger = indication.flags, indication.trigger
    if not flags & BRFlags.P:
        return BindingRevocationStatus.REVOCATION_FUNCTION_NOT_SUPPORTED
    if trigger not in _PER_MN_TRIGGERS and trigger not in _GLOBAL_TRIGGERS:
        return BindingRevocationStatus.REVOCATION_TRIGGER_NOT_SUPPORTED
    if (trigger in _GLOBAL_TRIGGERS) != bool(flags & BRFlags.G):
        return BindingRevocationStatus.REVOCATION_FUNCTION_NOT_SUPPORTED
    mn_option = indication.option(MNIdentifierOption)
    if trigger == RevocationTrigger.PER_PEER_POLICY:
        if indication.options:
            return BindingRevocationStatus.REVOCATION_FUNCTION_NOT_SUPPORTED
        return Revocation(tuple(entries.values()))
    if trigger == RevocationTrigger.REVOKING_MOBILITY_NODE_LOCAL_POLICY:
        realm = _realm(mn_option.identifier) if mn_option is not None else None
        in_realm = tuple(entry for mn_id, entry in entries.items() if realm is not None and _realm(mn_id) == realm)
        return Revocation(in_realm) if in_realm else BindingRevocationStatus.REVOKED_MOBILE_NODES_IDENTITY_REQUIRED
    if mn_option is None:
        return BindingRevocationStatus.REVOKED_MOBILE_NODES_IDENTITY_REQUIRED
    entry = entries.get(mn_option.identifier)
    named = indication.options_of(HomeNetworkPrefixOption)
    released = tuple(option for option in named if _prefix(option) not in entry.home_network_prefixes) if entry else ()
    if entry is None or named and len(released) == len(named):
        return BindingRevocationStatus.BINDING_DOES_NOT_EXIST
    if trigger in _HANDOVER_TRIGGERS and entry.state is BulState.REGISTERING:
        return BindingRevocationStatus.REVOCATION_FAILED_MN_IS_ATTACHED
    if not flags & BRFlags.V:
        return Revocation((entry,), released=released)
    request = indication.option(IPv4HomeAddressRequestOption)
    if request is None:
        return BindingRevocationStatus.IPV4_HOME_ADDRESS_OPTION_REQUIRED
    if entry.ipv4_home_address is None or request.address != entry.ipv4_home_address:
        return BindingRevocationStatus.BINDING_DOES_NOT_EXIST
    return Revocation((entry,), ipv4_only=True)


def _realm(mn_id: bytes) -> bytes | None:
    """The part of an NAI after its last ``@`` (RFC 5846 8.1: ``@example.com`` names that realm), if any."""
    at = mn_id.rfind(b"@")
    return mn_id[at + 1:] if at >= 0 else None


def _prefix(option: HomeNetworkPrefixOption) -> IPv6Network:
    return IPv6Network((option.prefix, option.prefix_length), strict=False)
