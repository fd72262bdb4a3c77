"""Bindings as plain data: the rows of ``pmip6 show bindings`` and the fields of the event log.

A row has these fields (docs/operations.md): mn_id, tenant, proxy_coa, lmaa, hnp (list of prefixes),
ipv4_home, lifetime_left (seconds), gre ("keys" | "gre-only" | "off"; null while nothing is negotiated: a MAG's
entry still registering, or failed), downlink_key, uplink_key (ints or null), tlv, encapsulation (the tunnel format,
:class:`pmip6.dataplane.formats.TunnelFormat`: "gre", "udp-tlv", "ip-in-ip" or "udp" for RFC 5844's IPv4-UDP mode),
state; a data plane adds the session's traffic counters. At the LMA the session's peer is the MAG (Proxy-CoA) and its
local end the LMAA, and ``signaling`` is where the MAG signals from, present only when that is not the Proxy-CoA; at the
MAG it is the other way round (RFC 5845 sections 4.1 and 5.1).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from pmip6.core.binding_limits import SessionUsage
from pmip6.core.events import Address, TunnelSession, mn_text
from pmip6.core.heartbeat import PeerHeartbeat
from pmip6.dataplane.formats import session_format

GRE_MODES = ("keys", "gre-only", "off")
NOT_NEGOTIATED = ("registering", "failed")
"""BUL states (core/bul.py) whose GRE mode and tunnel format no PBA has settled: "off" or "ip-in-ip" would read
as a choice."""


def gre_mode(session: TunnelSession) -> str:
    """``keys`` (GRE with keys), ``gre-only`` (GRE encapsulation mode only, RFC 5845 section 3.2) or ``off``."""
    return gre_mode_of(session.gre, session.downlink_key, session.uplink_key)


def gre_mode_of(gre: bool, downlink_key: int | None, uplink_key: int | None) -> str:
    """:func:`gre_mode` from the fields alone: counting a large binding cache needs no session objects."""
    if not gre:
        return "off"
    if downlink_key is None and uplink_key is None:
        return "gre-only"
    return "keys"


def accepted_at_mag(session: TunnelSession) -> bool:
    """Whether a PBA accepted this MAG session: the first accepting PBA assigns its home addresses (an HNP, RFC 5213
    6.9.1.2; an IPv4 home address, RFC 5844 3.2.3.2), and a registration no PBA accepted has none."""
    return bool(session.home_network_prefixes) or session.ipv4_home_address is not None


def session_fields(session: TunnelSession, *, at_lma: bool) -> dict[str, Any]:
    """The session's identity, addresses, GRE state and tunnel format as JSON-able fields."""
    mag, lma = (session.peer.address, session.local) if at_lma else (session.local, session.peer.address)
    return {
        "mn_id": mn_text(session.mn_id),
        "tenant": session.tenant,
        "proxy_coa": str(mag),
        "lmaa": str(lma),
        "hnp": [str(prefix) for prefix in session.home_network_prefixes],
        "ipv4_home": None if session.ipv4_home_address is None else str(session.ipv4_home_address),
        "gre": gre_mode(session),
        "downlink_key": session.downlink_key,
        "uplink_key": session.uplink_key,
        "tlv": session.tlv,
        "encapsulation": str(session_format(session)),
    }


def binding_row(session: TunnelSession, *, at_lma: bool, expires_at: float | None, state: str,
                now: float, signaling: Address | None = None) -> dict[str, Any]:
    """One row of ``pmip6 show bindings --json``; ``signaling`` (LMA) where the MAG signals from when that is not the
    Proxy-CoA (RFC 5213 5.3.1 item 13: its PBUs named the Proxy-CoA in an Alternate Care-of Address option)."""
    row = session_fields(session, at_lma=at_lma)
    if signaling is not None:
        row["signaling"] = str(signaling)
    if state in NOT_NEGOTIATED:
        row["gre"] = row["encapsulation"] = None
    link_local = session.link_local_address  # RFC 5213 6.8: the MAG's on the MN's link, or the one the BCE holds
    row["link_local_address"] = None if link_local is None else str(link_local)
    row["lifetime_left"] = None if expires_at is None else max(0, int(expires_at - now))
    row["state"] = state
    return row


def peer_state(state: PeerHeartbeat) -> str:
    """``reachable``, ``unreachable`` or ``unsupported`` (no heartbeats to it after a Binding Error status 2)."""
    if not state.supported:
        return "unsupported"
    return "reachable" if state.reachable else "unreachable"


def peer_row(state: PeerHeartbeat) -> dict[str, Any]:
    """One row of ``pmip6 show peers`` (RFC 5847): ``peer`` (address), ``port`` (IPv4/UDP; null over IPv6),
    ``reachable``, ``missing_heartbeats``, ``restart_counter`` (the peer's, null before its first response),
    ``heartbeats`` ("supported", or "unsupported" after a Binding Error status 2) and ``outstanding`` (the sequence
    number of the request awaiting its response, or null)."""
    return {"peer": str(state.peer.address), "port": state.peer.port, "reachable": state.reachable,
            "missing_heartbeats": state.missing_heartbeats, "restart_counter": state.restart_counter,
            "heartbeats": "supported" if state.supported else "unsupported", "outstanding": state.outstanding}


def session_usage_row(usage: SessionUsage) -> dict[str, Any]:
    """``sessions`` in ``pmip6 show stats --json``: ``{"held": N, "max_bindings": M or null}`` for the LMA, under
    ``tenants`` by name and under ``mags`` by address (docs/operations.md, "Limits")."""
    return {"lma": asdict(usage.lma),
            "tenants": {name: asdict(scope) for name, scope in sorted(usage.tenants.items())},
            "mags": {str(mag): asdict(scope)
                     for mag, scope in sorted(usage.mags.items(), key=lambda item: str(item[0]))}}
