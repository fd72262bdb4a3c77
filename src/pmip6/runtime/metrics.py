"""Counters of one daemon, shown by ``pmip6 show stats`` and exported to Prometheus.

The counters are plain ``Counter`` objects updated on the event loop; the Prometheus collector reads them
at scrape time on its own registry, and the HTTP endpoint is served by the same event loop, so nothing is
shared across threads. Metric names (docs/operations.md): pba_sent_total{status}, pba_received_total{status},
messages_received_total{type}, messages_sent_total{type}, bindings{gre_mode}, decode_errors_total{reason},
signaling_socket_drops_total, send_errors_total, config_reloads_total{result}, heartbeat_peers{state} (RFC 5847); the
LMA alone pbu_received_total, pbu_processing_seconds, store_errors_total, stranger_socket_drops_total and
unauthorized_answers_dropped_total, and the sessions held against ``max_bindings``
(tenant_bindings{tenant}, mag_bindings{mag}, max_bindings, tenant_max_bindings{tenant}, mag_max_bindings{mag}), the
MAG alone retransmissions_total and foreign_registrations_total (PBAs of registrations made in its name,
:mod:`pmip6.core.foreign_registration`).
"""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString

from pmip6.core.binding_limits import SessionUsage, Usage
from pmip6.wire.messages import (
    BindingError,
    BindingRevocationAcknowledgement,
    BindingRevocationIndication,
    Heartbeat,
    MobilityMessage,
    ProxyBindingAcknowledgement,
    ProxyBindingUpdate,
)
from pmip6.wire.numbers import Status

_MESSAGE_NAMES: dict[type, str] = {
    ProxyBindingUpdate: "pbu",
    ProxyBindingAcknowledgement: "pba",
    BindingError: "binding_error",
    BindingRevocationIndication: "bri",
    BindingRevocationAcknowledgement: "bra",
}

PEER_STATES = ("reachable", "unreachable", "unsupported")
"""The ``state`` label of ``pmip6_heartbeat_peers`` (RFC 5847), each exported from the start (zero included)."""

RELOAD_RESULTS = ("applied", "refused")
"""The ``result`` label of ``pmip6_config_reloads_total``, each exported from the start (zero included)."""

REQUEST_DEADLINE = 5.0
"""Seconds a metrics client has for its whole exchange: sending its request head and reading the answer."""

MAX_METRICS_CLIENTS = 16
"""Metrics connections served at once; one more is closed at once. Each holds a file descriptor until its
REQUEST_DEADLINE, so whoever can reach the endpoint cannot use up the daemon's (RLIMIT_NOFILE), which the
control socket and the signaling need too."""
MAX_METRICS_CLIENTS_PER_SOURCE = 4
"""Of those, the most one source address holds: slow clients of one host cannot keep a scraper on another out
(walkthrough 11: 16 of them, reconnecting, failed every scrape)."""

NAMESPACE = "pmip6"
"""Prefix of every exported metric name (Prometheus naming: one namespace per application)."""


def message_name(message: MobilityMessage) -> str:
    """``pbu``, ``pba``, ``binding_error``, ``bri``, ``bra`` (RFC 5846), ``heartbeat_request``,
    ``heartbeat_response`` (RFC 5847) or ``unknown``: the label of a message type."""
    if type(message) is Heartbeat:
        return "heartbeat_response" if message.response else "heartbeat_request"
    return _MESSAGE_NAMES.get(type(message), "unknown")


_STATUS_NAMES = {status.value: status.name for status in Status}


def status_name(status: int) -> str:
    """The IANA name of a (P)BA status, e.g. ``GRE_KEY_OPTION_REQUIRED``; the number if it has none."""
    name = _STATUS_NAMES.get(status)
    return str(status) if name is None else name


@dataclass(slots=True)
class Statistics:
    """What one daemon counted since it started."""

    received: Counter[str] = field(default_factory=Counter)
    sent: Counter[str] = field(default_factory=Counter)
    pba_sent: Counter[str] = field(default_factory=Counter)
    pba_received: Counter[str] = field(default_factory=Counter)
    decode_errors: Counter[str] = field(default_factory=Counter)
    events: Counter[str] = field(default_factory=Counter)
    retransmissions: int = 0
    foreign_registrations: int = 0
    """MAG: PBAs of registrations made in its name (ForeignRegistration events)."""
    socket_drops: int = 0
    """Datagrams the kernel dropped for the signaling sockets, mostly on a full receive queue (SO_RXQ_OVFL)."""
    send_errors: int = 0
    store_errors: int = 0
    stranger_socket_drops: int = 0
    """Datagrams the kernel dropped for the LMA's strangers' sockets (sources that are no ``[[mag]]``)."""
    unauthorized_answers_dropped: int = 0
    """Answers to sources that are no ``[[mag]]`` not sent: over ``unauthorized_answer_rate``."""
    reloads: Counter[str] = field(default_factory=Counter)
    """Configuration reloads by result: ``applied`` or ``refused`` (a bad file)."""

    def count_received(self, message: MobilityMessage) -> None:
        self.received[message_name(message)] += 1
        if type(message) is ProxyBindingAcknowledgement:
            self.pba_received[status_name(message.status)] += 1

    def count_socket_drops(self, dropped: int) -> None:
        self.socket_drops += dropped

    def count_stranger_socket_drops(self, dropped: int) -> None:
        self.stranger_socket_drops += dropped

    def count_sent(self, message: MobilityMessage) -> None:
        self.sent[message_name(message)] += 1
        if type(message) is ProxyBindingAcknowledgement:
            self.pba_sent[status_name(message.status)] += 1

    def as_dict(self, bindings_by_gre_mode: Mapping[str, int], *, at_lma: bool) -> dict[str, Any]:
        """The JSON shape of ``pmip6 show stats --json``: ``store_errors``, ``stranger_socket_drops`` and
        ``unauthorized_answers_dropped`` at an LMA, ``retransmissions`` and ``foreign_registrations`` at a MAG (the
        counters only that role has, as in the Prometheus families)."""
        role_counter = {"store_errors": self.store_errors, "stranger_socket_drops": self.stranger_socket_drops,
                        "unauthorized_answers_dropped": self.unauthorized_answers_dropped} if at_lma else \
            {"retransmissions": self.retransmissions, "foreign_registrations": self.foreign_registrations}
        return {
            "received": dict(self.received),
            "sent": dict(self.sent),
            "pba_sent": dict(self.pba_sent),
            "pba_received": dict(self.pba_received),
            "decode_errors": dict(self.decode_errors),
            "events": dict(self.events),
            **role_counter,
            "socket_drops": self.socket_drops,
            "send_errors": self.send_errors,
            "bindings": dict(bindings_by_gre_mode),
            "reloads": dict(self.reloads),
        }


class _StatisticsCollector:
    """Prometheus view of :class:`Statistics`, computed at each scrape."""

    def __init__(self, statistics: Statistics, bindings_by_gre_mode: Callable[[], Mapping[str, int]],
                 at_lma: bool) -> None:
        self._statistics = statistics
        self._bindings_by_gre_mode = bindings_by_gre_mode
        self._at_lma = at_lma

    def collect(self) -> Iterator[Metric]:
        s = self._statistics
        if self._at_lma:
            yield CounterMetricFamily(f"{NAMESPACE}_pbu_received", "Proxy Binding Updates received",
                                      value=s.received["pbu"])
        yield _labelled(CounterMetricFamily, f"{NAMESPACE}_pba_sent", "Proxy Binding Acknowledgements sent",
                        "status", s.pba_sent)
        yield _labelled(CounterMetricFamily, f"{NAMESPACE}_pba_received", "Proxy Binding Acknowledgements received",
                        "status", s.pba_received)
        yield _labelled(CounterMetricFamily, f"{NAMESPACE}_messages_received", "Mobility Header messages received",
                        "type", s.received)
        yield _labelled(CounterMetricFamily, f"{NAMESPACE}_messages_sent", "Mobility Header messages sent",
                        "type", s.sent)
        yield _labelled(CounterMetricFamily, f"{NAMESPACE}_decode_errors", "Received packets dropped, by reason",
                        "reason", s.decode_errors)
        if self._at_lma:
            yield CounterMetricFamily(f"{NAMESPACE}_store_errors", "State file writes that failed",
                                      value=s.store_errors)
            yield CounterMetricFamily(f"{NAMESPACE}_stranger_socket_drops",
                                      "Datagrams from sources that are no [[mag]] the kernel dropped (queue full)",
                                      value=s.stranger_socket_drops)
            yield CounterMetricFamily(f"{NAMESPACE}_unauthorized_answers_dropped",
                                      "Answers to sources that are no [[mag]] not sent (unauthorized_answer_rate)",
                                      value=s.unauthorized_answers_dropped)
        else:
            yield CounterMetricFamily(f"{NAMESPACE}_retransmissions", "PBU retransmissions", value=s.retransmissions)
            yield CounterMetricFamily(f"{NAMESPACE}_foreign_registrations",
                                      "PBAs of registrations made in this MAG's name (its LMA accepted a PBU about an "
                                      "MN registered here that this MAG did not send)", value=s.foreign_registrations)
        yield CounterMetricFamily(f"{NAMESPACE}_signaling_socket_drops",
                                  "Datagrams the kernel dropped for the signaling sockets (receive queue full)",
                                  value=s.socket_drops)
        yield CounterMetricFamily(f"{NAMESPACE}_send_errors", "Messages the socket refused to send",
                                  value=s.send_errors)
        yield _labelled(CounterMetricFamily, f"{NAMESPACE}_config_reloads", "Configuration reloads by result", "result",
                        {**dict.fromkeys(RELOAD_RESULTS, 0), **s.reloads})
        yield _labelled(GaugeMetricFamily, f"{NAMESPACE}_bindings",
                        "Bindings (LMA: BCEs, MAG: BUL entries) by GRE mode", "gre_mode", self._bindings_by_gre_mode())


class _HeartbeatPeersCollector:
    """The peers a daemon knows from RFC 5847 heartbeats, by state, computed at each scrape."""

    def __init__(self, peers_by_state: Callable[[], Mapping[str, int]]) -> None:
        self._peers_by_state = peers_by_state

    def collect(self) -> Iterator[Metric]:
        yield _labelled(GaugeMetricFamily, f"{NAMESPACE}_heartbeat_peers",
                        "Peers known from RFC 5847 heartbeats, by state", "state",
                        {**dict.fromkeys(PEER_STATES, 0), **self._peers_by_state()})


class _GreKeysCollector:
    """The GRE keys the node holds reserved at each scrape (RFC 5845 4.1, 5.1): a count that grows without the
    bindings is a leak."""

    def __init__(self, reserved: Callable[[], int]) -> None:
        self._reserved = reserved

    def collect(self) -> Iterator[Metric]:
        gauge = GaugeMetricFamily(f"{NAMESPACE}_gre_keys_reserved",
                                  "GRE keys reserved: the LMA's uplink keys, a MAG's downlink keys")
        gauge.add_metric([], self._reserved())
        yield gauge


class _SessionUsageCollector:
    """The LMA's sessions held against its ``max_bindings`` limits (core/binding_limits.py), at each scrape: the
    held counts for every tenant and authorized MAG, the limits for those that have one."""

    def __init__(self, usage: Callable[[], SessionUsage]) -> None:
        self._usage = usage

    def collect(self) -> Iterator[Metric]:
        usage = self._usage()
        mags = {str(mag): scope for mag, scope in usage.mags.items()}
        yield _labelled(GaugeMetricFamily, f"{NAMESPACE}_tenant_bindings", "Binding cache entries by tenant", "tenant",
                        {name: scope.held for name, scope in usage.tenants.items()})
        yield _labelled(GaugeMetricFamily, f"{NAMESPACE}_mag_bindings",
                        "Binding cache entries by MAG (the address its PBUs come from)", "mag",
                        {mag: scope.held for mag, scope in mags.items()})
        limit = GaugeMetricFamily(f"{NAMESPACE}_max_bindings", "The LMA's max_bindings (no sample: no limit)")
        if usage.lma.max_bindings is not None:
            limit.add_metric([], usage.lma.max_bindings)
        yield limit
        yield _labelled(GaugeMetricFamily, f"{NAMESPACE}_tenant_max_bindings", "A tenant's max_bindings", "tenant",
                        _limits(usage.tenants))
        yield _labelled(GaugeMetricFamily, f"{NAMESPACE}_mag_max_bindings", "A MAG's max_bindings", "mag",
                        _limits(mags))


@dataclass(frozen=True, slots=True)
class StateFileBacklog:
    """The LMA's state-file writes at one moment (:mod:`pmip6.runtime.store_writer`; docs/operations.md, "State file
    and restart (LMA)"): how long the write in flight has taken so far (0: none is), the outcomes whose messages
    wait for it, the PBUs among them, and the PBUs dropped since the start because too many waited."""

    write_in_flight_seconds: float
    outcomes_waiting: int
    pbus_waiting: int
    pbus_dropped: int


class _StateFileWritesCollector:
    """The LMA's :class:`StateFileBacklog` at each scrape (a disk that hangs: the first three grow)."""

    def __init__(self, backlog: Callable[[], StateFileBacklog]) -> None:
        self._backlog = backlog

    def collect(self) -> Iterator[Metric]:
        backlog = self._backlog()
        yield GaugeMetricFamily(f"{NAMESPACE}_state_file_write_seconds",
                                "How long the state file write in flight has taken so far (0: none in flight)",
                                value=backlog.write_in_flight_seconds)
        yield GaugeMetricFamily(f"{NAMESPACE}_state_file_outcomes_waiting",
                                "Outcomes whose messages (PBAs, BRIs, ...) wait for the state file write in flight",
                                value=backlog.outcomes_waiting)
        yield GaugeMetricFamily(f"{NAMESPACE}_state_file_pbus_waiting",
                                "PBUs whose answers wait for the state file's writes", value=backlog.pbus_waiting)
        yield CounterMetricFamily(f"{NAMESPACE}_state_file_pbus_dropped",
                                  "PBUs dropped unread because too many answers waited for the state file",
                                  value=backlog.pbus_dropped)


def _limits(scopes: Mapping[str, Usage]) -> dict[str, int]:
    return {name: scope.max_bindings for name, scope in scopes.items() if scope.max_bindings is not None}


def _labelled(family: type[CounterMetricFamily] | type[GaugeMetricFamily], name: str, documentation: str,
              label: str, values: Mapping[str, int]) -> Metric:
    metric = family(name, documentation, labels=[label])
    for value_label, value in sorted(values.items()):
        metric.add_metric([value_label], value)
    return metric


PBU_PROCESSING_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.1, 1.0)
"""Upper bounds, in seconds, of the ``pmip6_pbu_processing_seconds`` buckets (``+Inf`` follows)."""


class Durations:
    """A histogram of durations observed on the event loop: a count per bucket and their sum, exported at a scrape
    by :class:`_DurationsCollector` as prometheus_client's ``Histogram`` exports one (the same samples, ``_created``
    included). A plain list, as nothing is shared across threads (module docstring): ``Histogram.observe`` takes a
    lock per bucket and for the sum, a good part of the runtime's own cost of each PBU."""

    __slots__ = ("bounds", "counts", "sum", "created")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = (*bounds, float("inf"))
        self.counts = [0] * len(self.bounds)
        """Observations per bucket: ``counts[i]`` those above ``bounds[i - 1]`` and at most ``bounds[i]``."""
        self.sum = 0.0
        self.created = time.time()

    def observe(self, seconds: float) -> None:
        self.counts[bisect_left(self.bounds, seconds)] += 1
        self.sum += seconds


class _DurationsCollector:
    """One :class:`Durations` as a Prometheus histogram family, cumulative buckets as the exposition wants them."""

    def __init__(self, name: str, documentation: str, durations: Durations) -> None:
        self._name = name
        self._documentation = documentation
        self._durations = durations
        self._labels: list[str] = [floatToGoString(bound)
                                   for bound in durations.bounds]

    def collect(self) -> Iterator[Metric]:
        durations = self._durations
        buckets: list[tuple[str, float]] = []
        total = 0
        for label, count in zip(self._labels, durations.counts):
            total += count
            buckets.append((label, total))
        family = HistogramMetricFamily(self._name, self._documentation, buckets=buckets, sum_value=durations.sum)
        family.add_sample(f"{self._name}_created", {}, durations.created)
        yield family


class Metrics:
    """One daemon's Prometheus registry: its statistics (the families of its role, LMA or MAG) and, for the
    LMA, the PBU processing-time histogram (:meth:`pbu_processing_histogram`)."""

    def __init__(self, statistics: Statistics, bindings_by_gre_mode: Callable[[], Mapping[str, int]], *,
                 at_lma: bool) -> None:
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(_StatisticsCollector(statistics, bindings_by_gre_mode, at_lma))
        self._clients = 0
        self._clients_by_source: Counter[str] = Counter()

    def pbu_processing_histogram(self) -> Durations:
        """The LMA's time from a PBU's arrival to its PBA being handed to the socket, now exported."""
        durations = Durations(PBU_PROCESSING_BUCKETS)
        self.registry.register(_DurationsCollector(
            f"{NAMESPACE}_pbu_processing_seconds", "Time from a PBU's arrival to its PBA being handed to the socket",
            durations))
        return durations

    def add_heartbeat_peers(self, peers_by_state: Callable[[], Mapping[str, int]]) -> None:
        """Export ``pmip6_heartbeat_peers{state}`` from ``peers_by_state()`` (RFC 5847: alert on ``unreachable``)."""
        self.registry.register(_HeartbeatPeersCollector(peers_by_state))

    def add_gre_keys(self, reserved: Callable[[], int]) -> None:
        """Export ``pmip6_gre_keys_reserved`` from ``reserved()``: the LMA's uplink keys, a MAG's downlink keys."""
        self.registry.register(_GreKeysCollector(reserved))

    def add_session_usage(self, usage: Callable[[], SessionUsage]) -> None:
        """Export the LMA's sessions held and its ``max_bindings`` limits from ``usage()``."""
        self.registry.register(_SessionUsageCollector(usage))

    def add_state_file_writes(self, backlog: Callable[[], StateFileBacklog]) -> None:
        """Export the LMA's state-file writes from ``backlog()``."""
        self.registry.register(_StateFileWritesCollector(backlog))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    async def serve(self, host: str, port: int) -> asyncio.Server:
        """Serve ``GET /metrics`` (any path) on ``host:port`` from this event loop, to at most MAX_METRICS_CLIENTS
        at once (MAX_METRICS_CLIENTS_PER_SOURCE of one address), each within REQUEST_DEADLINE."""
        return await asyncio.start_server(self._answer_http, host, port)

    async def _answer_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        source = writer.get_extra_info("peername")[0]
        if self._clients >= MAX_METRICS_CLIENTS or self._clients_by_source[source] >= MAX_METRICS_CLIENTS_PER_SOURCE:
            writer.close()
            return
        self._clients += 1
        self._clients_by_source[source] += 1
        try:
            async with asyncio.timeout(REQUEST_DEADLINE):
                while await reader.readline() not in (b"\r\n", b"\n", b""):
                    pass  # the request head: any GET gets the exposition
                body = self.exposition()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: " + CONTENT_TYPE_LATEST.encode()
                             + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n"
                             + body)
                await writer.drain()
        except TimeoutError:
            writer.transport.abort()  # close() would wait for an unread answer to leave
        except (ConnectionError, ValueError):
            pass
        finally:
            self._clients -= 1
            self._clients_by_source[source] -= 1
            if not self._clients_by_source[source]:
                del self._clients_by_source[source]
            writer.close()
