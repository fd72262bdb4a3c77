"""The link-local address the LMA generates for an MN's point-to-point link (RFC 5213 6.8) between the real engines:
stored in the BCE, given to the serving MAG "at every mobile node's handoff", so the MN's default router keeps its
address from MAG to MAG (6.9.3); with FixedMAGLinkLocalAddressOnAllAccessLinks nobody asks for one."""

from __future__ import annotations

from ipaddress import IPv6Address

from harness import domain

from pmip6.core.addressing import generated_link_local
from pmip6.core.lma import MobileNodeProfile
from pmip6.core.mag_settings import AttachRequest
from pmip6.wire.messages import ProxyBindingAcknowledgement, ProxyBindingUpdate
from pmip6.wire.numbers import AccessTechnologyType, HandoffIndicator
from pmip6.wire.options import LinkLocalAddressOption

MN = b"mnl@opA.example"


def _attach(hi: int) -> AttachRequest:
    return AttachRequest(mn_id=MN, att=AccessTechnologyType.IEEE_802_11, hi=hi, interface="acc1")


def test_RFC5213_6_8_the_lma_generated_address_follows_the_mn_to_its_next_mag() -> None:
    network, (mag_1, mag_2) = domain(mags=2, profiles=(MobileNodeProfile(MN, "opA"),))
    network.attach(mag_1, _attach(HandoffIndicator.NEW_INTERFACE))
    network.run_for(1)
    address = generated_link_local(MN)
    (bce,) = network.lma.bindings()
    entry = mag_1.entry(MN)
    assert entry is not None and bce.link_local_address == address == entry.link_local_address

    network.attach(mag_2, _attach(HandoffIndicator.HANDOFF_BETWEEN_MAGS))
    network.run_for(1)
    (bce,) = network.lma.bindings()
    assert bce.proxy_coa.address == mag_2.settings.proxy_coa
    entry = mag_2.entry(MN)
    assert entry is not None and entry.link_local_address == address
    queries = [pbu.option(LinkLocalAddressOption) for pbu in network.messages(ProxyBindingUpdate)]
    answers = [pba.option(LinkLocalAddressOption) for pba in network.messages(ProxyBindingAcknowledgement)]
    assert queries == [LinkLocalAddressOption(IPv6Address(0))] * 2, "each MAG's new entry asks (ALL_ZERO)"
    assert answers == [LinkLocalAddressOption(address)] * 2


def test_RFC5213_6_8_with_a_fixed_address_on_all_access_links_no_message_carries_the_option() -> None:
    network, (mag,) = domain(profiles=(MobileNodeProfile(MN, "opA"),), fixed_link_local=IPv6Address("fe80::1"))
    network.attach(mag, _attach(HandoffIndicator.NEW_INTERFACE))
    network.run_for(1)
    (bce,) = network.lma.bindings()
    entry = mag.entry(MN)
    assert entry is not None and bce.link_local_address is None and entry.link_local_address is None
    network.detach(mag, MN)
    network.run_for(1)
    assert [pbu.option(LinkLocalAddressOption) for pbu in network.messages(ProxyBindingUpdate)] \
        + [pba.option(LinkLocalAddressOption) for pba in network.messages(ProxyBindingAcknowledgement)] == [None] * 4
