"""ARP requests as triggers of the IPv4 home address request (RFC 5844 3.2.3.1, ``pmip6.dataplane.arp_trigger``),
against the MAG engine and pmip6's LMA engine: the request names the MN's sender address and gets it, and a flood of
ARP requests makes no PBU beyond the engine's bounds (one exchange at a time, 3.2.3.2's 170 holding further ones
down until the next attach)."""

from __future__ import annotations

from dataclasses import replace
from ipaddress import IPv4Address

from lma_builders import MN1
from scapy.layers.l2 import ARP, Ether
from test_mag_ipv4_dhcp_triggers import T0, V6_ONLY_MN, _Domain

from pmip6.core.bul import BindingUpdateListEntry
from pmip6.core.events import BindingEstablished, MessageIgnored, Outcome
from pmip6.dataplane.arp_trigger import ArpTriggers
from pmip6.wire.messages import ProxyBindingUpdate
from pmip6.wire.options import IPv4HomeAddressRequestOption

MAC = "02:00:00:00:0b:01"
ADDRESS = IPv4Address("10.0.0.77")


FRAME = bytes(Ether(src=MAC, dst="ff:ff:ff:ff:ff:ff") / ARP(op=1, hwsrc=MAC, psrc=str(ADDRESS), pdst="10.0.0.1"))
"""The MN's ARP request for its default router, from the address it uses."""


class _Wiring:
    """The ARP triggers of an access interface ``acc1`` with ``mn_id``'s session, asking MAG1's engine at ``now``;
    each PBU carried to the LMA and back when ``deliver``, else left in flight."""

    def __init__(self, domain: _Domain, mn_id: bytes, deliver: bool) -> None:
        self.domain, self.mn_id, self.deliver = domain, mn_id, deliver
        self.now = T0
        self.outcomes: list[Outcome] = []
        self.triggers = ArpTriggers(self._identify, self._request)
        self.triggers.apply(BindingEstablished(replace(domain.entry(mn_id).session(), access_interface="acc1")))

    def _identify(self, interface: str, identities: object) -> BindingUpdateListEntry | str:
        return self.domain.entry(self.mn_id)

    def _request(self, mn_id: bytes, address: IPv4Address | None) -> bool:
        outcome = self.domain.mag.request_ipv4(mn_id, self.now, address=address)
        self.outcomes.append(outcome)
        if self.deliver:
            self.domain.deliver(outcome, self.now)
        return not any(isinstance(event, MessageIgnored) for event in outcome.events)

    def flood(self, seconds: int, per_second: int) -> None:
        for tick in range(seconds * per_second):
            self.now = T0 + 1 + tick / per_second
            self.triggers.received("acc1", FRAME, self.now)

    def pbus(self) -> list[IPv4HomeAddressRequestOption | None]:
        requests: list[IPv4HomeAddressRequestOption | None] = []
        for outcome in self.outcomes:
            for send in outcome.sends:
                assert isinstance(send.message, ProxyBindingUpdate), send
                requests.append(send.message.option(IPv4HomeAddressRequestOption))
        return requests


def test_RFC5844_3_2_3_1_the_arp_trigger_names_the_sender_address_and_the_pba_gives_it() -> None:
    domain = _Domain()
    domain.attach_ipv6_only()
    wiring = _Wiring(domain, MN1, deliver=True)
    assert wiring.triggers.received("acc1", FRAME, T0 + 1) == "ipv4_home_address_requested"
    (requested,) = wiring.pbus()
    assert requested is not None and requested.address == ADDRESS, "3.2.3.1: that specific address"
    assert domain.entry().ipv4_home_address == ADDRESS and domain.bce().ipv4_home_address.ip == ADDRESS


def test_RFC5844_3_2_3_1_a_flood_while_the_pbu_is_in_flight_makes_one_pbu() -> None:
    domain = _Domain()
    domain.attach_ipv6_only()
    wiring = _Wiring(domain, MN1, deliver=False)
    wiring.flood(seconds=10, per_second=1000)
    assert len(wiring.pbus()) == 1
    assert wiring.triggers.outcomes["ipv4_home_address_requested"] == 1
    assert sum(wiring.triggers.outcomes.values()) == 10_000
    assert wiring.triggers.outcomes["not_requested"] + 1 + wiring.triggers.outcomes["rate_limited"] == 10_000
    assert wiring.triggers.outcomes["not_requested"] <= 5 + 2 * 10, "the bucket: 5 at once, 2 a second"


def test_RFC5844_3_2_3_2_a_flood_from_an_mn_not_authorized_for_ipv4_makes_one_pbu_until_it_attaches_again() -> None:
    domain = _Domain()
    domain.attach_ipv6_only(V6_ONLY_MN)
    wiring = _Wiring(domain, V6_ONLY_MN, deliver=True)
    wiring.flood(seconds=120, per_second=50)
    assert len(wiring.pbus()) == 1, "170: no IPv4 request until an administrative action (the next attach)"
    assert domain.entry(V6_ONLY_MN).ipv4_home_address is None
