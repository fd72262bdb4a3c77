"""Scenario fixtures: a PMIPv6 domain of real LMA and MAG engines on :mod:`pmip6.lab.simnet`'s simulated
wire (typed messages encoded and decoded by the codec, simulated time, a ``fate`` hook for loss,
duplication and reordering).
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network

from pmip6.core.events import Peer
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LmaSettings, LocalMobilityAnchor, MobileNodeProfile, Tenant
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import MagSettings
from pmip6.core.policy import GrePolicy, LmaGrePolicy
from pmip6.lab.simnet import Fate, Network, Packet, deliver
from pmip6.wire.numbers import PMIP6_CONTROL_PORT

__all__ = ["Network", "Packet", "deliver", "domain"]

LMA_IPV4 = IPv4Address("192.0.2.100")
LMA_IPV6 = IPv6Address("2001:db8:ffff::100")
MAG_IPV4 = (IPv4Address("192.0.2.1"), IPv4Address("192.0.2.2"))
MAG_IPV6 = (IPv6Address("2001:db8:aaaa::1"), IPv6Address("2001:db8:aaaa::2"))
START = 1_800_000_000.0
OPERATOR_A = Tenant("opA", IPv4Network("10.0.0.0/24"), IPv6Network("2001:db8:a::/48"))
OPERATOR_B = Tenant("opB", IPv4Network("10.0.0.0/24"), IPv6Network("2001:db8:b::/48"))


def domain(
    *,
    udp: bool = True,
    mags: int = 1,
    policy: GrePolicy = GrePolicy.REQUIRED,
    lma_tlv: bool = True,
    profiles: tuple[MobileNodeProfile, ...] = (),
    fate: Fate = deliver,
    tenants: tuple[Tenant, ...] = (OPERATOR_A, OPERATOR_B),
    **mag_settings: object,
) -> tuple[Network, list[MobileAccessGateway]]:
    """One LMA serving ``tenants`` (by default opA and opB, with overlapping IPv4 pools, so their IPv4 sessions
    need GRE keys; unknown MNs go to opA) and ``mags`` MAGs with ``mag_settings``; every engine's key allocator is
    seeded, so runs are deterministic."""
    lma_address, mag_addresses = (LMA_IPV4, MAG_IPV4) if udp else (LMA_IPV6, MAG_IPV6)
    lma = LocalMobilityAnchor(
        LmaSettings(
            authorized_mags=frozenset(mag_addresses[:mags]),
            tenants=tenants,
            mobile_nodes=profiles,
            default_tenant=OPERATOR_A.name,
            gre_policy=LmaGrePolicy(default=policy),
            tlv_header=lma_tlv,
        ),
        keys=GreKeyAllocator(seed=100),
    )
    network = Network(lma, lma_address, now=START, udp=udp, fate=fate)
    lma_peer = Peer(lma_address, PMIP6_CONTROL_PORT if udp else None)
    engines = [
        network.add_mag(
            MobileAccessGateway(
                MagSettings(proxy_coa=address, lma=lma_peer, **mag_settings),  # type: ignore[arg-type]
                GreKeyAllocator(seed=index),
            )
        )
        for index, address in enumerate(mag_addresses[:mags])
    ]
    return network, engines
