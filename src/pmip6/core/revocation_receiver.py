"""Which bindings a MAG's Binding Revocation Indication revokes at the LMA (RFC 5846 sections 6.2.1, 8.2 and 13).

:func:`mag_revocation_answer` takes the BRI, the MAG's address (its source) and the Binding Cache and returns the
entries it revokes, or the status that refuses it. Section 13: a MAG revokes only the sessions registered by it, so
every rule below looks only at the entries the BRI's source registered
(:meth:`~pmip6.core.bce.BindingCacheEntry.registered_by`): those whose Proxy-CoA it is, and those whose PBUs it sent
naming another Proxy-CoA in an Alternate Care-of Address option (13: "the mobile access gateway that is authorized
to create or manipulate the mobile node proxy BCE is also authorized to revoke" it).

- 6.2.1's checks first (:func:`~pmip6.core.revocation_responder.trigger_refusal`): P clear 134, an undefined trigger
  133, G and the trigger disagreeing 134.
- G set, "Per-Peer Policy" (8.2): the MAG must be authorized for global revocation by the LMA's configuration (13:
  "locally configurable"), and the BRI's MN-ID option must carry the identity configured for it; otherwise, or
  without the option, 130 (Global Revocation NOT Authorized). Authorized, without an Alternate Care-of Address
  option: every entry it registered, live or draining (8.2 names those "for which the proxy CoA is the one used as
  the source"; those it registered naming another Proxy-CoA are its own too). With the option (9.2: it "MUST
  contain the proxy care-of address the bindings that are being impacted"): every entry of that Proxy-CoA (8.2
  "MUST revoke all mobile node bindings whose proxy care-of address matches"), which section 13 allows when the
  configuration gives that address the same identity (one MAG with several Proxy-CoAs) or when the BRI's source
  registered every one of them (a MAG signaling from one address for its tunnel end at another); else 130. 128
  (Binding Does NOT Exist, 6.2.1) when there is none.
- G set, "Revoking Mobility Node Local Policy": 134; revoking a realm's mobile nodes is the LMA's to ask (8.1).
- G clear (8.2 items 1-4): no MN-ID option 131 (Revoked Mobile Nodes Identity Required). The MN-ID alone: every
  entry of that MN this MAG registered; with HNP options, the entries holding them, a partial success naming the
  HNPs none holds; with V, the live entry whose IPv4 home address the IPv4 Home Address Request option names, for
  that address only (129 without the option). 128 when nothing of that MN this MAG registered matches.
"""

from __future__ import annotations

from collections.abc import Mapping

from pmip6.core.bce import BceState, BindingCacheEntry
from pmip6.core.events import Address
from pmip6.core.lookup import BindingCache
from pmip6.core.revocation_responder import Revocation, trigger_refusal
from pmip6.wire.messages import BindingRevocationIndication
from pmip6.wire.numbers import BindingRevocationStatus, BRFlags, RevocationTrigger
from pmip6.wire.options import (
    AlternateCareOfAddressOption,
    HomeNetworkPrefixOption,
    IPv4HomeAddressRequestOption,
    MNIdentifierOption,
)

Answer = Revocation[BindingCacheEntry] | BindingRevocationStatus


def mag_revocation_answer(indication: BindingRevocationIndication, mag: Address, cache: BindingCache,
                          global_revocation_mags: Mapping[Address, bytes]) -> Answer:
    """What ``indication`` from the MAG at ``mag`` revokes in ``cache``, or why it is refused (module docstring).
    ``global_revocation_mags``: the identity (MN-ID) the LMA's configuration authorizes each MAG address's global
    revocations with."""
    identity = global_revocation_mags.get(mag)
    refusal = trigger_refusal(indication)
    if refusal is not None:
        return refusal
    mn_option = indication.option(MNIdentifierOption)
    if indication.flags & BRFlags.G:
        if indication.trigger != RevocationTrigger.PER_PEER_POLICY:
            return BindingRevocationStatus.REVOCATION_FUNCTION_NOT_SUPPORTED
        if identity is None or mn_option is None or mn_option.identifier != identity:
            return BindingRevocationStatus.GLOBAL_REVOCATION_NOT_AUTHORIZED
        alternate = indication.option(AlternateCareOfAddressOption)
        if alternate is None:
            return _found(tuple(entry for entry in cache if entry.registered_by(mag)))
        at_alternate = tuple(entry for entry in cache if entry.proxy_coa.address == alternate.address)
        if global_revocation_mags.get(alternate.address) != identity and not (
                at_alternate and all(entry.mag.address == mag for entry in at_alternate)):
            return BindingRevocationStatus.GLOBAL_REVOCATION_NOT_AUTHORIZED
        return _found(at_alternate)
    if mn_option is None:
        return BindingRevocationStatus.REVOKED_MOBILE_NODES_IDENTITY_REQUIRED
    entries = tuple(entry for entry in cache.of_mn(mn_option.identifier) if entry.registered_by(mag))
    if indication.flags & BRFlags.V:
        request = indication.option(IPv4HomeAddressRequestOption)
        if request is None:
            return BindingRevocationStatus.IPV4_HOME_ADDRESS_OPTION_REQUIRED
        return _found(tuple(entry for entry in entries if entry.state is BceState.ACTIVE
                            and entry.ipv4_home_address is not None and entry.ipv4_home_address.ip == request.address),
                      ipv4_only=True)
    named = indication.options_of(HomeNetworkPrefixOption)
    if not named:
        return _found(entries)
    held = {prefix for entry in entries for prefix in entry.home_network_prefixes}
    released = tuple(option for option in named if option.network not in held)
    wanted = {option.network for option in named}
    return _found(tuple(entry for entry in entries if wanted.intersection(entry.home_network_prefixes)),
                  released=released)


def _found(entries: tuple[BindingCacheEntry, ...], ipv4_only: bool = False,
           released: tuple[HomeNetworkPrefixOption, ...] = ()) -> Answer:
    if not entries:
        return BindingRevocationStatus.BINDING_DOES_NOT_EXIST
    return Revocation(entries, ipv4_only, released)
