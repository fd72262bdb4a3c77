"""A Binding Revocation Indication the LMA owes a MAG (RFC 5846 8.1), as a record that outlives the process.

The LMA decides a revocation in the same step as the binding change that causes it (a handover, an operator's
clear, a reload), and the runtime commits both together before either message leaves: a crash in between must
not keep the PBA's binding change and lose the BRI, or the previous MAG keeps a session the LMA no longer holds
for it. :meth:`OwedRevocation.to_record` is what the state file keeps of an outstanding BRI: the session it
revokes (its GRE mode, keys and format too, for the ``revocation_sent`` line a resumed BRI logs), at the address
and port the BRI goes to and from the LMAA it leaves from, its Revocation Trigger, and
whether it was one global BRI for every binding of that MAG (8.1: G set, "Per-Peer Policy"). A restarted LMA sends
them again with fresh sequence numbers (:meth:`pmip6.core.revocation_sender.RevocationSender.resume`).

A BRI that revokes the IPv4 home address binding only (the V flag, RFC 5846 5.1 and 6.1.1: a reload took the
address from a dual-stack session that keeps its HNPs) is a version 2 record, the address with its home network's
prefix length in ``ipv4_only``; every other BRI is still a version 1 record without that key, as before it existed,
so a file written before reads as it did and an older pmip6 refuses (and skips, with a warning) a V-flag record
rather than taking it for the revocation of the whole session.
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv6Network, ip_address
from typing import Any

from pmip6.core.events import Peer, TunnelSession
from pmip6.wire.numbers import RevocationTrigger

REVOCATION_RECORD_VERSION = 1
IPV4_ONLY_RECORD_VERSION = 2
"""The version of the record of a V-flag BRI (module docstring)."""


@dataclass(frozen=True, slots=True)
class OwedRevocation:
    """One session an outstanding BRI revokes; a global BRI owes one per session it names, ``whole_mag`` set. A V-flag
    BRI revokes ``ipv4_only``, the session's IPv4 home address binding, and nothing else of it."""

    session: TunnelSession
    trigger: RevocationTrigger
    whole_mag: bool = False
    ipv4_only: IPv4Interface | None = None

    def to_record(self) -> dict[str, Any]:
        """A JSON-able dict; :meth:`from_record` inverts it."""
        session = self.session
        record: dict[str, Any] = {
            "record_version": REVOCATION_RECORD_VERSION if self.ipv4_only is None else IPV4_ONLY_RECORD_VERSION,
            "mn_id_hex": session.mn_id.hex(),
            "tenant": session.tenant,
            "mag": str(session.peer.address),
            "mag_port": session.peer.port,
            "lmaa": str(session.local),
            "home_network_prefixes": [str(prefix) for prefix in session.home_network_prefixes],
            "ipv4_home_address": None if session.ipv4_home_address is None else str(session.ipv4_home_address),
            "gre": session.gre,
            "downlink_key": session.downlink_key,
            "uplink_key": session.uplink_key,
            "tlv": session.tlv,
            "udp": session.udp,
            "trigger": int(self.trigger),
            "whole_mag": self.whole_mag,
        }
        if self.ipv4_only is not None:
            record["ipv4_only"] = str(self.ipv4_only)
        return record

    @classmethod
    def from_record(cls, record: object) -> OwedRevocation:
        """Rebuild a revocation from :meth:`to_record` output. ValueError, saying what is wrong, when it is not one."""
        if not isinstance(record, dict):
            raise ValueError(f"a revocation record is a JSON object, not {type(record).__name__}")
        version = record.get("record_version")
        if version not in (REVOCATION_RECORD_VERSION, IPV4_ONLY_RECORD_VERSION):
            raise ValueError(f"unsupported revocation record version {version!r}")
        try:
            port = record["mag_port"]
            if port is not None and not (type(port) is int and 0 < port <= 0xFFFF):
                raise ValueError(f"mag_port: expected a port from 1 to 65535, or null, got {port!r}")
            tenant, whole_mag = record["tenant"], record["whole_mag"]
            if not (tenant is None or isinstance(tenant, str)) or not isinstance(whole_mag, bool):
                raise ValueError("tenant must be a string or null, whole_mag true or false")
            ipv4 = record["ipv4_home_address"]
            flags = {name: record.get(name, False) for name in ("gre", "tlv", "udp")}  # absent: written before them
            keys = {name: record.get(name) for name in ("downlink_key", "uplink_key")}
            if not all(isinstance(flag, bool) for flag in flags.values()):
                raise ValueError("gre, tlv and udp must be true or false")
            if not all(key is None or (type(key) is int and 0 <= key <= 0xFFFFFFFF) for key in keys.values()):
                raise ValueError("downlink_key and uplink_key must be 32-bit integers or null")
            session = TunnelSession(
                mn_id=bytes.fromhex(record["mn_id_hex"]),
                peer=Peer(ip_address(record["mag"]), port),
                local=ip_address(record["lmaa"]),
                tenant=tenant,
                ipv4_home_address=None if ipv4 is None else IPv4Address(ipv4),
                home_network_prefixes=tuple(IPv6Network(prefix) for prefix in record["home_network_prefixes"]),
                gre=flags["gre"], tlv=flags["tlv"], udp=flags["udp"], downlink_key=keys["downlink_key"],
                uplink_key=keys["uplink_key"],
            )
            ipv4_only = None if version == REVOCATION_RECORD_VERSION else _ipv4_interface(record["ipv4_only"])
            return cls(session, RevocationTrigger(record["trigger"]), whole_mag, ipv4_only)
        except KeyError as error:
            raise ValueError(f"revocation record without {error}") from None
        except (TypeError, ValueError) as error:
            raise ValueError(f"unreadable revocation record: {error}") from None


def _ipv4_interface(text: object) -> IPv4Interface:
    """A V-flag record's ``ipv4_only``: an IPv4 address with its prefix length, as text."""
    if not isinstance(text, str):
        raise ValueError(f"ipv4_only must be an IPv4 address with its prefix length, not {text!r}")
    return IPv4Interface(text)
