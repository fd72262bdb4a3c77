"""The draft's Figure 1 in one process, on simulated time: the first command of the README.

One LMA serves mobile nodes of two operators whose IPv4 home addresses overlap (RFC 5845 section 3.1):
MN-1 and MN-2 belong to operator A, MN-3 and MN-4 to operator B, and both operators' pools are
10.0.0.0/24, so MN-1 and MN-3 get the same IPv4 home address (and so do MN-2 and MN-4). The GRE keys
exchanged in the PBU/PBA are all that tells their packets apart on the MAG-LMA tunnel.

The story: the four MNs attach to MAG-1; each exchanges UDP echoes with its operator's server (both
servers have the same address, 10.0.255.1); the bindings are refreshed (keys unchanged); MN-2 hands off to
MAG-2 and keeps its uplink key; MN-4 detaches and its binding and uplink key drain for MinDelayBeforeBCEDelete
before they are freed. Every step checks itself against what the engines hold; the checks are the demo's result.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from ipaddress import IPv4Address, IPv4Network, IPv6Network

from pmip6.core.bce import BceState, BindingCacheEntry
from pmip6.core.bul import BindingUpdateListEntry
from pmip6.core.events import Peer
from pmip6.core.keys import GreKeyAllocator
from pmip6.core.lma import LmaSettings, LocalMobilityAnchor, MobileNodeProfile, Tenant
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import AttachRequest, MagSettings
from pmip6.core.policy import GrePolicy, LmaGrePolicy
from pmip6.dataplane.counters import DropReason, TrafficCounters
from pmip6.dataplane.formats import Sealer, TunnelFormat
from pmip6.dataplane.lma import LmaForwarder
from pmip6.dataplane.mag import MagForwarder
from pmip6.demo.checks import (
    Check,
    SessionView,
    TunneledPacket,
    detach_checks,
    echo_checks,
    handoff_checks,
    registration_checks,
    reregistration_check,
    traffic_after_handoff_check,
)
from pmip6.demo.traffic import ECHO_PORT, Link, RoundTrip, round_trip, udp_packet
from pmip6.lab.simnet import Network
from pmip6.wire.messages import ProxyBindingAcknowledgement
from pmip6.wire.numbers import PMIP6_CONTROL_PORT, AccessTechnologyType, HandoffIndicator, Status
from pmip6.wire.options import MNIdentifierOption

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
    lma_keys: GreKeyAllocator
    """The LMA's uplink keys (RFC 5845 5.1): which ones are reserved."""
    mag_keys: dict[str, GreKeyAllocator]
    """Each MAG's downlink keys (RFC 5845 4.1)."""
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
    tunneled: list[TunneledPacket] = field(default_factory=list)
    """Every packet on the MAG-LMA link, with the key its session held for its direction when it was sent."""
    rows: list[BindingRow] = field(default_factory=list)
    """The binding table, taken before MN-4 detaches (so all four MNs show)."""

    @classmethod
    def build(cls) -> Figure1:
        lma_keys = GreKeyAllocator(seed=5845)
        lma = LocalMobilityAnchor(
            LmaSettings(
                authorized_mags=frozenset(MAG_ADDRESSES.values()),
                tenants=TENANTS,
                mobile_nodes=tuple(MobileNodeProfile(mn_id, tenant) for mn_id, tenant in MOBILE_NODES.values()),
                gre_policy=LmaGrePolicy(default=GrePolicy.REQUIRED),
                max_lifetime=LIFETIME,
            ),
            keys=lma_keys,
        )
        network = Network(lma, LMA_ADDRESS, now=START)
        lma_peer = Peer(LMA_ADDRESS, PMIP6_CONTROL_PORT)
        mag_keys = {name: GreKeyAllocator(seed=index) for index, name in enumerate(MAG_ADDRESSES, start=1)}
        mags = {
            name: network.add_mag(MobileAccessGateway(MagSettings(proxy_coa=address, lma=lma_peer, lifetime=LIFETIME),
                                                      mag_keys[name]))
            for name, address in MAG_ADDRESSES.items()
        }
        demo = cls(network, mags, lma_keys, mag_keys, mag_forwarders={name: MagForwarder() for name in mags})
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
            ("MN-4 detaches; its binding drains, then its uplink key is freed", self.detach),
        ]

    def attach_all(self) -> None:
        for name in MOBILE_NODES:
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
        before = self._sessions()
        first_packet = len(self.network.wire)
        self.network.run_for(LIFETIME * 0.9)
        refreshed = {option.identifier for packet in self.network.wire[first_packet:]
                     if isinstance(pba := packet.message, ProxyBindingAcknowledgement)
                     and pba.status < Status.REASON_UNSPECIFIED and pba.lifetime > 0
                     and (option := pba.option(MNIdentifierOption)) is not None}
        self.checks.append(reregistration_check(
            before, self._sessions(), refreshed >= {mn_id for mn_id, _ in MOBILE_NODES.values()}))

    def handoff(self) -> None:
        mn_id = MOBILE_NODES["MN-2"][0]
        before = self._bce_by_name().get("MN-2")
        uplink_before = before.uplink_key if before is not None else None
        at_mag1 = self.mags["MAG-1"].entry(mn_id)
        old = (at_mag1.downlink_key, at_mag1.ipv4_home_address) if at_mag1 is not None else (None, None)
        self._attach("MN-2", "MAG-2", HandoffIndicator.HANDOFF_BETWEEN_MAGS)
        self.network.run_for(0.5)
        self.network.detach(self.mags["MAG-1"], mn_id)
        self.network.run_for(2.0)
        self.checks += handoff_checks(uplink_before, self._sessions().get("MN-2"),
                                      self._mag1_forgot(mn_id, access_interface("MN-2"), *old))
        replies_before, first_packet = self.replies.get("MN-2", 0), len(self.tunneled)
        self._echo_round(["MN-2"])
        self.checks.append(traffic_after_handoff_check(
            self.replies.get("MN-2", 0) - replies_before, ECHOES_PER_ROUND,
            [packet for packet in self.tunneled[first_packet:] if packet.mn == "MN-2"], uplink_before))

    def detach(self) -> None:
        self.rows = self.binding_rows()
        mn_id = MOBILE_NODES["MN-4"][0]
        entry = self._bce_by_name().get("MN-4")
        uplink = entry.uplink_key if entry is not None else None
        at_mag = self.mags["MAG-1"].entry(mn_id)
        downlink = at_mag.downlink_key if at_mag is not None else None
        self.network.detach(self.mags["MAG-1"], mn_id)
        self.network.run_for(1.0)
        draining = self._bce_by_name().get("MN-4")
        held = (uplink is not None and draining is not None and draining.state is BceState.DEREGISTERING
                and draining.uplink_key == uplink and self.lma_keys.in_use(uplink))
        self.network.run_for(self.network.lma.settings.min_delay_before_bce_delete)
        last = self._bce_by_name().get("MN-4")
        freed = last is None and uplink is not None and not self.lma_keys.in_use(uplink)
        self.checks += detach_checks(held, freed, self.tunneled)
        keys_freed = freed and downlink is not None and not self.mag_keys["MAG-1"].in_use(downlink)
        state = last.state.value if last is not None else "detached, keys freed" if keys_freed else \
            "detached, keys not freed"
        self.rows = [row if row.mn != "MN-4" else replace(row, state=state) for row in self.rows]

    def binding_rows(self) -> list[BindingRow]:
        rows = []
        for name, entry in sorted(self._bce_by_name().items()):
            counters = self.lma_forwarder.traffic(entry.session()) or TrafficCounters()
            rows.append(BindingRow(
                mn=name, mn_id=entry.mn_id.decode(), tenant=entry.tenant,
                ipv4_home=str(entry.ipv4_home_address.ip) if entry.ipv4_home_address else None,
                hnp=str(entry.home_network_prefixes[0]) if entry.home_network_prefixes else None,
                mag=_mag_name(entry.proxy_coa.address), downlink_key=entry.downlink_key,
                uplink_key=entry.uplink_key, tlv=entry.tlv_header, packets_up=counters.uplink_packets,
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

    def _mag1_forgot(self, mn_id: bytes, interface: str, downlink_key: int | None,
                     home: IPv4Address | None) -> bool:
        """MAG-1 holds no BUL entry, access interface, downlink key or key table entry of the MN any more: a packet
        to its old home address with its old downlink key is an unknown key there (GK-4.2-13)."""
        forwarder = self.mag_forwarders["MAG-1"]
        if downlink_key is None or home is None or self.mags["MAG-1"].entry(mn_id) is not None \
                or interface in forwarder.access_interfaces() or self.mag_keys["MAG-1"].in_use(downlink_key):
            return False
        stale = Sealer(TunnelFormat.GRE, downlink_key).seal(udp_packet(SERVER, home, ECHO_PORT, 40000, b"stale"))
        assert isinstance(stale, bytes)
        return forwarder.from_tunnel(str(LMA_ADDRESS), TunnelFormat.GRE, stale) is DropReason.UNKNOWN_KEY

    def _echo_round(self, names: list[str]) -> None:
        for sequence in range(ECHOES_PER_ROUND):
            for name in names:
                self._echo(name, sequence)
            self.network.run_for(0.01)

    def _echo(self, name: str, sequence: int) -> None:
        """One UDP echo from the MN, which has the IPv4 home address its MAG holds for it (no echo without one)."""
        mn_id, _ = MOBILE_NODES[name]
        mag = self.location[name]
        at_mag = self.mags[mag].entry(mn_id)
        if at_mag is None or at_mag.ipv4_home_address is None:
            return
        view = self._sessions().get(name)
        marker = f"{name} #{sequence}".encode()
        request = udp_packet(at_mag.ipv4_home_address, SERVER, 40000 + sequence, ECHO_PORT, marker)
        forwarders = {MAG_ADDRESSES[node]: forwarder for node, forwarder in self.mag_forwarders.items()}
        result = round_trip(self.network.now, request, access_interface(name), MAG_ADDRESSES[mag], forwarders,
                            self.lma_forwarder, LMA_ADDRESS, self.link)
        self.tunneled += [TunneledPacket(name, crossing.direction, _mag_name(crossing.mag), crossing.key,
                                         view.registered_key(crossing.direction) if view is not None else None)
                          for crossing in result.crossings]
        if result.server_tenant is not None:
            self.server_log.setdefault(result.server_tenant, []).append(result)
        if result.reply is not None and result.reply_interface == access_interface(name) \
                and result.reply.payload == b"echo:" + marker:
            self.replies[name] = self.replies.get(name, 0) + 1

    def _bce_by_name(self) -> dict[str, BindingCacheEntry]:
        names = {mn_id: name for name, (mn_id, _) in MOBILE_NODES.items()}
        return {names[entry.mn_id]: entry for entry in self.network.lma.bindings() if entry.mn_id in names}

    def _bul_entry(self, name: str, mag: str) -> BindingUpdateListEntry | None:
        return self.mags[mag].entry(MOBILE_NODES[name][0]) if mag in self.mags else None

    def _sessions(self) -> dict[str, SessionView]:
        """Each MN's BCE, and what the BUL entry of the MAG the BCE names holds."""
        views = {}
        for name, bce in self._bce_by_name().items():
            mag = _mag_name(bce.proxy_coa.address)
            bul = self._bul_entry(name, mag)
            views[name] = SessionView(
                tenant=bce.tenant,
                ipv4_home=str(bce.ipv4_home_address.ip) if bce.ipv4_home_address else None,
                mag=mag, uplink_key=bce.uplink_key, downlink_key=bce.downlink_key,
                keys_agree=(bul is not None and bce.gre_enabled and bul.gre_enabled and bce.uplink_key is not None
                            and (bul.downlink_key, bul.uplink_key) == (bce.downlink_key, bce.uplink_key)),
                ipv4_home_at_mag=str(bul.ipv4_home_address) if bul is not None and bul.ipv4_home_address else None,
            )
        return views


def _mag_name(address: object) -> str:
    """"MAG-1" for MAG-1's address; any other address as text."""
    return next((name for name, known in MAG_ADDRESSES.items() if known == address), str(address))
