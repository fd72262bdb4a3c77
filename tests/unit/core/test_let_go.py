"""core/let_go.py: the sessions each MAG let go, by their addresses (docs/reliability.md findings 50-55)."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, IPv6Network

from pmip6.core.events import Peer, TunnelSession
from pmip6.core.let_go import LET_GO_REMEMBERED, LetGoSessions

MAG1, MAG2, LMAA = IPv6Address("2001:db8:1::1"), IPv6Address("2001:db8:2::1"), IPv6Address("2001:db8:ff::1")
MN1, MN2 = b"mn1@example", b"mn2@example"
P1, P2 = IPv6Network("2001:db8:a::/64"), IPv6Network("2001:db8:b::/64")
V4 = IPv4Address("10.0.0.5")


def _session(mn_id: bytes, *prefixes: IPv6Network, ipv4: IPv4Address | None = None) -> TunnelSession:
    return TunnelSession(mn_id, Peer(MAG1), LMAA, ipv4_home_address=ipv4, home_network_prefixes=prefixes)


def test_a_session_is_named_by_any_of_its_addresses_and_only_for_its_mn_and_mag() -> None:
    let_go = LetGoSessions()
    let_go.remember(MAG1, _session(MN1, P1, ipv4=V4))
    assert let_go.holds(MAG1, MN1, [P1]) and let_go.holds(MAG1, MN1, [V4]) and let_go.holds(MAG1, MN1, [P2, V4])
    assert not let_go.holds(MAG1, MN1, [P2]), "another session of the MN"
    assert not let_go.holds(MAG1, MN2, [P1]) and not let_go.holds(MAG2, MN1, [P1])
    assert let_go.holds(MAG1, MN1, []), "a re-registration naming no address: any session of the MN there"


def test_registering_one_session_ends_the_memory_of_it_not_of_the_mns_other_one() -> None:
    """Finding 54: the MAG's registration of another interface's session keeps what it let go of the first."""
    let_go = LetGoSessions()
    let_go.remember(MAG1, _session(MN1, P1))
    let_go.registered(MAG1, MN1, (P2,), None)
    assert let_go.holds(MAG1, MN1, [P1])
    assert not let_go.holds(MAG1, MN1, []), "any registration of the MN there ends the nameless match"
    let_go.registered(MAG1, MN1, (P1,), None)
    assert not let_go.holds(MAG1, MN1, [P1])


def test_each_mag_keeps_its_latest_sessions_whatever_another_mag_let_go() -> None:
    let_go = LetGoSessions()
    let_go.remember(MAG2, _session(MN2, P2))
    sessions = [_session(MN1, IPv6Network((int(P1.network_address) + (index << 64), 64)))
                for index in range(LET_GO_REMEMBERED)]
    for session in sessions:
        let_go.remember(MAG1, session)
    assert let_go.holds(MAG2, MN2, [P2]), "one MAG's global revocation evicts nothing of another's"
    assert let_go.holds(MAG1, MN1, sessions[-1].home_network_prefixes)
    assert not let_go.holds(MAG1, MN1, sessions[0].home_network_prefixes), "the oldest forgotten first"


def test_a_mag_whose_sessions_all_registered_again_is_forgotten() -> None:
    """So that the usual registration, with nothing let go anywhere, looks nothing up."""
    let_go = LetGoSessions()
    let_go.remember(MAG1, _session(MN1, P1))
    let_go.registered(MAG1, MN1, (P1,), None)
    assert not let_go._by_mag


def test_a_mag_keeps_exactly_its_latest_keys_whatever_another_mag_holds() -> None:
    """LET_GO_REMEMBERED keys per MAG, counted for that MAG alone (mut57: G06 kept one fewer, G10 counted every
    MAG's keys): one MN's sessions at MAG1 filling its memory to the last key, after MAG2 let one go."""
    let_go = LetGoSessions()
    let_go.remember(MAG2, _session(MN2, P2))
    sessions = [_session(MN1, IPv6Network((int(P1.network_address) + (index << 64), 64)))
                for index in range(LET_GO_REMEMBERED - 1)]  # and (MN1, None): LET_GO_REMEMBERED keys
    for session in sessions:
        let_go.remember(MAG1, session)
    assert all(let_go.holds(MAG1, MN1, session.home_network_prefixes) for session in sessions)
    assert let_go.holds(MAG2, MN2, [P2])


def test_a_global_revocation_of_1365_dual_stack_sessions_at_one_mag_is_remembered_whole() -> None:
    """The capacity the docstring of LET_GO_REMEMBERED gives (about 1,300 dual-stack sessions a MAG; mut57 G09: 1,024
    keys, the old bound of findings 53 and 55, kept about the last 341): three keys a session."""
    let_go = LetGoSessions()
    sessions = [TunnelSession(b"mn%d@example" % index, Peer(MAG1), LMAA, ipv4_home_address=V4 + index,
                              home_network_prefixes=(IPv6Network((int(P1.network_address) + (index << 64), 64)),))
                for index in range(1365)]
    for session in sessions:
        let_go.remember(MAG1, session)
    assert all(let_go.holds(MAG1, session.mn_id, session.home_network_prefixes) for session in sessions)


def test_another_mns_registration_of_the_same_address_ends_nothing_of_this_mns() -> None:
    """The address freed with the session MN1's MAG let go, given to MN2 there (mut57 G22: any MN's registration of
    the address ended the memory): MN1's re-registration naming it is still one sent before."""
    let_go = LetGoSessions()
    let_go.remember(MAG1, _session(MN1, P1, ipv4=V4))
    let_go.registered(MAG1, MN2, (P1,), V4)
    assert let_go.holds(MAG1, MN1, [P1]) and let_go.holds(MAG1, MN1, [V4])
