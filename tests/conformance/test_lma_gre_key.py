"""RFC 5845 (draft-07 section IDs) rules the LMA must follow, one test per requirement ID, on the real engine.

Each test drives :class:`pmip6.core.lma.LocalMobilityAnchor` with hand-built PBUs and checks the PBA
(status, GRE Key option, T flag) and the Binding Cache entry (RFC 5845 5.1 fields).
"""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address, IPv6Address

import pytest
from lma_builders import (
    ANY_IPV4,
    GRE_NOT_REQUIRED_MN,
    GRE_REQUIRED_MN,
    LMAA,
    MAG1,
    MAG2,
    MN1,
    MN2,
    MN3,
    NOW,
    OP_A,
    OP_B,
    hnp_of,
    make_lma,
    option_of,
    pbu,
    rejected_status,
    settings,
    the_pba,
)

from pmip6.core.bce import BceState, BindingCacheEntry
from pmip6.core.events import (
    Alarm,
    BindingDeregistered,
    BindingEstablished,
    BindingRemoved,
    BindingUpdated,
    Peer,
)
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LocalMobilityAnchor
from pmip6.core.policy import GrePolicy, LmaGrePolicy
from pmip6.wire.messages import ProxyBindingAcknowledgement
from pmip6.wire.mobility import decode_message, encode_message
from pmip6.wire.numbers import BAFlags, BUFlags, HandoffIndicator, OptionType, Status
from pmip6.wire.options import GREKeyOption, IPv4HomeAddressReplyOption, NATDetectionOption

DOWNLINK = 0x1111
NEW_DOWNLINK = 0x2222
NOT_REQUIRED = settings(gre_policy=LmaGrePolicy(default=GrePolicy.NOT_REQUIRED))


def entry(lma: LocalMobilityAnchor, mn_id: bytes = MN1) -> BindingCacheEntry:
    (found,) = [bce for bce in lma.bindings() if bce.mn_id == mn_id]
    return found


def register(lma: LocalMobilityAnchor, mn_id: bytes = MN1, **kwargs: object) -> ProxyBindingAcknowledgement:
    outcome = lma.receive(pbu(mn_id, **kwargs), MAG1, LMAA, NOW)  # type: ignore[arg-type]
    return the_pba(outcome)


def refresh(
    lma: LocalMobilityAnchor, first: ProxyBindingAcknowledgement, *, source=MAG1, hi=HandoffIndicator.NOT_CHANGED,
    sequence: int = 2, **kwargs: object
) -> ProxyBindingAcknowledgement:
    """A re-registration (same MAG) or, with another ``source``, a handoff, with the assigned HNP."""
    message = pbu(MN1, sequence=sequence, hi=hi, prefixes=(hnp_of(first),), **kwargs)  # type: ignore[arg-type]
    return the_pba(lma.receive(message, source, LMAA, NOW + 10))


# ---- section 3.3: initial exchange and lifetime extension -------------------------------------------


def test_GK_3_3_1_3_accepted_initial_pbu_returns_option_with_uplink_key() -> None:
    lma = make_lma()
    pba = register(lma, gre=GREKeyOption(DOWNLINK))
    assert pba.status == Status.ACCEPTED
    option = pba.option(GREKeyOption)
    assert option is not None and option.key is not None and option.key != 0
    assert option.key == entry(lma).uplink_key


def test_GK_5_2_2_keyed_initial_exchange_pba_carries_uplink_key() -> None:
    lma = make_lma()
    first = register(lma, MN1, gre=GREKeyOption(DOWNLINK))
    second = register(lma, MN2, gre=GREKeyOption(DOWNLINK))
    keys = [option_of(pba, GREKeyOption).key for pba in (first, second)]
    assert None not in keys and keys[0] != keys[1], "each session gets its own uplink key"


def test_GK_3_3_2_2_reregistration_returns_same_uplink_key() -> None:
    lma = make_lma()
    first = register(lma, gre=GREKeyOption(DOWNLINK))
    again = refresh(lma, first, gre=GREKeyOption(DOWNLINK))
    assert again.status == Status.ACCEPTED
    assert again.option(GREKeyOption) == first.option(GREKeyOption)


@pytest.mark.parametrize("downlink", [DOWNLINK, NEW_DOWNLINK], ids=["its downlink key", "another downlink key"])
def test_GK_3_3_2_2_a_keyed_session_keeps_its_keys_when_a_reload_makes_gre_not_required(downlink: int) -> None:
    """The session's MAG re-registers it with a downlink key after a reload set the GRE policy to not-required:
    GK-3.3.2-2's MUST (the same uplink key) wins over GK-5.2-5's SHOULD (status 2), so the answer cannot move the
    session off GRE, e.g. on a retransmission whose PBA is lost after the MAG applied the first one's keys
    (docs/reliability.md finding 70). A new downlink key too: RFC 5845 3.3.2 returns the uplink key "exchanged
    with the mobile access gateway in the last successful Proxy Binding Update" (finding 79)."""
    lma = make_lma()
    first = register(lma, gre=GREKeyOption(DOWNLINK))
    assert first.status == Status.ACCEPTED and entry(lma).uplink_key is not None
    lma.reconfigure(NOT_REQUIRED, NOW + 1)
    again = refresh(lma, first, gre=GREKeyOption(downlink))
    assert again.status == Status.ACCEPTED and again.option(GREKeyOption) == first.option(GREKeyOption)
    assert (entry(lma).gre_enabled, entry(lma).downlink_key) == (True, downlink)


def test_GK_5_2_5_a_gre_only_session_keeps_gre_when_a_reload_makes_gre_not_required() -> None:
    """A session with GRE and no keys (RFC 5845 3.2) re-registered with the option without a key after a reload set
    the policy to not-required keeps GRE: status 0, the option without a key. No MUST asks it; GK-5.2-5's SHOULD
    gives way for finding 70's reason: a status 2 whose PBA is lost leaves the MAG sending GRE to an LMA that drops
    it (docs/reliability.md finding 76)."""
    lma = make_lma()
    first = register(lma, gre=GREKeyOption())
    assert first.status == Status.ACCEPTED and first.option(GREKeyOption) == GREKeyOption()
    lma.reconfigure(NOT_REQUIRED, NOW + 1)
    again = refresh(lma, first, gre=GREKeyOption())
    assert again.status == Status.ACCEPTED and again.option(GREKeyOption) == GREKeyOption()
    assert (entry(lma).gre_enabled, entry(lma).uplink_key) == (True, None)


def test_GK_3_3_2_4_a_handoff_keeps_the_uplink_key_when_a_reload_makes_gre_not_required() -> None:
    """GK-3.3.2-4's MUST at a handoff as GK-3.3.2-2's at a re-registration: the new MAG's PBU with its own downlink key
    gets the same uplink key, whatever the policy says now (RFC 5845 3.3.2: "for the lifetime of that mobility
    session"; docs/reliability.md finding 79)."""
    lma = make_lma()
    first = register(lma, gre=GREKeyOption(DOWNLINK))
    lma.reconfigure(NOT_REQUIRED, NOW + 1)
    after_handoff = refresh(lma, first, source=MAG2, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS,
                            gre=GREKeyOption(NEW_DOWNLINK))
    assert after_handoff.status == Status.ACCEPTED
    assert after_handoff.option(GREKeyOption) == first.option(GREKeyOption)
    bce = entry(lma)
    assert (bce.proxy_coa, bce.gre_enabled, bce.downlink_key) == (MAG2, True, NEW_DOWNLINK)


@pytest.mark.parametrize(("before", "after"), [(GREKeyOption(DOWNLINK), GREKeyOption()),
                                               (GREKeyOption(), GREKeyOption(DOWNLINK))],
                         ids=["keyed session, option without key", "GRE-only session, option with key"])
def test_GK_5_2_5_a_session_offered_another_form_of_gre_after_a_reload_to_not_required_gets_2(
        before: GREKeyOption, after: GREKeyOption) -> None:
    """Only the session's own form of the option keeps its GRE (findings 70, 76, 79): another form, like a new
    session's option, is answered by the policy, now 2 (GK-5.2-5)."""
    lma = make_lma()
    first = register(lma, gre=before)
    lma.reconfigure(NOT_REQUIRED, NOW + 1)
    again = refresh(lma, first, gre=after)
    assert again.status == Status.GRE_KEY_OPTION_NOT_REQUIRED and again.option(GREKeyOption) is None
    assert (entry(lma).gre_enabled, entry(lma).uplink_key) == (False, None)
    new_session = register(lma, MN2, gre=GREKeyOption(DOWNLINK))
    assert new_session.status == Status.GRE_KEY_OPTION_NOT_REQUIRED and not entry(lma, MN2).gre_enabled


def test_GK_5_2_5_a_draining_session_revived_after_a_reload_to_not_required_gets_2() -> None:
    """A de-registered session (RFC 5213 5.3.5) has no GRE left to keep: its MAG's PBU reviving it, though it carries
    the session's downlink key, is answered by the policy, now 2."""
    lma = make_lma()
    first = register(lma, gre=GREKeyOption(DOWNLINK))
    dereg = pbu(MN1, sequence=2, lifetime=0, prefixes=(hnp_of(first),))
    assert the_pba(lma.receive(dereg, MAG1, LMAA, NOW + 1)).status == Status.ACCEPTED
    lma.reconfigure(NOT_REQUIRED, NOW + 2)
    again = refresh(lma, first, sequence=3, hi=HandoffIndicator.NEW_INTERFACE, gre=GREKeyOption(DOWNLINK))
    assert again.status == Status.GRE_KEY_OPTION_NOT_REQUIRED and not entry(lma).gre_enabled


def test_GK_3_3_2_4_handoff_returns_uplink_key_of_previous_mag() -> None:
    lma = make_lma()
    first = register(lma, gre=GREKeyOption(DOWNLINK))
    after_handoff = refresh(lma, first, source=MAG2, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS,
                            gre=GREKeyOption(NEW_DOWNLINK))
    assert after_handoff.status == Status.ACCEPTED
    assert after_handoff.option(GREKeyOption) == first.option(GREKeyOption)
    bce = entry(lma)
    assert bce.proxy_coa == MAG2
    assert bce.downlink_key == NEW_DOWNLINK, "the BCE takes the new MAG's downlink key"


def test_RFC5845_3_3_2_a_uplink_key_constant_for_whole_session() -> None:
    """Same uplink key through refreshes, a handoff, a registration without keys and back."""
    lma = make_lma()
    first = register(lma, gre=GREKeyOption(DOWNLINK))
    granted = first.option(GREKeyOption)
    assert granted is not None and granted.key is not None
    uplink = granted.key
    seen = [
        refresh(lma, first, sequence=2, gre=GREKeyOption(DOWNLINK)),
        refresh(lma, first, sequence=3, gre=GREKeyOption(DOWNLINK)),
        refresh(lma, first, sequence=4, source=MAG2, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, gre=GREKeyOption(7)),
    ]
    assert all(pba.option(GREKeyOption) == GREKeyOption(uplink) for pba in seen)
    without_keys = refresh(lma, first, sequence=5, source=MAG2)
    assert without_keys.option(GREKeyOption) is None
    assert (entry(lma).uplink_key, entry(lma).reserved_uplink_key) == (None, uplink), "kept for the session"
    back = refresh(lma, first, sequence=6, source=MAG2, gre=GREKeyOption(8))
    assert back.option(GREKeyOption) == GREKeyOption(uplink)


def test_RFC5845_3_3_2_b_restart_keeps_uplink_keys_rather_than_changing_them() -> None:
    """The MAY (change the key for administrative reasons) is not used: a restored session keeps its key."""
    lma = make_lma()
    first = register(lma, gre=GREKeyOption(DOWNLINK))
    records = [bce.to_record() for bce in lma.bindings()]
    restarted = make_lma()
    restarted.restore([BindingCacheEntry.from_record(record) for record in records], NOW + 5)
    again = refresh(restarted, first, gre=GREKeyOption(DOWNLINK))
    assert again.option(GREKeyOption) == first.option(GREKeyOption)


def test_RFC5845_3_3_2_b_a_restart_whose_key_allocator_starts_elsewhere_keeps_the_uplink_key() -> None:
    """A real restart seeds the key allocator at random: the restored session keeps its uplink key all the
    same, rather than being handed the key the new allocator would pick (the MAY is not used)."""
    lma = make_lma()
    first = register(lma, gre=GREKeyOption(DOWNLINK))
    records = [bce.to_record() for bce in lma.bindings()]
    restarted = LocalMobilityAnchor(settings(), keys=GreKeyAllocator(seed=99))
    restarted.restore([BindingCacheEntry.from_record(record) for record in records], NOW + 5)
    assert [bce.uplink_key for bce in restarted.bindings()] \
        == [option_of(first, GREKeyOption).key]
    again = refresh(restarted, first, gre=GREKeyOption(DOWNLINK))
    assert again.option(GREKeyOption) == first.option(GREKeyOption)


def test_GK_3_3_2_5_handoff_without_option_rejected_when_policy_requires_gre() -> None:
    lma = make_lma()
    first = register(lma, GRE_REQUIRED_MN, gre=GREKeyOption(DOWNLINK))
    before = entry(lma, GRE_REQUIRED_MN).to_record()
    handoff = pbu(GRE_REQUIRED_MN, sequence=2, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, prefixes=(hnp_of(first),))
    outcome = lma.receive(handoff, MAG2, LMAA, NOW + 1)
    assert rejected_status(outcome) == Status.GRE_KEY_OPTION_REQUIRED
    assert entry(lma, GRE_REQUIRED_MN).to_record() == before, "a rejected PBU never touches the BCE"


def test_GK_3_3_2_6_no_option_and_gre_not_required_accepted_without_option() -> None:
    lma = make_lma()
    first = register(lma, gre=GREKeyOption(DOWNLINK))
    again = refresh(lma, first)
    assert again.status == Status.ACCEPTED
    assert again.option(GREKeyOption) is None
    assert not entry(lma).session().gre


# ---- section 5: LMA considerations ------------------------------------------------------------------


def test_GK_5_1_1_bce_keeps_downlink_and_uplink_keys() -> None:
    lma = make_lma()
    pba = register(lma, gre=GREKeyOption(DOWNLINK))
    bce = entry(lma)
    assert (bce.gre_enabled, bce.downlink_key, bce.uplink_key) \
        == (True, DOWNLINK, option_of(pba, GREKeyOption).key)
    session = bce.session()
    assert (session.gre, session.downlink_key, session.uplink_key) == (True, DOWNLINK, bce.uplink_key)


def test_GK_5_2_1_gre_only_request_answered_with_option_without_key() -> None:
    lma = make_lma()
    pba = register(lma, gre=GREKeyOption())
    assert pba.status == Status.ACCEPTED
    assert pba.option(GREKeyOption) == GREKeyOption(None)
    bce = entry(lma)
    assert bce.gre_enabled and bce.downlink_key is None and bce.uplink_key is None


@pytest.mark.parametrize("dereg_option", [None, GREKeyOption(DOWNLINK)])
def test_deregistration_pba_carries_no_gre_key_option_and_is_not_policy_checked(
        dereg_option: GREKeyOption | None) -> None:
    """docs/requirements.md: a de-registration (lifetime 0) is not policy-checked (no 163 for a GRE-required
    MN whose MAG follows GK-4.2-12) and its PBA carries no GRE Key option, whatever the PBU carried."""
    lma = make_lma()
    first = register(lma, GRE_REQUIRED_MN, gre=GREKeyOption(DOWNLINK))
    assert first.option(GREKeyOption) is not None
    outcome = lma.receive(pbu(GRE_REQUIRED_MN, sequence=2, lifetime=0, hi=HandoffIndicator.UNKNOWN,
                              prefixes=(hnp_of(first),), gre=dereg_option), MAG1, LMAA, NOW + 1)
    pba = the_pba(outcome)

    assert (pba.status, pba.lifetime) == (Status.ACCEPTED, 0)
    assert pba.option(GREKeyOption) is None


def test_GK_5_2_4_no_option_and_gre_required_rejects_163() -> None:
    lma = make_lma()
    outcome = lma.receive(pbu(GRE_REQUIRED_MN), MAG1, LMAA, NOW)
    assert rejected_status(outcome) == Status.GRE_KEY_OPTION_REQUIRED
    assert the_pba(outcome).option(GREKeyOption) is None
    assert list(lma.bindings()) == []


def test_GK_5_2_4_per_mag_policy_requires_gre() -> None:
    lma = make_lma(gre_policy=LmaGrePolicy(per_mag={MAG2.address: GrePolicy.REQUIRED}))
    assert the_pba(lma.receive(pbu(MN1), MAG1, LMAA, NOW)).status == Status.ACCEPTED
    assert rejected_status(lma.receive(pbu(MN2), MAG2, LMAA, NOW)) == Status.GRE_KEY_OPTION_REQUIRED


def figure1_lma(**overrides: object) -> LocalMobilityAnchor:
    """opA and opB with the same IPv4 pool, as in the draft's Figure 1 (their IPv6 prefix pools stay apart)."""
    return make_lma(tenants=(OP_A, replace(OP_B, ipv4_pool=OP_A.ipv4_pool)), **overrides)


@pytest.mark.parametrize("gre", [None, GREKeyOption()], ids=["no-option", "gre-only"])
def test_GK_5_2_4_overlapping_ipv4_pools_require_keys_whatever_the_policy(gre: GREKeyOption | None) -> None:
    """"GRE encapsulation and GRE keys are required, e.g., overlapping IPv4 private addressing is in use": with
    opA's and opB's IPv4 pools overlapping (policy "optional"), an IPv4 session without keys would be told apart
    from the other operator's session with the same address behind the same MAG by nothing (walkthrough 3: each
    operator got the other's traffic), so it gets 163, GRE encapsulation only included; nothing is allocated."""
    lma = figure1_lma()
    outcome = lma.receive(pbu(MN1, gre=gre, prefixes=(), ipv4=ANY_IPV4), MAG1, LMAA, NOW)
    assert rejected_status(outcome) == Status.GRE_KEY_OPTION_REQUIRED
    assert the_pba(outcome).option(GREKeyOption) is None
    assert list(lma.bindings()) == []
    keyed = lma.receive(pbu(MN1, sequence=2, gre=GREKeyOption(DOWNLINK), prefixes=(), ipv4=ANY_IPV4), MAG1, LMAA,
                        NOW + 1)
    assert option_of(the_pba(keyed), IPv4HomeAddressReplyOption).address == IPv4Address("10.0.0.2")


def test_GK_5_2_4_overlapping_pools_make_keys_required_even_where_gre_is_not_required() -> None:
    """A keyed PBU of an MN whose policy is not-required gets keys (status 0), not status 2 without GRE: the
    overlap requires them. Two operators' MNs then share 10.0.0.2 behind one MAG, told apart by their keys."""
    lma = figure1_lma(gre_policy=LmaGrePolicy(default=GrePolicy.NOT_REQUIRED))
    first = register(lma, MN1, gre=GREKeyOption(DOWNLINK), prefixes=(), ipv4=ANY_IPV4)
    second = register(lma, MN3, gre=GREKeyOption(NEW_DOWNLINK), prefixes=(), ipv4=ANY_IPV4)
    assert first.status == second.status == Status.ACCEPTED
    assert entry(lma, MN1).ipv4_home_address == entry(lma, MN3).ipv4_home_address
    assert entry(lma, MN1).uplink_key != entry(lma, MN3).uplink_key and entry(lma, MN3).downlink_key == NEW_DOWNLINK


def test_GK_5_2_4_a_session_without_an_address_in_the_overlapping_family_needs_no_keys() -> None:
    """Only opA's IPv4 pool overlaps opB's: an IPv6-only session of opA cannot share an address with opB's."""
    lma = figure1_lma()
    assert register(lma, MN1).status == Status.ACCEPTED
    assert not entry(lma).gre_enabled


def test_GK_5_2_4_overlapping_ipv6_prefix_pools_require_keys_too() -> None:
    lma = make_lma(tenants=(OP_A, replace(OP_B, ipv6_prefix_pool=OP_A.ipv6_prefix_pool)))
    assert rejected_status(lma.receive(pbu(MN3), MAG1, LMAA, NOW)) == Status.GRE_KEY_OPTION_REQUIRED


def test_GK_5_2_4_a_reload_that_makes_pools_overlap_removes_the_sessions_without_keys() -> None:
    """A reload giving opB opA's IPv4 pool removes opA's unkeyed IPv4 sessions, without GRE or with GRE but no keys,
    saying why (its next PBU would get 163, and an opB session with its address would take its traffic meanwhile);
    the keyed one stays."""
    lma = make_lma()
    register(lma, MN1, prefixes=(), ipv4=ANY_IPV4)
    register(lma, GRE_REQUIRED_MN, gre=GREKeyOption(), prefixes=(), ipv4=ANY_IPV4)
    register(lma, MN2, gre=GREKeyOption(DOWNLINK), prefixes=(), ipv4=ANY_IPV4)
    assert entry(lma, GRE_REQUIRED_MN).gre_enabled
    outcome = lma.reconfigure(settings(tenants=(OP_A, replace(OP_B, ipv4_pool=OP_A.ipv4_pool))), NOW + 1)
    assert [event.text for event in outcome.events if isinstance(event, Alarm)] == 2 * [
        "binding removed by the new configuration: it has no GRE keys, which it needs: tenant opA's IPv4 pool "
        "overlaps another tenant's (RFC 5845 5.2)"]
    assert [bce.mn_id for bce in lma.bindings()] == [MN2]


def test_GK_5_2_4_a_restore_into_overlapping_pools_drops_a_session_with_gre_but_no_keys() -> None:
    """The configuration changed while the LMA was down: a GRE-only session is as unkeyed as one without GRE."""
    lma = make_lma()
    register(lma, MN1, gre=GREKeyOption(), prefixes=(), ipv4=ANY_IPV4)
    records = [bce.to_record() for bce in lma.bindings()]
    restarted = figure1_lma()
    outcome = restarted.restore([BindingCacheEntry.from_record(record) for record in records], NOW + 1)
    assert [type(event) for event in outcome.events] == [Alarm] and list(restarted.bindings()) == []


def test_GK_5_2_5_option_but_gre_not_required_status_2() -> None:
    lma = make_lma()
    pba = register(lma, GRE_NOT_REQUIRED_MN, gre=GREKeyOption(DOWNLINK))
    assert pba.status == Status.GRE_KEY_OPTION_NOT_REQUIRED
    assert not entry(lma, GRE_NOT_REQUIRED_MN).gre_enabled
    assert entry(lma, GRE_NOT_REQUIRED_MN).uplink_key is None


def test_GK_5_2_5_keyless_option_but_gre_not_required_status_2() -> None:
    """A GRE Key option without a key (GRE encapsulation mode only) is still "the GRE Key option"."""
    lma = make_lma()
    pba = register(lma, GRE_NOT_REQUIRED_MN, gre=GREKeyOption())
    assert pba.status == Status.GRE_KEY_OPTION_NOT_REQUIRED
    assert not entry(lma, GRE_NOT_REQUIRED_MN).gre_enabled


def test_GK_5_2_6_status_2_pba_has_no_gre_key_option() -> None:
    for option in (GREKeyOption(DOWNLINK), GREKeyOption()):
        pba = register(make_lma(gre_policy=LmaGrePolicy(default=GrePolicy.NOT_REQUIRED)), gre=option, t_flag=True)
        assert pba.status == Status.GRE_KEY_OPTION_NOT_REQUIRED
        assert pba.option(GREKeyOption) is None
        assert not pba.flags & BAFlags.T


def test_GK_6_1_1_lma_writes_zero_reserved_field_in_gre_key_option() -> None:
    """The PBA the engine builds encodes the GRE Key option's Reserved field as zero."""
    lma = make_lma()
    pba = register(lma, gre=GREKeyOption(DOWNLINK))
    data = encode_message(pba)
    assert decode_message(data) == pba
    offset = _option_offset(data, OptionType.GRE_KEY)
    assert data[offset + 1] == 6 and data[offset + 2 : offset + 4] == b"\x00\x00"


def _option_offset(mh: bytes, option_type: int) -> int:
    offset = 12  # options of a PBA start after the 12-octet fixed part
    while offset < len(mh):
        if mh[offset] == 0:
            offset += 1
            continue
        if mh[offset] == option_type:
            return offset
        offset += 2 + mh[offset + 1]
    raise AssertionError("option not found")


# ---- section 7: the T flag and the TLV-header format ------------------------------------------------


def test_GK_7_2_2_lma_supporting_tlv_sets_t_flag() -> None:
    pba = register(make_lma(), gre=GREKeyOption(DOWNLINK), t_flag=True)
    assert pba.status == Status.ACCEPTED and pba.flags & BAFlags.T


def test_GK_7_2_4_tlv_format_unchanged_on_reregistration_from_same_mag() -> None:
    lma = make_lma()
    first = register(lma, gre=GREKeyOption(DOWNLINK))
    assert not entry(lma).tlv_header
    again = refresh(lma, first, gre=GREKeyOption(DOWNLINK), t_flag=True)
    assert again.status == Status.ACCEPTED
    assert not again.flags & BAFlags.T and not entry(lma).tlv_header
    moved = refresh(lma, first, source=MAG2, sequence=3, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, gre=GREKeyOption(9),
                    t_flag=True)
    assert moved.flags & BAFlags.T and entry(lma).tlv_header, "a handoff renegotiates the format"


def test_GK_7_2_5_t_flag_never_set_unless_pbu_had_it() -> None:
    lma = make_lma()
    for mn_id, option in ((MN1, GREKeyOption(DOWNLINK)), (MN2, GREKeyOption()),
                          (GRE_NOT_REQUIRED_MN, GREKeyOption(DOWNLINK))):
        pba = register(lma, mn_id, gre=option)
        assert pba.status < 128 and not pba.flags & BAFlags.T
    lma2 = make_lma()
    first = register(lma2, gre=GREKeyOption(DOWNLINK), t_flag=True)
    without_t = refresh(lma2, first, gre=GREKeyOption(DOWNLINK))
    assert not without_t.flags & BAFlags.T and not entry(lma2).tlv_header


def test_GK_7_4_1_udp_pbu_with_t_and_gre_gets_t_flag() -> None:
    pba = register(make_lma(), gre=GREKeyOption(), t_flag=True, ipv4=ANY_IPV4)
    assert pba.status == Status.ACCEPTED and pba.flags & BAFlags.T


def test_GK_7_4_1_and_RFC5845_5_1_t_flag_of_a_pbu_over_ipv6_is_ignored() -> None:
    """RFC 5845 7.4 asks about T only for a PBU "encapsulated in UDP", and 5.1's TLV flag is TRUE only with
    RFC 5844 UDP tunneling: a raw IPv6 PBU with T gets GRE without the TLV format (and no T back)."""
    ipv6_mag = Peer(IPv6Address("2001:db8::1"))
    lma = make_lma(authorized_mags=frozenset({ipv6_mag.address}))
    outcome = lma.receive(pbu(gre=GREKeyOption(DOWNLINK), t_flag=True), ipv6_mag, IPv6Address("2001:db8::100"), NOW)
    pba = the_pba(outcome)

    assert pba.status == Status.ACCEPTED and not pba.flags & BAFlags.T
    assert pba.option(GREKeyOption) is not None
    assert entry(lma).gre_enabled and not entry(lma).tlv_header and not entry(lma).session().tlv


def test_GK_7_4_2_lma_without_tlv_support_never_sets_t_flag() -> None:
    lma = make_lma(tlv_header=False)
    for mn_id, option in ((MN1, GREKeyOption(DOWNLINK)), (MN2, None)):
        pba = register(lma, mn_id, gre=option, t_flag=True)
        assert not pba.flags & BAFlags.T


def test_GK_7_4_2_t_without_gre_option_is_ignored() -> None:
    lma = make_lma()
    pba = register(lma, t_flag=True)
    assert pba.status == Status.ACCEPTED and not pba.flags & BAFlags.T
    assert not entry(lma).tlv_header


def test_GK_7_4_3_t_accepted_sets_gre_fields_in_bce() -> None:
    lma = make_lma()
    pba = register(lma, gre=GREKeyOption(DOWNLINK), t_flag=True)
    bce = entry(lma)
    assert pba.flags & BAFlags.T
    assert (bce.gre_enabled, bce.downlink_key, bce.uplink_key) \
        == (True, DOWNLINK, option_of(pba, GREKeyOption).key)


def test_GK_7_4_4_t_accepted_sets_tlv_flag_in_bce() -> None:
    lma = make_lma()
    outcome = lma.receive(pbu(gre=GREKeyOption(DOWNLINK), t_flag=True), MAG1, LMAA, NOW)
    assert entry(lma).tlv_header
    (event,) = outcome.events
    assert isinstance(event, BindingEstablished) and event.session.tlv


def test_GK_7_4_5_t_without_tlv_support_status_3_with_option() -> None:
    lma = make_lma(tlv_header=False)
    pba = register(lma, gre=GREKeyOption(DOWNLINK), t_flag=True)
    assert pba.status == Status.GRE_TUNNELING_BUT_TLV_HEADER_NOT_SUPPORTED
    option = pba.option(GREKeyOption)
    assert option is not None and option.key is not None and option.key == entry(lma).uplink_key
    assert not pba.flags & BAFlags.T


def test_GK_7_4_6_status_3_sets_gre_fields_in_bce() -> None:
    lma = make_lma(tlv_header=False)
    pba = register(lma, gre=GREKeyOption(DOWNLINK), t_flag=True)
    bce = entry(lma)
    assert (bce.gre_enabled, bce.downlink_key, bce.uplink_key) \
        == (True, DOWNLINK, option_of(pba, GREKeyOption).key)


def test_GK_7_4_7_status_3_sets_tlv_flag_false() -> None:
    lma = make_lma(tlv_header=False)
    outcome = lma.receive(pbu(gre=GREKeyOption(DOWNLINK), t_flag=True), MAG1, LMAA, NOW)
    assert the_pba(outcome).status == Status.GRE_TUNNELING_BUT_TLV_HEADER_NOT_SUPPORTED
    assert entry(lma).tlv_header is False
    (event,) = outcome.events
    assert isinstance(event, BindingEstablished) and not event.session.tlv and event.session.gre


def test_RFC5845_7_4_udp_pbu_with_ipv4_home_address_request_negotiates_gre_and_tlv() -> None:
    """RFC 5845 7.4 names the IPv4 Home Address Request option of RFC 5844 (draft: "IPv4 home address option")."""
    lma = make_lma()
    pba = register(lma, gre=GREKeyOption(DOWNLINK), t_flag=True, ipv4=ANY_IPV4, prefixes=())
    assert pba.status == Status.ACCEPTED and pba.flags & BAFlags.T
    bce = entry(lma)
    assert bce.ipv4_home_address is not None and bce.tlv_header and bce.downlink_key == DOWNLINK


# ---- key life cycle -----------------------------------------------------------------------------


def test_GK_5_1_1_uplink_key_reserved_while_draining_and_freed_on_delete() -> None:
    lma = make_lma()
    first = register(lma, gre=GREKeyOption(DOWNLINK))
    granted = first.option(GREKeyOption)
    assert granted is not None and granted.key is not None
    uplink = granted.key
    dereg = pbu(MN1, sequence=2, lifetime=0, hi=HandoffIndicator.UNKNOWN, prefixes=(hnp_of(first),))
    assert the_pba(lma.receive(dereg, MAG1, LMAA, NOW + 1)).status == Status.ACCEPTED
    assert entry(lma).state is BceState.DEREGISTERING
    assert lma._keys.in_use(uplink)
    lma.handle_timer(NOW + 1 + lma.settings.min_delay_before_bce_delete)
    assert list(lma.bindings()) == [] and not lma._keys.in_use(uplink)


def test_RFC5845_5_2_deregistration_cleans_the_bce_and_both_gre_keys() -> None:
    """RFC 5845 5.2: a de-registration cleans "the Binding Cache entry and all associated resources including
    the downlink and uplink GRE keys": forwarding by both keys stops at once (the event the data plane drops
    the session's keyed route on), and the entry with its downlink key goes, and its uplink key is free, once
    MinDelayBeforeBCEDelete (RFC 5213 5.3.5) has passed."""
    lma = make_lma()
    first = register(lma, gre=GREKeyOption(DOWNLINK))
    granted = first.option(GREKeyOption)
    assert granted is not None and granted.key is not None
    uplink = granted.key
    dereg = pbu(MN1, sequence=2, lifetime=0, hi=HandoffIndicator.UNKNOWN, prefixes=(hnp_of(first),))
    (stopped,) = lma.receive(dereg, MAG1, LMAA, NOW + 1).events
    assert isinstance(stopped, BindingDeregistered)
    assert (stopped.session.downlink_key, stopped.session.uplink_key) == (DOWNLINK, uplink)
    (removed,) = lma.handle_timer(NOW + 1 + lma.settings.min_delay_before_bce_delete).events
    assert isinstance(removed, BindingRemoved) and removed.reason == "deregistered"
    assert list(lma.bindings()) == [] and not lma._keys.in_use(uplink)


def test_GK_3_3_2_2_update_event_carries_previous_and_same_uplink_key() -> None:
    lma = make_lma()
    first = register(lma, gre=GREKeyOption(DOWNLINK))
    message = pbu(MN1, sequence=2, hi=HandoffIndicator.HANDOFF_BETWEEN_MAGS, prefixes=(hnp_of(first),),
                  gre=GREKeyOption(NEW_DOWNLINK))
    (event,) = lma.receive(message, MAG2, LMAA, NOW + 1).events
    assert isinstance(event, BindingUpdated)
    assert event.previous.peer == MAG1 and event.session.peer == MAG2
    assert event.previous.uplink_key == event.session.uplink_key
    assert (event.previous.downlink_key, event.session.downlink_key) == (DOWNLINK, NEW_DOWNLINK)


# ---- UDP tunneling with GRE is always the TLV-header format -------------------------------------------


def test_GK_7_1_1_and_RFC5845_7_1_udp_with_gre_only_in_tlv_format() -> None:
    """With forced UDP accepted (RFC 5844 F flag), a GRE session never gets plain IPv4-UDP: without T the
    PBA has no NAT Detection option (GRE over IPv4), with T the TLV-header format is negotiated."""
    lma = make_lma(accept_forced_udp_encapsulation=True)
    forced = BUFlags.A | BUFlags.P | BUFlags.F
    plain_gre = register(lma, MN1, gre=GREKeyOption(DOWNLINK), flags=forced)
    assert plain_gre.option(GREKeyOption) is not None and plain_gre.option(NATDetectionOption) is None
    tlv = register(lma, MN2, gre=GREKeyOption(DOWNLINK), flags=forced, t_flag=True)
    assert tlv.flags & BAFlags.T and tlv.option(NATDetectionOption) is None and entry(lma, MN2).tlv_header
    no_gre = register(lma, GRE_NOT_REQUIRED_MN, flags=forced)
    assert no_gre.option(NATDetectionOption) == NATDetectionOption(force_udp=True, refresh_time=0)


def test_RFC5845_6_x_iana_numbers() -> None:
    """The numbers RFC 5845 section 8 / IANA assigned in place of the draft's TBDs."""
    assert OptionType.GRE_KEY.value == 33
    assert (Status.GRE_KEY_OPTION_NOT_REQUIRED, Status.GRE_TUNNELING_BUT_TLV_HEADER_NOT_SUPPORTED) == (2, 3)
    assert Status.GRE_KEY_OPTION_REQUIRED.value == 163
    assert (BUFlags.T, BAFlags.T) == (0x0080, 0x10)
