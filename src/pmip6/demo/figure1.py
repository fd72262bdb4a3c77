"""The draft's Figure 1 in one process, on simulated time: the first command of the README.

One LMA serves mobile nodes of two operators whose IPv4 home addresses overlap (RFC 5845 section 3.1):
MN-1 and MN-2 belong to operator A, MN-3 and MN-4 to operator B, and both operators' pools are
10.0.0.0/24, so MN-1 and MN-3 get the same IPv4 home address (and so do MN-2 and MN-4). The GRE keys
exchanged in the PBU/PBA are all that tells their packets apart on the MAG-LMA tunnel.

The story: the four MNs attach to MAG-1; each exchanges UDP echoes with its operator's server (both
servers have the same address, 10.0.255.1); the bindings are refreshed (keys unchanged); MN-2 hands off to
MAG-2 and keeps its uplink key; MN-4 detaches and its keys drain for MinDelayBeforeBCEDelete before they
are freed. Every step checks itself; the checks are the demo's result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv4Network, IPv6Network

from pmip6.core.bce import BindingCacheEntry
from pmip6.core.events import Peer
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LmaSettings, LocalMobilityAnchor, MobileNodeProfile, Tenant
from pmip6.core.mag import AttachRequest, MagSettings, MobileAccessGateway
from pmip6.core.policy import GrePolicy, LmaGrePolicy
from pmip6.dataplane.counters import TrafficCounters
from pmip6.dataplane.lma import LmaForwarder
from pmip6.dataplane.mag import MagForwarder
from pmip6.demo.checks import (
    Check,
    SessionView,
    detach_checks,
    echo_checks,
    handoff_checks,
    registration_checks,
    reregistration_check,
    traffic_after_handoff_check,
)
from pmip6.demo.traffic import ECHO_PORT, Link, RoundTrip, round_trip, udp_packet
from pmip6.lab.simnet import Network
from pmip6.wire.numbers import PMIP6_CONTROL_PORT, AccessTechnologyType, HandoffIndicator

START = 1_798_761_600.0
"""2027-01-01T00:00:00Z: a fixed clock, so every run prints the same keys and times."""
LMA_ADDRESS = IPv4Address("192.0.2.100")
MAG_ADDRESSES = {"MAG-1": IPv4Address("192.0.2.1"), "MAG-2": IPv4Address("192.0.2.2")}
SERVER = IPv4Address("10.0.255.1")
"""Each operator's server: the same address in both operator networks."""
TENANTS = (
    Tenant("opA", IPv4Network("10.0.0.0/24"), IPv6Network("2001:db8:a::/48")),
    Tenant("opB", IPv4Network("10.0.0.0/24"), IPv6Network("2001:db8:b::/48")),
)
MOBILE_NODES = {
    "MN-1": (b"mn1@opA.example", "opA"),
    "MN-2": (b"mn2@opA.example", "opA"),
    "MN-3": (b"mn3@opB.example", "opB"),
    "MN-4": (b"mn4@opB.example", "opB"),
}
LIFETIME = 300
ECHOES_PER_ROUND = 3


def access_interface(name: str) -> str:
    """The MAG's point-to-point access link to an MN ("MN-1" -> "mn1"): it identifies the MN's session."""
    return name.lower().replace("-", "")


@dataclass(frozen=True, slots=True)
class BindingRow:
    """One line of the demo's binding table: the LMA's view of a session plus its traffic counters."""

    mn: str
    mn_id: str
    tenant: str
    ipv4_home: str | None
    hnp: str | None
    mag: str
    downlink_key: int | None
    uplink_key: int | None
    tlv: bool
    packets_up: int
    packets_down: int
    state: str


@dataclass(slots=True)
class Figure1:
    """The domain: engines on a simulated wire, forwarders fed by the engines' events, simulated hosts."""

    network: Network
    mags: dict[str, MobileAccessGateway]
    lma_forwarder: LmaForwarder = field(default_factory=LmaForwarder)
    mag_forwarders: dict[str, MagForwarder] = field(default_factory=dict)
    link: Link = field(default_factory=Link)
    checks: list[Check] = field(default_factory=list)
    location: dict[str, str] = field(default_factory=dict)
    """Which MAG each MN is attached to."""
    server_log: dict[str, list[RoundTrip]] = field(default_factory=dict)
    """Per operator, every request its server saw."""
    replies: dict[str, int] = field(default_factory=dict)
    """Per MN, the echoes that came back to it (and only to it)."""
    rows: list[BindingRow] = field(default_factory=list)
    """The binding table, taken before MN-4 detaches (so all four MNs show)."""

    @classmethod
    def build(cls) -> Figure1:
        lma = LocalMobilityAnchor(
            LmaSettings(
                authorized_mags=frozenset(MAG_ADDRESSES.values()),
                tenants=TENANTS,
                mobile_nodes=tuple(MobileNodeProfile(mn_id, tenant) for mn_id, tenant in MOBILE_NODES.values()),
                gre_policy=LmaGrePolicy(default=GrePolicy.REQUIRED),
                max_lifetime=LIFETIME,
            ),
            keys=GreKeyAllocator(seed=5845),
        )
        network = Network(lma, LMA_ADDRESS, now=START)
        lma_peer = Peer(LMA_ADDRESS, PMIP6_CONTROL_PORT)
        mags = {
            name: network.add_mag(MobileAccessGateway(MagSettings(proxy_coa=address, lma=lma_peer, lifetime=LIFETIME),
                                                      GreKeyAllocator(seed=index)))
            for index, (name, address) in enumerate(MAG_ADDRESSES.items(), start=1)
        }
        demo = cls(network, mags, mag_forwarders={name: MagForwarder() for name in mags})
        network.listeners.append(demo._on_event)
        return demo

    def _on_event(self, _now: float, node: str, event: object) -> None:
        if node == "lma":
            self.lma_forwarder.apply(event)  # type: ignore[arg-type]
            return
        name = next(name for name, address in MAG_ADDRESSES.items() if str(address) == node)
        self.mag_forwarders[name].apply(event)  # type: ignore[arg-type]

    # ---- the story, one method per step -------------------------------------------------------------

    def steps(self) -> list[tuple[str, Callable[[], None]]]:
        return [
            ("MN-1..MN-4 attach to MAG-1 (PBU with a downlink key, PBA with an uplink key)", self.attach_all),
            ("each MN exchanges UDP echoes with its operator's server at 10.0.255.1", self.traffic),
            ("lifetimes run down: the MAG re-registers every MN", self.reregister),
            ("MN-2 hands off to MAG-2", self.handoff),
            ("MN-4 detaches; its keys drain, then are freed", self.detach),
        ]

    def attach_all(self) -> None:
        for name, (mn_id, _) in MOBILE_NODES.items():
            self._attach(name, "MAG-1", HandoffIndicator.NEW_INTERFACE)
        self.network.run_for(1.0)
        self.checks += registration_checks(self._sessions(), len(MOBILE_NODES))

    def traffic(self) -> None:
        self._echo_round(list(MOBILE_NODES))
        senders = {tenant: {trip.server_saw.payload.split(b" ")[0].decode() for trip in trips if trip.server_saw}
                   for tenant, trips in self.server_log.items()}
        self.checks += echo_checks(self.replies, ECHOES_PER_ROUND, senders,
                                   {name: tenant for name, (_, tenant) in MOBILE_NODES.items()})

    def reregister(self) -> None:
        before = {name: (entry.uplink_key, entry.downlink_key) for name, entry in self._bce_by_name().items()}
        refreshes_before = len(self.network.wire)
        self.network.run_for(LIFETIME * 0.9)
        after = {name: (entry.uplink_key, entry.downlink_key) for name, entry in self._bce_by_name().items()}
        self.checks.append(reregistration_check(before, after, len(self.network.wire) > refreshes_before))

    def handoff(self) -> None:
        before = self._bce_by_name().get("MN-2")
        uplink_before = before.uplink_key if before is not None else None
        self._attach("MN-2", "MAG-2", HandoffIndicator.HANDOFF_BETWEEN_MAGS)
        self.network.run_for(0.5)
        self.network.detach(self.mags["MAG-1"], MOBILE_NODES["MN-2"][0])
        self.network.run_for(2.0)
        self.checks += handoff_checks(
            uplink_before, self._sessions().get("MN-2"),
            all(e.mn_id != MOBILE_NODES["MN-2"][0] for e in self.mags["MAG-1"].entries())
            and "mn2" not in self.mag_forwarders["MAG-1"].access_interfaces())
        replies_before, first_packet = self.replies.get("MN-2", 0), len(self.link.keys_seen)
        self._echo_round(["MN-2"])
        uplink_keys = self.link.keys_seen[first_packet::2]  # each round trip: the request, then the reply
        self.checks.append(traffic_after_handoff_check(self.replies.get("MN-2", 0) - replies_before,
                                                       ECHOES_PER_ROUND, uplink_keys, uplink_before))

    def detach(self) -> None:
        self.rows = self.binding_rows()
        entry = self._bce_by_name().get("MN-4")
        uplink = entry.uplink_key if entry is not None else None
        self.network.detach(self.mags["MAG-1"], MOBILE_NODES["MN-4"][0])
        self.network.run_for(1.0)
        held = uplink is not None and uplink in {entry.uplink_key for entry in self.network.lma.bindings()}
        self.network.run_for(self.network.lma.settings.min_delay_before_bce_delete)
        freed = all(entry.mn_id != MOBILE_NODES["MN-4"][0] for entry in self.network.lma.bindings())
        self.checks += detach_checks(held, freed, self.link.keys_seen)
        self.rows = [row if row.mn != "MN-4" else replace(row, state="detached, keys freed") for row in self.rows]

    def binding_rows(self) -> list[BindingRow]:
        rows = []
        for name, entry in sorted(self._bce_by_name().items()):
            counters = self.lma_forwarder.traffic(entry.session()) or TrafficCounters()
            rows.append(BindingRow(
                mn=name, mn_id=entry.mn_id.decode(), tenant=entry.tenant,
                ipv4_home=str(entry.ipv4_home_address.ip) if entry.ipv4_home_address else None,
                hnp=str(entry.home_network_prefixes[0]) if entry.home_network_prefixes else None,
                mag=self.location[name], downlink_key=entry.downlink_key, uplink_key=entry.uplink_key,
                tlv=entry.tlv_header, packets_up=counters.uplink_packets,
                packets_down=counters.downlink_packets, state=entry.state.value,
            ))
        return rows

    # ---- helpers ------------------------------------------------------------------------------------

    def _attach(self, name: str, mag: str, hi: int) -> None:
        mn_id, _ = MOBILE_NODES[name]
        request = AttachRequest(mn_id=mn_id, att=AccessTechnologyType.IEEE_802_11, hi=hi,
                                interface=access_interface(name), ipv4=True, ipv6=True)
        self.network.attach(self.mags[mag], request)
        self.location[name] = mag

    def _echo_round(self, names: list[str]) -> None:
        for sequence in range(ECHOES_PER_ROUND):
            for name in names:
                self._echo(name, sequence)
            self.network.run_for(0.01)

    def _echo(self, name: str, sequence: int) -> None:
        """One UDP echo from the MN (none if it has no session with an IPv4 home address)."""
        entry = self._bce_by_name().get(name)
        if entry is None or entry.ipv4_home_address is None:
            return
        home = entry.ipv4_home_address.ip
        marker = f"{name} #{sequence}".encode()
        request = udp_packet(home, SERVER, 40000 + sequence, ECHO_PORT, marker)
        mag = self.location[name]
        result = round_trip(self.network.now, request, access_interface(name), self.mag_forwarders[mag],
                            MAG_ADDRESSES[mag], self.lma_forwarder, LMA_ADDRESS, self.link)
        if result.server_tenant is not None:
            self.server_log.setdefault(result.server_tenant, []).append(result)
        if result.reply is not None and result.reply_interface == access_interface(name) \
                and result.reply.payload == b"echo:" + marker:
            self.replies[name] = self.replies.get(name, 0) + 1

    def _bce_by_name(self) -> dict[str, BindingCacheEntry]:
        names = {mn_id: name for name, (mn_id, _) in MOBILE_NODES.items()}
        return {names[entry.mn_id]: entry for entry in self.network.lma.bindings() if entry.mn_id in names}

    def _keys_agree(self, name: str) -> bool:
        """The MAG's BUL entry and the LMA's BCE hold the same downlink and uplink keys (crossed correctly)."""
        mn_id, _ = MOBILE_NODES[name]
        bce = self._bce_by_name()[name]
        bul = next((e for e in self.mags[self.location[name]].entries() if e.mn_id == mn_id), None)
        return (bul is not None and bce.gre_enabled and bul.gre_enabled and bce.uplink_key is not None
                and (bul.downlink_key, bul.uplink_key) == (bce.downlink_key, bce.uplink_key))

    def _sessions(self) -> dict[str, SessionView]:
        return {name: SessionView(
            tenant=entry.tenant,
            ipv4_home=str(entry.ipv4_home_address.ip) if entry.ipv4_home_address else None,
            mag=next(mag for mag, address in MAG_ADDRESSES.items() if address == entry.proxy_coa.address),
            uplink_key=entry.uplink_key, downlink_key=entry.downlink_key, keys_agree=self._keys_agree(name),
        ) for name, entry in self._bce_by_name().items()}
