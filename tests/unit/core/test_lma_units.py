"""Unit tests of the LMA's small pieces: freshness, deadlines, policy precedence, GRE decision table,
Binding Cache records and settings validation."""

from __future__ import annotations

import json
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Address, IPv6Network

import pytest

from pmip6.core.bce import BceState, BindingCacheEntry
from pmip6.core.deadlines import DeadlineQueue
from pmip6.core.events import Peer
from pmip6.core.freshness import last_accepted_timestamp, sequence_is_newer, timestamp_ceiling, timestamp_rejection
from pmip6.core.gre_negotiation import GreDecision, negotiate_gre
from pmip6.core.lma import LmaSettings, MobileNodeProfile, Tenant
from pmip6.core.overlap import OverlappingPools
from pmip6.core.policy import GrePolicy, LmaGrePolicy
from pmip6.wire.numbers import Status
from pmip6.wire.options import GREKeyOption, TimestampOption

MAG = IPv4Address("192.0.2.1")


def test_sequence_is_newer_modulo_2_16() -> None:
    assert sequence_is_newer(1, 0) and sequence_is_newer(0, 65535) and sequence_is_newer(32767, 0)
    assert not sequence_is_newer(0, 0) and not sequence_is_newer(32768, 0) and not sequence_is_newer(65535, 0)


def test_timestamp_rules() -> None:
    now = 1000.0
    ts = TimestampOption.from_time(now)
    assert timestamp_rejection(ts, None, now, 0.3) is None
    assert timestamp_rejection(ts, None, now + 0.5, 0.3) is Status.TIMESTAMP_MISMATCH
    assert timestamp_rejection(ts, None, now + 99, None) is None
    assert timestamp_rejection(ts, ts.ticks + 1, now, 0.3) is Status.TIMESTAMP_LOWER_THAN_PREV_ACCEPTED
    assert timestamp_rejection(ts, ts.ticks, now, 0.3) is Status.TIMESTAMP_MISMATCH
    assert timestamp_rejection(ts, ts.ticks - 1, now, 0.3) is None


def test_timestamp_ceiling_is_the_clock_plus_the_window() -> None:
    assert timestamp_ceiling(1000.0, 0.25) == TimestampOption.from_time(1000.25).ticks
    assert timestamp_ceiling(1000.0, None) is None  # mobile node generated timestamps: not this LMA's time


def test_last_accepted_timestamp_ignores_those_beyond_the_ceiling() -> None:
    """A timestamp beyond the LMA's clock plus the window predates a backward step of that clock (RFC 5213 5.5)."""
    ceiling = timestamp_ceiling(1000.0, 0.25)
    assert ceiling is not None
    assert last_accepted_timestamp([ceiling - 5, ceiling + 1, ceiling - 9], ceiling) == ceiling - 5
    assert last_accepted_timestamp([ceiling, ceiling + 1], ceiling) == ceiling  # at the ceiling: in sync
    assert last_accepted_timestamp([ceiling + 1], ceiling) is None
    assert last_accepted_timestamp([ceiling + 1, 3], None) == ceiling + 1  # no window: every one orders
    assert last_accepted_timestamp([], ceiling) is None


@pytest.mark.parametrize("offset", [0.25, -0.25])
def test_timestamp_exactly_at_the_validity_window_is_valid(offset: float) -> None:
    """RFC 5213 5.5 (protocol-facts.md): |timestamp - LMA clock| <= TimestampValidityWindow is valid; one tick
    more is TIMESTAMP_MISMATCH. 0.25 s is exact in 1/65536 s ticks, so the boundary is exact."""
    ts = TimestampOption.from_time(1000.0)
    assert timestamp_rejection(ts, None, 1000.0 + offset, 0.25) is None
    one_tick = offset / abs(offset) / 65536
    assert timestamp_rejection(ts, None, 1000.0 + offset + one_tick, 0.25) is Status.TIMESTAMP_MISMATCH


def test_deadline_queue_orders_replaces_and_cancels() -> None:
    queue = DeadlineQueue()
    queue.schedule("a", 5.0)
    queue.schedule("b", 3.0)
    queue.schedule("a", 1.0)
    queue.schedule("c", 4.0)
    queue.cancel("c")
    assert queue.next_deadline() == 1.0 and queue.deadline_of("b") == 3.0 and len(queue) == 2
    assert queue.pop_due(3.0) == ["a", "b"]
    assert queue.next_deadline() is None and queue.pop_due(10.0) == []


def test_policy_precedence_mn_then_mag_then_default() -> None:
    policy = LmaGrePolicy(
        default=GrePolicy.NOT_REQUIRED, per_mag={MAG: GrePolicy.OPTIONAL}, per_mn={b"mn": GrePolicy.REQUIRED}
    )
    assert policy.resolve(b"mn", MAG) is GrePolicy.REQUIRED
    assert policy.resolve(b"other", MAG) is GrePolicy.OPTIONAL
    assert policy.resolve(b"other", IPv4Address("192.0.2.9")) is GrePolicy.NOT_REQUIRED
    assert LmaGrePolicy().resolve(b"x", MAG) is GrePolicy.OPTIONAL


KEYED, GRE_ONLY = GREKeyOption(5), GREKeyOption()


@pytest.mark.parametrize(
    ("option", "t_flag", "policy", "tlv", "current", "expected"),
    [
        (KEYED, False, GrePolicy.REQUIRED, True, None, GreDecision(Status.ACCEPTED, gre=True, keyed=True)),
        (KEYED, False, GrePolicy.OPTIONAL, True, None, GreDecision(Status.ACCEPTED, gre=True, keyed=True)),
        (GRE_ONLY, False, GrePolicy.OPTIONAL, True, None, GreDecision(Status.ACCEPTED, gre=True)),
        (KEYED, True, GrePolicy.NOT_REQUIRED, True, None, GreDecision(Status.GRE_KEY_OPTION_NOT_REQUIRED)),
        (None, False, GrePolicy.REQUIRED, True, None, GreDecision(Status.GRE_KEY_OPTION_REQUIRED)),
        (None, True, GrePolicy.OPTIONAL, True, None, GreDecision(Status.ACCEPTED)),
        (None, False, GrePolicy.NOT_REQUIRED, True, None, GreDecision(Status.ACCEPTED)),
        (KEYED, True, GrePolicy.OPTIONAL, True, None, GreDecision(Status.ACCEPTED, gre=True, keyed=True, tlv=True)),
        (KEYED, True, GrePolicy.OPTIONAL, False, None,
         GreDecision(Status.GRE_TUNNELING_BUT_TLV_HEADER_NOT_SUPPORTED, gre=True, keyed=True)),
        (KEYED, True, GrePolicy.OPTIONAL, True, False, GreDecision(Status.ACCEPTED, gre=True, keyed=True, tlv=False)),
        (KEYED, False, GrePolicy.OPTIONAL, True, True, GreDecision(Status.ACCEPTED, gre=True, keyed=True, tlv=False)),
    ],
)
def test_gre_decision_table(option, t_flag, policy, tlv, current, expected) -> None:  # type: ignore[no-untyped-def]
    assert negotiate_gre(option, t_flag, policy, tlv, current) == expected


@pytest.mark.parametrize(
    ("option", "policy", "expected"),
    [
        (None, GrePolicy.OPTIONAL, GreDecision(Status.GRE_KEY_OPTION_REQUIRED)),
        (GRE_ONLY, GrePolicy.OPTIONAL, GreDecision(Status.GRE_KEY_OPTION_REQUIRED)),
        (GRE_ONLY, GrePolicy.NOT_REQUIRED, GreDecision(Status.GRE_KEY_OPTION_REQUIRED)),
        (KEYED, GrePolicy.NOT_REQUIRED, GreDecision(Status.ACCEPTED, gre=True, keyed=True)),
        (KEYED, GrePolicy.OPTIONAL, GreDecision(Status.ACCEPTED, gre=True, keyed=True)),
    ],
)
def test_gre_decision_table_when_overlapping_addresses_require_keys(option, policy,
                                                                    expected) -> None:  # type: ignore[no-untyped-def]
    assert negotiate_gre(option, False, policy, True, keys_required=True) == expected


def test_overlapping_pools_are_found_per_family() -> None:
    tenants = (Tenant("a", IPv4Network("10.0.0.0/24"), IPv6Network("2001:db8:a::/48")),
               Tenant("b", IPv4Network("10.0.0.128/25"), IPv6Network("2001:db8:b::/48")),
               Tenant("c", IPv4Network("10.1.0.0/24"), IPv6Network("2001:db8:a:8000::/49")),
               Tenant("d", ipv6_prefix_pool=IPv6Network("2001:db8:d::/48")))
    overlapping = OverlappingPools.of(tenants)
    assert overlapping == OverlappingPools(ipv4=frozenset({"a", "b"}), ipv6=frozenset({"a", "c"}))
    assert overlapping.keys_required("b", ipv4=True, ipv6=False)
    assert not overlapping.keys_required("b", ipv4=False, ipv6=True)
    assert overlapping.keys_required("c", ipv4=False, ipv6=True) and not overlapping.keys_required("d", ipv4=True,
                                                                                                   ipv6=True)
    assert overlapping.reason("c", ipv4=True) == "tenant c's IPv6 prefix pool overlaps another tenant's (RFC 5845 5.2)"


def _entry() -> BindingCacheEntry:
    return BindingCacheEntry(
        mn_id=b"\xffbinary-id",
        tenant="opA",
        proxy_coa=Peer(IPv4Address("192.0.2.1"), 5436),
        lmaa=IPv6Address("2001:db8::1"),
        att=4,
        hi=1,
        lifetime=400,
        expires_at=1400.5,
        last_sequence=7,
        last_timestamp=123456,
        home_network_prefixes=(IPv6Network("2001:db8:a::/64"),),
        ipv4_home_address=IPv4Interface("10.0.0.2/24"),
        ipv4_default_router=IPv4Address("10.0.0.1"),
        mn_ll_id=b"\x02\x00\x00\x00\x00\x01",
        link_local_address=IPv6Address("fe80::1"),
        gre_enabled=True,
        downlink_key=1,
        uplink_key=2,
        reserved_uplink_key=2,
        tlv_header=True,
        state=BceState.DEREGISTERING,
        delete_at=1010.0,
    )


def test_record_round_trip_through_json() -> None:
    entry = _entry()
    record = json.loads(json.dumps(entry.to_record()))
    assert record["mn_id"] is None and record["mn_id_hex"] == entry.mn_id.hex()
    assert BindingCacheEntry.from_record(record).to_record() == entry.to_record()


def test_record_of_text_mn_id_is_readable() -> None:
    entry = _entry()
    entry.mn_id = b"mn1@opA.example"
    assert entry.to_record()["mn_id"] == "mn1@opA.example"


@pytest.mark.parametrize("broken", [{"record_version": 99}, {"record_version": 1}])
def test_bad_records_raise_value_error(broken: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        BindingCacheEntry.from_record(broken)


def test_session_reflects_the_negotiated_fields() -> None:
    session = _entry().session()
    assert (session.gre, session.downlink_key, session.uplink_key, session.tlv) == (True, 1, 2, True)
    assert session.ipv4_home_address == IPv4Address("10.0.0.2") and session.tenant == "opA"


def test_settings_validation() -> None:
    tenants = (Tenant("opA"),)
    with pytest.raises(ValueError):
        LmaSettings(frozenset(), (Tenant("x"), Tenant("x")))
    with pytest.raises(ValueError):
        LmaSettings(frozenset(), tenants, default_tenant="nope")
    with pytest.raises(ValueError):
        LmaSettings(frozenset(), tenants, mobile_nodes=(MobileNodeProfile(b"m", "nope"),))


def test_sparse_bitset_behaves_like_a_set_across_chunks() -> None:
    from pmip6.core.bitset import SparseBitSet

    bits, reference = SparseBitSet(), set()
    for value in (0, 7, 8, 32767, 32768, 2**32 - 1, 7):
        bits.add(value)
        reference.add(value)
    for value in (7, 99, 32768):
        bits.discard(value)
        reference.discard(value)
    assert len(bits) == len(reference) == 4
    assert all((value in bits) == (value in reference) for value in (0, 7, 8, 9, 32767, 32768, 2**32 - 1, 2**32 - 2))


def test_sparse_bitset_memory_follows_what_it_holds() -> None:
    """Reliability finding 5: the key allocator walks the 2**32 key space; emptied chunks must be freed."""
    import tracemalloc

    from pmip6.core.bitset import SparseBitSet

    bits = SparseBitSet()
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        for chunk in range(64):  # 64 chunks of 4 KiB, each filled and emptied again
            value = chunk << 15
            bits.add(value)
            bits.discard(value)
        grown = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    assert len(bits) == 0 and grown < 4096
