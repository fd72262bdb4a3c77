"""The data plane's counters as plain data: what ``stats()`` returns, the control command ``dataplane`` answers
(``pmip6 show dataplane``) and the metrics exporter reads (docs/dataplane.md, "Operations").

TypedDicts, so every reader knows each key's type while the JSON and metrics code keeps working on dicts.
"""

from __future__ import annotations

from typing import TypedDict


class TrafficCountersData(TypedDict):
    """One session's, tenant's or node's :class:`pmip6.dataplane.counters.TrafficCounters`."""

    uplink_packets: int
    uplink_bytes: int
    downlink_packets: int
    downlink_bytes: int
    drops: dict[str, int]
    """Drops by :class:`pmip6.dataplane.counters.DropReason` value, sorted."""


class SessionStats(TrafficCountersData):
    """A session the data plane forwards, and its counters."""

    mn_id: str
    tenant: str | None
    peer: str
    format: str
    uplink_key: int | None
    downlink_key: int | None
    access_interface: str | None


class ForwarderStats(TypedDict):
    """The forwarder's counters: the node, each tenant (sessions without one under "default") and each session."""

    node: TrafficCountersData
    tenants: dict[str, TrafficCountersData]
    sessions: list[SessionStats]


class PumpStats(ForwarderStats):
    """The forwarder's counters and the pump's own: failed socket or netlink work, ICMP errors by outcome."""

    io_errors: int
    icmp_errors: dict[str, int]
    """Refused packets by :class:`pmip6.dataplane.counters.IcmpOutcome` value."""


class MagPumpStats(PumpStats):
    """At the MAG also the latest error of each access interface that has no TUN device and rules."""

    context_errors: dict[str, str]
