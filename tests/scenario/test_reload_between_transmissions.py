"""A MAG reload of ``gre`` between two transmissions of one exchange (docs/reliability.md finding 77): the attach's
first PBU is accepted, its PBA late, so the MAG retransmits; one of the retransmission and its PBA is lost. Whatever
is lost, the two ends must run the session alike: the MAG applies the first PBA as the answer to what the first PBU
asked, and the LMA's binding is what the last PBU it accepted asked."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import pytest
from harness import OPERATOR_A, START, Packet, deliver, domain

from pmip6.core.mag_settings import AttachRequest, MagGreMode
from pmip6.core.policy import GrePolicy, LmaGrePolicy
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.options import GREKeyOption

LL = b"\x02\x00\x00\x00\x00\x01"


Lost = type[ProxyBindingUpdate | ProxyBindingAcknowledgement]


def _first_pba_late_and_lost(lost: Lost) -> Callable[[Packet], Sequence[float]]:
    """A fate: the first PBA arrives 1.1 s late (after the retransmission left); the second ``lost`` is lost."""
    seen: dict[type, int] = {ProxyBindingUpdate: 0, ProxyBindingAcknowledgement: 0}

    def fate(packet: Packet) -> Sequence[float]:
        kind = type(packet.message)
        if kind not in seen:
            return deliver(packet)
        seen[kind] += 1
        if kind is ProxyBindingAcknowledgement and seen[kind] == 1:
            return (1.1,)
        return () if kind is lost and seen[kind] == 2 else deliver(packet)
    return fate


@pytest.mark.parametrize("lost", [ProxyBindingUpdate, ProxyBindingAcknowledgement],
                         ids=["retransmission lost", "its PBA lost"])
@pytest.mark.parametrize(("before", "after"), [(MagGreMode.KEYS, MagGreMode.OFF), (MagGreMode.OFF, MagGreMode.KEYS)],
                         ids=["keys to off", "off to keys"])
def test_a_reload_of_gre_between_the_transmissions_of_an_attach_leaves_both_ends_agreeing(
        before: MagGreMode, after: MagGreMode, lost: Lost) -> None:
    """The retransmission asks for the GRE its exchange asked for: were it to ask otherwise, the MAG would apply the
    first PBA against what the retransmission asked (keys to off, retransmission lost: GRE off at the MAG, keys at
    the LMA; off to keys, its PBA lost: the same, and the first PBA, without the option the retransmission offered,
    taken for an LMA without RFC 5845 support, GK-4.2-6, so no later session offered keys to it)."""
    network, (mag,) = domain(policy=GrePolicy.OPTIONAL, tenants=(OPERATOR_A,), fate=_first_pba_late_and_lost(lost),
                             gre=before)
    network.attach(mag, AttachRequest(b"mn1@opA", att=4, ll_id=LL))
    network.run_until(START + 0.5)
    mag.reconfigure(replace(mag.settings, gre=after))
    network.run_for(5)

    (entry,) = mag.entries()
    (bce,) = network.lma.bindings()
    assert (entry.gre_enabled, entry.uplink_key) == (bce.gre_enabled, bce.uplink_key)
    network.attach(mag, AttachRequest(b"mn2@opA", att=4, ll_id=LL))
    offered = network.messages(ProxyBindingUpdate)[-1].option(GREKeyOption)
    assert (offered is not None) == (after is MagGreMode.KEYS), "a new session offers what gre now says"


@pytest.mark.parametrize("mode", [MagGreMode.KEYS, MagGreMode.GRE_ONLY])
def test_an_lma_reload_to_not_required_between_the_transmissions_leaves_both_ends_agreeing(mode: MagGreMode) -> None:
    """docs/reliability.md findings 70 (keys) and 76 (GRE only): the LMA accepts the first PBU with GRE, a reload
    sets its policy to not-required before the retransmission arrives, and that retransmission's PBA is lost. The
    MAG applies the first PBA (GRE on), so the LMA must answer the retransmission, which carries the GRE Key option in
    the session's form, by keeping GRE: a status 2 would leave it dropping the MAG's GRE until the next refresh."""
    network, (mag,) = domain(policy=GrePolicy.OPTIONAL, tenants=(OPERATOR_A,),
                             fate=_first_pba_late_and_lost(ProxyBindingAcknowledgement), gre=mode)
    network.attach(mag, AttachRequest(b"mn1@opA", att=4, ll_id=LL))
    network.run_until(START + 0.5)
    network.lma.reconfigure(replace(network.lma.settings, gre_policy=LmaGrePolicy(default=GrePolicy.NOT_REQUIRED)),
                            network.now)
    network.run_for(5)

    (entry,) = mag.entries()
    (bce,) = network.lma.bindings()
    assert (entry.gre_enabled, entry.uplink_key) == (bce.gre_enabled, bce.uplink_key)
    assert bce.gre_enabled and (bce.uplink_key is not None) == (mode is MagGreMode.KEYS), "the session keeps its GRE"
