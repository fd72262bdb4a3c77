"""The LMA's Binding Cache entry: RFC 5213 5.1, RFC 5844 3.1.1 (IPv4) and RFC 5845 5.1 (GRE) fields.

RFC 5845 5.1 adds four fields: GRE encapsulation enabled, downlink key, uplink key, UDP TLV-header
format; they describe what the last accepted registration negotiated. pmip6 adds ``reserved_uplink_key``:
the uplink key allocated to the session when it first exchanged keys, kept for the session's whole life
(RFC 5845 3.3.2: "the same uplink GRE key ... for the whole lifetime of the mobility session"), also
while a registration does not use keys, and freed only when the entry is deleted.

RFC 5844 4.1.3.1 adds the encapsulation mode of an IPv4 tunnel: ``udp_encapsulation`` is True in IPv4-UDP
mode (the F flag accepted and GRE not negotiated), False in plain IPv4 (or, over IPv6, IPv6) mode.
Records written before that field existed have no ``udp_encapsulation`` key and load with False, the mode
such an entry was forwarded in, so ``RECORD_VERSION`` stays 1.

``signaling`` is where the MAG's PBUs come from when an Alternate Care-of Address option named another Proxy-CoA
(RFC 5213 5.3.1 item 13, :mod:`pmip6.core.care_of_address`): the sender the LMA authorizes and asks for Heartbeats.
Records written before it existed have no ``signaling`` key and load with None, as the PBUs of all those entries
came from their Proxy-CoA.

``ipv4_withdrawn`` is the IPv4 home address a reload took from the live dual-stack session, which keeps its HNPs
(:meth:`pmip6.core.lma.LocalMobilityAnchor.reconfigure`), or its MAG's V-flag BRI released (RFC 5846 8.2, a
re-registration it sent before may follow), while its MAG may still ask for it: a re-registration naming it is
accepted for its IPv6 part, its IPv4 part refused (RFC 5844 3.1.2.6, 3.2.3.2). Records written before it
existed have no ``ipv4_withdrawn`` key and load with None: no reload had taken such an address.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from ipaddress import IPv4Address, IPv4Interface, IPv6Address, IPv6Network, ip_address
from typing import Any, TypeVar

from pmip6.core.events import Address, Peer, TunnelSession

RECORD_VERSION = 1
_Parsed = TypeVar("_Parsed")


def _remembering(parse: Callable[[str], _Parsed]) -> Callable[[Any], _Parsed]:
    """``parse``, remembering what it made of the last texts: a start checks a record's fields
    (:mod:`pmip6.runtime.store`) and then rebuilds its entry, and the records share their LMAA, MAG and default
    router, so each text is parsed once. A text that does not parse is parsed again, to fail as it did; what is no
    text goes to ``parse`` itself."""
    remembered = lru_cache(maxsize=1024)(parse)
    return lambda value: remembered(value) if type(value) is str else parse(value)


_address = _remembering(ip_address)
_prefix = _remembering(IPv6Network)
_ipv4_interface = _remembering(IPv4Interface)
_ipv4_address = _remembering(IPv4Address)
_ipv6_address = _remembering(IPv6Address)


def _prefixes(prefixes: Any) -> tuple[IPv6Network, ...]:
    return tuple(map(_prefix, prefixes))


TEXT_PARSERS: dict[str, Callable[[Any], object]] = {
    "mn_id_hex": bytes.fromhex, "proxy_coa": _address, "lmaa": _address, "signaling": _address,
    "home_network_prefixes": _prefixes, "ipv4_home_address": _ipv4_interface, "ipv4_default_router": _ipv4_address,
    "mn_ll_id": bytes.fromhex, "link_local_address": _ipv6_address, "ipv4_withdrawn": _ipv4_address}
"""How :meth:`BindingCacheEntry.from_record` parses each text field of a record (a non-null one)."""


class BceState(StrEnum):
    """ACTIVE: registered and forwarding. DEREGISTERING: de-registration accepted, the entry (and its keys
    and addresses) waits MinDelayBeforeBCEDelete before deletion (RFC 5213 5.3.5)."""

    ACTIVE = "active"
    DEREGISTERING = "deregistering"


@dataclass(slots=True, eq=False)
class BindingCacheEntry:
    """One mobility session at the LMA. Identity semantics: two entries are equal only if they are the same."""

    mn_id: bytes
    tenant: str
    proxy_coa: Peer
    lmaa: Address
    att: int
    hi: int
    lifetime: int
    """Granted lifetime in seconds."""
    expires_at: float
    last_sequence: int
    last_timestamp: int | None = None
    """Ticks (1/65536 s) of the last accepted Timestamp option, None when the MAG uses sequence numbers."""
    home_network_prefixes: tuple[IPv6Network, ...] = ()
    ipv4_home_address: IPv4Interface | None = None
    ipv4_default_router: IPv4Address | None = None
    mn_ll_id: bytes | None = None
    link_local_address: IPv6Address | None = None
    gre_enabled: bool = False
    downlink_key: int | None = None
    uplink_key: int | None = None
    reserved_uplink_key: int | None = None
    tlv_header: bool = False
    udp_encapsulation: bool = False
    """IPv4-UDP encapsulation mode (RFC 5844 4.1.3.1); see the module docstring."""
    state: BceState = BceState.ACTIVE
    delete_at: float | None = None
    revoking: bool = False
    """Cleared while its BRI to its MAG is outstanding: no forwarding, keys and addresses kept until the BRA or the
    last retry (RFC 5846 8.1). Not stored: a restart drops it (its ``delete_at`` is None)."""
    signaling: Peer | None = None
    """Where the latest accepted PBU came from when that is not the Proxy-CoA (it named another in an Alternate
    Care-of Address option); None when the MAG signals from its Proxy-CoA."""
    ipv4_withdrawn: IPv4Address | None = None
    """The IPv4 home address a reload (or its MAG's V-flag BRI) took from the session while its MAG may still name it
    (module docstring); None once a PBU of the session no longer names it."""

    @property
    def mag(self) -> Peer:
        """The MAG as a signaling peer: where its latest accepted PBU came from, the sender RFC 5213 5.3.1 item 5
        authorizes; the Proxy-CoA unless an Alternate Care-of Address option named another."""
        return self.proxy_coa if self.signaling is None else self.signaling

    def registered_by(self, mag: Address) -> bool:
        """Whether the MAG at ``mag`` registered this entry: its Proxy-CoA, or the sender whose PBUs named the
        Proxy-CoA in an Alternate Care-of Address option (RFC 5846 section 13: "the mobile access gateway that is
        authorized to create or manipulate the mobile node proxy BCE is also authorized to revoke" it)."""
        return self.proxy_coa.address == mag or self.mag.address == mag

    def session(self) -> TunnelSession:
        """What the data plane needs: peer = the MAG, local = the LMAA. Built for every PBU, once or twice: in the
        order of :class:`TunnelSession`'s fields, as keywords to a class cost a dict per call."""
        return TunnelSession(
            self.mn_id,  # mn_id
            self.proxy_coa,  # peer
            self.lmaa,  # local
            self.tenant,
            self.ipv4_home_address.ip if self.ipv4_home_address is not None else None,
            self.home_network_prefixes,
            self.gre_enabled,  # gre
            self.downlink_key,
            self.uplink_key,
            self.tlv_header,  # tlv
            self.udp_encapsulation,  # udp
        )

    def to_record(self) -> dict[str, Any]:
        """A JSON-able dict of every field (for persistence); :meth:`from_record` inverts it exactly."""
        try:
            mn_id_text: str | None = self.mn_id.decode("utf-8")
        except UnicodeDecodeError:
            mn_id_text = None
        return {
            "record_version": RECORD_VERSION,
            "mn_id": mn_id_text,
            "mn_id_hex": self.mn_id.hex(),
            "tenant": self.tenant,
            "proxy_coa": str(self.proxy_coa.address),
            "proxy_coa_port": self.proxy_coa.port,
            "lmaa": str(self.lmaa),
            "att": int(self.att),
            "hi": int(self.hi),
            "lifetime": self.lifetime,
            "expires_at": self.expires_at,
            "last_sequence": self.last_sequence,
            "last_timestamp": self.last_timestamp,
            "home_network_prefixes": [str(prefix) for prefix in self.home_network_prefixes],
            "ipv4_home_address": str(self.ipv4_home_address) if self.ipv4_home_address is not None else None,
            "ipv4_default_router": _optional_str(self.ipv4_default_router),
            "mn_ll_id": self.mn_ll_id.hex() if self.mn_ll_id is not None else None,
            "link_local_address": _optional_str(self.link_local_address),
            "gre_enabled": self.gre_enabled,
            "downlink_key": self.downlink_key,
            "uplink_key": self.uplink_key,
            "reserved_uplink_key": self.reserved_uplink_key,
            "tlv_header": self.tlv_header,
            "udp_encapsulation": self.udp_encapsulation,
            "state": str(self.state),
            "delete_at": self.delete_at,
            "signaling": str(self.signaling.address) if self.signaling is not None else None,
            "signaling_port": self.signaling.port if self.signaling is not None else None,
            "ipv4_withdrawn": _optional_str(self.ipv4_withdrawn),
        }

    @classmethod
    def from_record(cls, record: object) -> BindingCacheEntry:
        """Rebuild an entry from :meth:`to_record` output. ValueError when the record is not one."""
        if not isinstance(record, dict):
            raise ValueError(f"a binding record is a JSON object, not {type(record).__name__}")
        if record.get("record_version") != RECORD_VERSION:
            raise ValueError(f"unsupported binding record version {record.get('record_version')!r}")
        try:
            return cls(
                mn_id=bytes.fromhex(record["mn_id_hex"]),
                tenant=record["tenant"],
                proxy_coa=Peer(_address(record["proxy_coa"]), record["proxy_coa_port"]),
                lmaa=_address(record["lmaa"]),
                att=int(record["att"]),
                hi=int(record["hi"]),
                lifetime=int(record["lifetime"]),
                expires_at=float(record["expires_at"]),
                last_sequence=int(record["last_sequence"]),
                last_timestamp=record["last_timestamp"],
                home_network_prefixes=_prefixes(record["home_network_prefixes"]),
                ipv4_home_address=_optional(_ipv4_interface, record["ipv4_home_address"]),
                ipv4_default_router=_optional(_ipv4_address, record["ipv4_default_router"]),
                mn_ll_id=_optional(bytes.fromhex, record["mn_ll_id"]),
                link_local_address=_optional(_ipv6_address, record["link_local_address"]),
                gre_enabled=bool(record["gre_enabled"]),
                downlink_key=record["downlink_key"],
                uplink_key=record["uplink_key"],
                reserved_uplink_key=record["reserved_uplink_key"],
                tlv_header=bool(record["tlv_header"]),
                udp_encapsulation=bool(record.get("udp_encapsulation", False)),  # absent before IPv4-UDP mode
                state=BceState(record["state"]),
                delete_at=record["delete_at"],
                signaling=_optional(lambda address: Peer(_address(address), record.get("signaling_port")),
                                    record.get("signaling")),  # absent before the Alternate Care-of Address
                ipv4_withdrawn=_optional(_ipv4_address, record.get("ipv4_withdrawn")),  # absent before V-flag reloads
            )
        except (KeyError, TypeError) as error:
            raise ValueError(f"malformed binding record: {error!r}") from error


def registered_at(entry: BindingCacheEntry) -> float:
    """When the live ``entry``'s latest PBU (registration or refresh) was accepted: its lifetime runs from then."""
    return entry.expires_at - entry.lifetime


def _optional_str(value: object | None) -> str | None:
    return None if value is None else str(value)


def _optional(parse: Any, value: Any) -> Any:
    return None if value is None else parse(value)
