"""The Binding Cache and its lookup rules (RFC 5213 5.4.1, RFC 5844 3.1.2.7).

A PBU is associated with an existing mobility session in this order:
1. 5.4.1.1, a NON_ZERO Home Network Prefix in the request (or, RFC 5844 3.1.2.7, failing that a
   NON_ZERO IPv4 home address): the key is any of those addresses, within the MN's tenant. The entry
   found must have the same MN-ID (else NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX, or for an IPv4 key
   NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS) and exactly the same addresses, as many as the entry has (else
   BCE_PBU_PREFIX_SET_DO_NOT_MATCH). It is updated when (LL-ID and ATT match) or HI = 2 or (no LL-ID,
   entry LL-ID ALL_ZERO, ATT matches, HI = 3) or (Proxy-CoA and ATT match); otherwise the PBU asks
   for a new session.
2. 5.4.1.2, an MN Link-layer Identifier: the key is MN-ID + ATT + LL-ID. With no match, HI = 2 and
   exactly one entry for the MN-ID updates that entry; HI = 4 and exactly one entry means waiting for
   its de-registration (MaxDelayBeforeNewBCEAssign).
3. 5.4.1.3, neither: the key is the MN-ID; exactly one entry and HI 2 or 3 updates it; HI 4 waits.
   pmip6 adds the fourth condition of 5.4.1.1 here: an entry of the MN without an LL-ID whose Proxy-CoA
   and ATT match the request is updated (a MAG cannot tell two such interfaces apart, and a retransmitted
   initial PBU whose PBA was lost must not open a second session).
A de-registration naming only an IPv4 home address that a reload took from the MN's session
(``BindingCacheEntry.ipv4_withdrawn``) finds that session by it, as if the entry still held it (its MAG releases it).
Everything else is a new session. Entries waiting for deletion (de-registered) are found like live ones, but a
live entry first where rules 2 and 3 match several (one live entry per interface, the others ones it left).
"Exactly one entry" (rules 2 and 3) counts the MN's live entries, or when none is live its draining ones; and
pmip6's added rule takes back a draining entry for a registration unless that one entry is a live session the PBU
hands off from: with HI 2 (another interface, any ATT), or HI 3 or 4 when it can be the PBU's interface (same ATT,
MN-LL-ID ALL_ZERO), the PBU is about that live session (a handoff from it, or a wait for its de-registration), not
about the session its own MAG ended; a live session of another ATT is another interface's (5.4 multihoming) and
stays (docs/requirements.md, "Choices").
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv6Network

from pmip6.core.bce import BceState, BindingCacheEntry
from pmip6.core.events import Address, Peer
from pmip6.wire.numbers import HandoffIndicator, Status


@dataclass(slots=True)
class LookupRequest:
    """The lookup keys a PBU carries. ``att``/``hi`` are None when the option is missing.

    Not frozen: one is built per PBU and read once, and a frozen dataclass costs four times as much to build.
    """

    mn_id: bytes
    tenant: str
    proxy_coa: Address
    """The Proxy-CoA of the request: its source address, or its Alternate Care-of Address (5.4.1.1, 4th bullet)."""
    prefixes: Collection[IPv6Network] = ()
    """The NON_ZERO Home Network Prefixes of the request, one per option (5.4.1.1 item 4 compares counts too)."""
    ipv4_home_address: IPv4Address | None = None
    """The NON_ZERO address of the IPv4 Home Address Request option."""
    ll_id: bytes | None = None
    att: int | None = None
    hi: int | None = None
    deregistration: bool = False
    """Lifetime 0: it is about the session at its own MAG, even one that drains (5.3.5), never a handoff."""


@dataclass(slots=True)
class LookupResult:
    """``entry``: the session the PBU refers to; ``reject``: a status; ``wait_for``: HI 4, wait for this
    entry's de-registration (``entry`` then names a draining entry to take back if the LMA does not wait, or is
    None). All None: a new mobility session.

    Not frozen: one is built for every PBU that refers to a session and read once, and a frozen dataclass costs
    several times as much to build.
    """

    entry: BindingCacheEntry | None = None
    reject: Status | None = None
    wait_for: BindingCacheEntry | None = None


_NEW_SESSION = LookupResult()
_HANDOFF_WITH_LL_ID = frozenset({HandoffIndicator.HANDOFF_BETWEEN_INTERFACES})
_HANDOFF_WITHOUT_LL_ID = frozenset({HandoffIndicator.HANDOFF_BETWEEN_INTERFACES, HandoffIndicator.HANDOFF_BETWEEN_MAGS})


class BindingCache:
    """All Binding Cache entries, indexed by MN-ID and, per tenant, by home address; counted per tenant and per MAG
    (:attr:`BindingCacheEntry.mag`, the address its PBUs come from) for :mod:`pmip6.core.binding_limits`."""

    __slots__ = ("_by_mn", "_by_prefix", "_by_ipv4", "_count", "_per_tenant", "_per_mag")

    def __init__(self) -> None:
        self._by_mn: dict[bytes, list[BindingCacheEntry]] = {}
        self._by_prefix: dict[str, dict[IPv6Network, BindingCacheEntry]] = {}
        self._by_ipv4: dict[str, dict[IPv4Address, BindingCacheEntry]] = {}
        self._count = 0
        self._per_tenant: dict[str, int] = {}
        self._per_mag: dict[Address, int] = {}

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[BindingCacheEntry]:
        for entries in self._by_mn.values():
            yield from entries

    def of_mn(self, mn_id: bytes) -> list[BindingCacheEntry]:
        return self._by_mn.get(mn_id, [])

    def of_tenant_count(self, tenant: str) -> int:
        """How many entries ``tenant`` has."""
        return self._per_tenant.get(tenant, 0)

    def of_mag_count(self, mag: Address) -> int:
        """How many entries the MAG signaling from ``mag`` has."""
        return self._per_mag.get(mag, 0)

    def add(self, entry: BindingCacheEntry) -> None:
        self._by_mn.setdefault(entry.mn_id, []).append(entry)
        self._index_addresses(entry)
        self._count += 1
        self._per_tenant[entry.tenant] = self._per_tenant.get(entry.tenant, 0) + 1
        self._count_mag(entry.mag.address, 1)

    def remove(self, entry: BindingCacheEntry) -> None:
        entries = self._by_mn[entry.mn_id]
        entries.remove(entry)
        if not entries:
            del self._by_mn[entry.mn_id]
        self._unindex_addresses(entry)
        self._count -= 1
        left = self._per_tenant[entry.tenant] - 1
        if left:
            self._per_tenant[entry.tenant] = left
        else:
            del self._per_tenant[entry.tenant]
        self._count_mag(entry.mag.address, -1)

    def set_mag(self, entry: BindingCacheEntry, proxy_coa: Peer, signaling: Peer | None) -> None:
        """Change an entry's Proxy-CoA and the address its MAG signals from (None: the Proxy-CoA), keeping the
        per-MAG counts right."""
        before = entry.mag.address
        entry.proxy_coa = proxy_coa
        entry.signaling = signaling
        after = entry.mag.address
        if after != before:
            self._count_mag(before, -1)
            self._count_mag(after, 1)

    def _count_mag(self, mag: Address, change: int) -> None:
        count = self._per_mag.get(mag, 0) + change
        if count:
            self._per_mag[mag] = count
        else:
            del self._per_mag[mag]

    def set_addresses(
        self,
        entry: BindingCacheEntry,
        prefixes: tuple[IPv6Network, ...],
        ipv4_home_address: IPv4Interface | None,
    ) -> None:
        """Change an entry's home addresses and keep the indexes right."""
        if prefixes == entry.home_network_prefixes and ipv4_home_address == entry.ipv4_home_address:
            return  # a re-registration keeps its addresses: the indexes are right already
        self._unindex_addresses(entry)
        entry.home_network_prefixes = prefixes
        entry.ipv4_home_address = ipv4_home_address
        self._index_addresses(entry)

    def _index_addresses(self, entry: BindingCacheEntry) -> None:
        if entry.home_network_prefixes:
            by_prefix = self._by_prefix.setdefault(entry.tenant, {})
            for prefix in entry.home_network_prefixes:
                by_prefix[prefix] = entry
        if entry.ipv4_home_address is not None:
            self._by_ipv4.setdefault(entry.tenant, {})[entry.ipv4_home_address.ip] = entry

    def _unindex_addresses(self, entry: BindingCacheEntry) -> None:
        by_prefix = self._by_prefix.get(entry.tenant, {})
        for prefix in entry.home_network_prefixes:
            by_prefix.pop(prefix, None)
        if entry.ipv4_home_address is not None:
            self._by_ipv4.get(entry.tenant, {}).pop(entry.ipv4_home_address.ip, None)

    def lookup(self, request: LookupRequest) -> LookupResult:
        """Apply RFC 5213 5.4.1 (see the module docstring)."""
        if request.prefixes:
            return self._lookup_by_address(request, ipv4_key=False)
        if request.ipv4_home_address is not None:
            return self._lookup_by_address(request, ipv4_key=True)
        mine = self.of_mn(request.mn_id)
        if not mine:  # rules 2 and 3 name entries of the MN: without one, a new session
            return _NEW_SESSION
        found = _live_first(entry for entry in mine
                            if same_interface(request.att, request.ll_id, request.proxy_coa, entry))
        handoff_indicators = _HANDOFF_WITH_LL_ID if request.ll_id is not None else _HANDOFF_WITHOUT_LL_ID
        if found is not None and (found.state is BceState.ACTIVE or request.ll_id is not None
                                  or request.deregistration):
            return LookupResult(entry=found)  # 5.4.1.2 item 2 names even an entry that drains
        only = _one_and_only(mine)
        # pmip6's rule takes a draining entry back unless 5.4.1.3's one entry is a live session it hands off from.
        if only is not None and (found is None or _hands_off_from(only, request)):
            if request.hi in handoff_indicators:
                return LookupResult(entry=only)
            if request.hi == HandoffIndicator.UNKNOWN:
                return LookupResult(entry=found, wait_for=only)
        return LookupResult(entry=found) if found is not None else _NEW_SESSION

    def _lookup_by_address(self, request: LookupRequest, ipv4_key: bool) -> LookupResult:
        entry: BindingCacheEntry | None
        if ipv4_key:
            entry = self._by_ipv4.get(request.tenant, {}).get(request.ipv4_home_address)  # type: ignore[arg-type]
            if request.deregistration and (entry is None or entry.mn_id != request.mn_id):
                # Its MAG releasing what a reload took from the MN, perhaps given to another since (RFC 5844 3.1.2.5).
                entry = next((mine for mine in self.of_mn(request.mn_id)
                              if mine.ipv4_withdrawn == request.ipv4_home_address), entry)
        else:
            by_prefix = self._by_prefix.get(request.tenant, {})
            entry = next((found for prefix in request.prefixes if (found := by_prefix.get(prefix))), None)
        if entry is None:
            return _NEW_SESSION
        if entry.mn_id != request.mn_id:
            return LookupResult(
                reject=(Status.NOT_AUTHORIZED_FOR_IPV4_HOME_ADDRESS if ipv4_key
                        else Status.NOT_AUTHORIZED_FOR_HOME_NETWORK_PREFIX)
            )
        if not ipv4_key and not _same_prefixes(entry.home_network_prefixes, request.prefixes):
            return LookupResult(reject=Status.BCE_PBU_PREFIX_SET_DO_NOT_MATCH)
        same_att = entry.att == request.att
        if (
            (request.ll_id is not None and request.ll_id == entry.mn_ll_id and same_att)
            or request.hi == HandoffIndicator.HANDOFF_BETWEEN_INTERFACES
            or (
                request.ll_id is None
                and not any(entry.mn_ll_id or b"")
                and same_att
                and request.hi == HandoffIndicator.HANDOFF_BETWEEN_MAGS
            )
            or (entry.proxy_coa.address == request.proxy_coa and same_att)
        ):
            return LookupResult(entry)  # positional: keywords to a class cost a dict per call
        return _NEW_SESSION


def _same_prefixes(held: tuple[IPv6Network, ...], requested: Collection[IPv6Network]) -> bool:
    """RFC 5213 5.4.1.1 item 4: the request names exactly the entry's prefixes, as many as the entry has. A refresh
    names them in the entry's order, which a tuple comparison tells without hashing every prefix into sets."""
    return len(held) == len(requested) and (held == tuple(requested) or set(held) == set(requested))


def of_interface(entry: BindingCacheEntry, att: int | None, ll_id: bytes | None) -> bool:
    """Whether ``entry`` can be a session of the MN's interface of access technology type ``att`` and MN-LL-ID
    ``ll_id`` (None: ALL_ZERO, RFC 5213 5.1): the same ATT and MN-LL-ID, 5.4.1.2's key ("matching MN-Identifier,
    Access Technology Type (ATT), and MN-LL-Identifier"), and for an HI 3 request without an MN-LL-ID 5.4.1.1 item
    5's ("the link-layer identifier value in the Binding Cache entry is set to ALL_ZERO, the access technology type
    ... matches")."""
    return entry.att == att and entry.mn_ll_id == ll_id


def same_interface(att: int | None, ll_id: bytes | None, proxy_coa: Address, other: BindingCacheEntry) -> bool:
    """Whether ``other`` is a session of the MN's interface ``att``, ``ll_id`` registered at ``proxy_coa``: the same
    ATT and MN-LL-ID (:func:`of_interface`), or, without an MN-LL-ID, the same ATT at the same Proxy-CoA, which
    pmip6's lookup treats as one interface (module docstring, 5.4.1.3: a MAG cannot tell two such interfaces
    apart)."""
    return of_interface(other, att, ll_id) and (ll_id is not None or other.proxy_coa.address == proxy_coa)


def interface_key(entry: BindingCacheEntry) -> tuple[bytes, int, bytes | None, Address | None]:
    """What names ``entry``'s interface: two entries have the same key exactly when :func:`same_interface` takes
    one for a session of the other's interface (the MN-ID, ATT and MN-LL-ID, and without an MN-LL-ID the
    Proxy-CoA)."""
    return entry.mn_id, entry.att, entry.mn_ll_id, entry.proxy_coa.address if entry.mn_ll_id is None else None


def _hands_off_from(only: BindingCacheEntry, request: LookupRequest) -> bool:
    """Whether a registration for which pmip6's Proxy-CoA + ATT rule names a draining entry is instead about the MN's
    "one and only one" entry ``only`` (RFC 5213 5.4.1.3 items 2-3), a live one (were it draining, it would be that
    entry itself: :func:`_one_and_only`): with Handoff Indicator 2 ("Handoff between two different interfaces of the
    mobile node", so of any ATT), or with 3 ("Handoff between mobile access gateways for the same interface") or 4
    when ``only`` can be the request's interface (:func:`of_interface`). A live session of another interface is
    another mobility session (5.4 multihoming): the registration takes its own interface's draining entry back."""
    return request.hi == HandoffIndicator.HANDOFF_BETWEEN_INTERFACES or of_interface(only, request.att, request.ll_id)


def _one_and_only(mine: list[BindingCacheEntry]) -> BindingCacheEntry | None:
    """RFC 5213 5.4.1.2 items 3-4, 5.4.1.3 items 1-3: "one and only one Binding Cache entry" of the MN, counting its
    live entries, or when none is live its de-registered ones (5.3.5: a draining entry is a session its MAG ended,
    kept only so that a PBU for that session may take it back). None when there is not exactly one."""
    live = [entry for entry in mine if entry.state is BceState.ACTIVE]
    candidates = live or mine
    return candidates[0] if len(candidates) == 1 else None


def _live_first(matches: Iterable[BindingCacheEntry]) -> BindingCacheEntry | None:
    """The live entry among ``matches``, else the first de-registered one, else None. Besides an interface's one live
    session (the LMA de-registers any other, RFC 5213 5.4) its key may name sessions it left, still draining: a PBU
    about the interface is about its live session."""
    draining = None
    for entry in matches:
        if entry.state is BceState.ACTIVE:
            return entry
        if draining is None:
            draining = entry
    return draining
