"""The sessions each MAG let go on a binding revocation, which its re-registrations must not reopen (RFC 5846 8.1's
race, settled "based on ... its local policy"; docs/reliability.md findings 50-57).

A MAG that acknowledged the LMA's handover or administrative BRI about a session with success (or 128: it held none), or
revoked the session itself with its own BRI (RFC 5846 8.2, 9.2), holds it no more. A re-registration of it from that MAG
(Handoff Indicator 5: the MAG saw no attach) can then only be one it sent before, delayed in the network; accepted, it
would reopen the session at a MAG that holds nothing, or take it back from the MAG the MN is at. The LMA refuses it
(:meth:`LetGoSessions.holds`) until it accepts a PBU of that MAG registering the session again
(:meth:`LetGoSessions.registered`).

A mobility session is one interface's (RFC 5213 5.4), named here by its addresses: its home network prefixes and IPv4
home address, which a re-registration names (RFC 5213 6.9.1.2, RFC 5844 3.1.1). The MAG's registration of another
interface of the MN, another session, ends nothing of this one (finding 54). A re-registration naming no address is
matched against every session the MAG let go of the MN, and any PBU of that MAG for the MN that the LMA accepts
ends that. Each MAG's memory keeps its :data:`LET_GO_REMEMBERED` latest keys, so that one MAG's global revocation
does not evict another's; it is in memory only, lost at a restart.
"""

from __future__ import annotations

from collections.abc import Iterable
from ipaddress import IPv4Address, IPv6Network

from pmip6.core.events import Address, TunnelSession

LET_GO_REMEMBERED = 4096
"""Keys remembered per MAG (:class:`LetGoSessions`), the latest ones: a session takes one per address and one for its
MN, so about 1,300 dual-stack sessions."""

SessionAddress = IPv6Network | IPv4Address
"""A home network prefix or IPv4 home address, naming the mobility session that holds it."""


def session_addresses(prefixes: tuple[IPv6Network, ...], ipv4_home_address: IPv4Address | None,
                      ) -> tuple[SessionAddress, ...]:
    """The addresses that name a session holding ``prefixes`` and ``ipv4_home_address``."""
    return prefixes if ipv4_home_address is None else (*prefixes, ipv4_home_address)


class LetGoSessions:
    """Per MAG, the sessions it let go (module docstring): a key (MN-ID, address) per address of each, and
    (MN-ID, None) for any of the MN's, the oldest forgotten first."""

    __slots__ = ("_by_mag",)

    def __init__(self) -> None:
        self._by_mag: dict[Address, dict[tuple[bytes, SessionAddress | None], None]] = {}

    def remember(self, mag: Address, session: TunnelSession) -> None:
        """The MAG at ``mag`` let ``session`` go."""
        keys = self._by_mag.setdefault(mag, {})
        for address in (None, *session_addresses(session.home_network_prefixes, session.ipv4_home_address)):
            keys.pop((session.mn_id, address), None)  # to the end: the latest
            keys[(session.mn_id, address)] = None
        while len(keys) > LET_GO_REMEMBERED:
            del keys[next(iter(keys))]

    def holds(self, mag: Address, mn_id: bytes, named: Iterable[SessionAddress]) -> bool:
        """Whether the MAG at ``mag`` let go the session of ``mn_id`` a re-registration naming ``named`` refreshes:
        one holding any of those addresses, or, naming none, any of the MN's since that MAG's last registration of
        it."""
        keys = self._by_mag.get(mag) if self._by_mag else None
        if not keys:
            return False
        named = tuple(named)
        if not named:
            return (mn_id, None) in keys
        return any((mn_id, address) in keys for address in named)

    def registered(self, mag: Address, mn_id: bytes, prefixes: tuple[IPv6Network, ...],
                   ipv4_home_address: IPv4Address | None) -> None:
        """The LMA accepted a PBU of the MAG at ``mag`` registering the session of ``mn_id`` that holds ``prefixes``
        and ``ipv4_home_address``: that MAG holds it again."""
        keys = self._by_mag.get(mag) if self._by_mag else None  # every registration tells: the usual case is cheap
        if keys is None:
            return
        for address in (None, *session_addresses(prefixes, ipv4_home_address)):
            keys.pop((mn_id, address), None)
        if not keys:
            del self._by_mag[mag]  # so that registrations after the last one there cost no hash of an address
