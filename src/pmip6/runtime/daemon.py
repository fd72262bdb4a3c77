"""What both daemons share: driving a sans-I/O engine from sockets, a timer and the control socket.

After every engine call, :meth:`Daemon.apply` handles the :class:`Outcome` in a fixed order:
1. every event listener, in the order added (the event log first, then e.g. the data plane);
2. :meth:`Daemon.persist`: the messages to send, at the LMA with a state file once the write holding the outcome's
   changes committed, and not when it failed, so that nothing is announced that a crash could forget
   (docs/operations.md, "State file"; the write runs on a thread of its own, :mod:`pmip6.runtime.store_writer`);
3. the timer, re-armed from the engine's ``next_deadline()``, even when a step before it raised.
A daemon that persists reads its signaling a batch at a time (:attr:`Daemon.group_commit`): within a batch the
listeners are told at once and steps 2 and 3 wait for the batch's end, where they run once for all its outcomes
(:mod:`pmip6.runtime.group_commit`).

Start order: the arrival guard's peers (``set_arrival_guard``), components (``add_component``),
:meth:`Daemon.prepare` (the LMA restores its bindings), the components' ``serve``, signaling sockets, control
socket, metrics endpoint, timer. Close runs it backwards (docs/operations.md, "Stopping"). A stop that begins during
:meth:`Daemon.prepare` ends it at its next step (:meth:`Daemon.stop_began_meanwhile`), and nothing is served.

A reload asked during the start (SIGHUP, ``pmip6 reload``) is applied once the start is complete, once however many
were asked; one asked once the stop began (:meth:`Daemon.begin_stop`) is ignored (docs/operations.md, "Reloading the
configuration"): the engine is never reconfigured with its bindings half restored or its sockets not yet or no
longer open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from typing import Any, ClassVar, Protocol

from pmip6.core.events import Address, BindingRemoved, Event, Outcome, Peer, SendMessage, TunnelSession
from pmip6.core.heartbeat import HeartbeatMonitor
from pmip6.runtime.capture import DEFAULT_PCAP_LIMIT, SignalingCapture
from pmip6.runtime.clock import DaemonClock
from pmip6.runtime.config import RECOMMENDED_MIN_HEARTBEAT_INTERVAL
from pmip6.runtime.config_reader import ConfigError
from pmip6.runtime.control import (
    ControlError,
    ControlServer,
    Handler,
    Request,
    address_argument,
    arguments,
    text_argument,
    utf8_argument,
)
from pmip6.runtime.eventlog import EventLog
from pmip6.runtime.group_commit import GroupCommit
from pmip6.runtime.metrics import Metrics, Statistics
from pmip6.naming import counted, endpoint_text, naming
from pmip6.runtime.timers import DeadlineTimer
from pmip6.runtime.transport import ArrivalCheck, MessageHandler, SignalingTransport, TunnelDataHandler
from pmip6.runtime.transport_mh import RawMobilityTransport
from pmip6.runtime.transport_udp import UdpTransport
from pmip6.runtime.views import GRE_MODES, binding_row, gre_mode_of, peer_row, peer_state
from pmip6.wire.messages import MobilityMessage

EventListener = Callable[[Event], None]

ROWS_PER_TURN = 1000
"""Binding rows built (``pmip6 show bindings``), or stored bindings restored (:meth:`Daemon.prepare`), per event-loop
turn: a large binding cache (tens of microseconds a binding) must not hold up signaling, or a stop, for seconds."""

BindingColumns = Callable[[TunnelSession], dict[str, Any]]
"""Extra fields of one binding's row in ``pmip6 show bindings`` (see :meth:`Daemon.add_binding_columns`)."""
Step = Callable[[], Awaitable[None]]
Component = tuple[Step, Step, Step | None]
"""A component's start, stop and serve (see :meth:`Daemon.add_component`)."""


def fresh_restart_counter() -> int:
    """The Restart Counter of a node starting without its PMIPv6 session state (RFC 5847 3.2): the start time in
    whole seconds, 32 bits (until 2106), so it increases at every such restart without being stored anywhere."""
    return int(time.time()) & 0xFFFFFFFF


class Engine(Protocol):
    heartbeat: HeartbeatMonitor
    wall_offset: float

    def next_deadline(self) -> float | None: ...

    def handle_timer(self, now: float) -> Outcome: ...

    def gre_keys_reserved(self) -> int: ...


class ArrivalGuard(Protocol):
    """What checks the arrival interface of the signaling: the data plane's pump (:class:`pmip6.dataplane.pump.Pump`,
    docs/dataplane.md, "Signaling and the arrival interface")."""

    def watch_signaling_peers(self, peers: Mapping[str, str | None]) -> None: ...

    def misarrival(self, source: str, interface: int) -> int | None: ...


class Lifecycle(Enum):
    """Where a daemon is between :meth:`Daemon.start` and :meth:`Daemon.close`: what a reload asked then does."""

    STARTING = "starting"
    """Applied once the start is complete."""
    RUNNING = "running"
    """Applied at once."""
    STOPPING = "stopping"
    """Ignored (SIGHUP) or refused (``pmip6 reload``)."""


@dataclass(frozen=True, slots=True)
class DaemonOptions:
    """Command-line choices common to ``pmip6 lma`` and ``pmip6 mag``, and the daemon's clock (a test gives it
    readers of its own)."""

    pcap: Path | None = None
    pcap_limit: int = DEFAULT_PCAP_LIMIT
    clock: DaemonClock = field(default_factory=DaemonClock)


class Daemon:
    """One engine on real sockets. Subclasses name the engine's role and add their control commands."""

    at_lma: ClassVar[bool]

    def __init__(self, engine: Engine, logger: logging.Logger, config_path: Path, control: Path,
                 metrics_endpoint: tuple[str, int] | None, options: DaemonOptions) -> None:
        self.engine = engine
        self.clock = options.clock
        """The engine's timeline (:mod:`pmip6.runtime.clock`): read it with :meth:`now` before an engine call."""
        self.config_path = config_path
        self.logger = logger
        self.statistics = Statistics()
        self.metrics = Metrics(self.statistics, self.bindings_by_gre_mode, at_lma=self.at_lma)
        self.metrics.add_heartbeat_peers(self.heartbeat_peers_by_state)
        self.metrics.add_gre_keys(engine.gre_keys_reserved)
        self.ipv4: SignalingTransport | None = None
        self.ipv6: SignalingTransport | None = None
        self._pcap = options.pcap
        self._pcap_limit = options.pcap_limit
        self._capture: SignalingCapture | None = None
        self._handlers = self.control_handlers()
        self._control = ControlServer(control, self._handlers)
        self._control_reopening: asyncio.Task[None] | None = None
        """The last :meth:`_reopen_control`, kept so that the event loop does not lose it; while it has not ended a
        further SIGHUP starts no other (the file not there yet, that one would find the new socket answering)."""
        self._metrics_endpoint = metrics_endpoint
        self._metrics_server: asyncio.AbstractServer | None = None
        self._listeners: list[EventListener] = [EventLog(logger, at_lma=self.at_lma, clock=self.clock)]
        self._components: list[Component] = []
        self._tunnel_data: TunnelDataHandler | None = None
        self._arrival_guard: ArrivalGuard | None = None
        self._binding_columns: list[BindingColumns] = []
        self._stats_sections: dict[str, Callable[[], Any]] = {
            "gre_keys": lambda: {"reserved": engine.gre_keys_reserved()}}
        self._started: list[Step] = []
        self._timer: DeadlineTimer | None = None
        self.group_commit: GroupCommit | None = None
        """Set by a daemon that persists (the LMA with ``state``) before its transports open: each batch of received
        messages is written in one transaction (:mod:`pmip6.runtime.group_commit`)."""
        self.lifecycle = Lifecycle.STARTING
        self._reload_asked = False
        """A SIGHUP arrived during the start: reload once it is complete."""
        self._started_or_stopping = asyncio.Event()
        """Set when :attr:`lifecycle` leaves STARTING: what a ``pmip6 reload`` asked during the start waits for."""
        self.stop_waits_ended = False
        """A second SIGINT/SIGTERM came during the stop: it waits for no answer any more (:meth:`end_stop_waits`)."""

    def now(self) -> float:
        """The time to hand the engine: its timeline, which a step of the wall clock does not move. The engine is
        told first how far the wall clock is ahead of it (``wall_offset``), the time of its Timestamp options."""
        self.engine.wall_offset = self.clock.wall_offset()
        return self.clock.now()

    # ---- extension points ------------------------------------------------------------------------

    def add_event_listener(self, listener: EventListener) -> None:
        """Call ``listener(event)`` for every engine event, at once: before any message of its outcome is sent (at the
        LMA with a state file, before its write, :meth:`persist`)."""
        self._listeners.append(listener)

    def add_component(self, start: Step, stop: Step, serve: Step | None = None) -> None:
        """Run ``start()`` before the daemon touches its engine or sockets, ``serve()`` once :meth:`prepare` handed
        the listeners the bindings it restored (before the signaling sockets open) and ``stop()`` after the daemon
        let go."""
        self._components.append((start, stop, serve))

    def set_tunnel_data_handler(self, handler: TunnelDataHandler) -> None:
        """Offer every datagram on the IPv4/UDP signaling port to ``handler`` first (tunneled data on 5436)."""
        self._tunnel_data = handler

    def set_arrival_guard(self, guard: ArrivalGuard) -> None:
        """Drop a signaling message from one of :meth:`signaling_peers` (or a tunnel peer) that ``guard`` says
        arrived elsewhere than the route back to it leaves by (``decode_errors{reason="wrong_interface"}``); the
        peers are given to it before the components start and again after each reload."""
        self._arrival_guard = guard

    def signaling_peers(self) -> dict[str, str | None]:
        """The peers whose signaling the arrival guard checks: address as text -> this node's signaling address
        toward it (None: none of that family)."""
        raise NotImplementedError

    def add_control_handler(self, command: str, handler: Handler) -> None:
        """Answer the control command ``command`` with ``handler`` (a coroutine taking the request)."""
        if command in self._handlers:
            raise ValueError(f"control command {command!r} is already served")
        self._handlers[command] = handler

    def control_handlers(self) -> dict[str, Handler]:
        return {"bindings": self._bindings_command, "stats": self._stats_command, "reload": self._reload_command,
                "peers": self._peers_command}

    def add_binding_columns(self, columns: BindingColumns) -> None:
        """Add ``columns(session)``'s fields to every row of ``pmip6 show bindings`` (e.g. traffic counters)."""
        self._binding_columns.append(columns)

    def add_stats_section(self, name: str, section: Callable[[], Any]) -> None:
        """Add ``section()`` as ``name`` to ``pmip6 show stats``."""
        self._stats_sections[name] = section

    def binding_entries(self) -> Iterator[tuple[TunnelSession, float | None, str, Address | None]]:
        """Every binding: its session, when it expires (Unix time, None if unknown), its state and, at the LMA, the
        address its MAG signals from when that is not the Proxy-CoA (an Alternate Care-of Address, RFC 5213 5.3.1
        item 13; else None); from a snapshot of the entries, since the engine may change them while a caller awaits
        between items."""
        raise NotImplementedError

    def gre_states(self) -> Iterator[tuple[bool, int | None, int | None]]:
        """(GRE on, downlink key, uplink key) of every binding, as its session has them: what the bindings-by-GRE-mode
        counts need, read without building sessions (every metrics scrape reads them all)."""
        raise NotImplementedError

    def binding_row(self, session: TunnelSession, expires_at: float | None, state: str, now: float,
                    signaling: Address | None = None) -> dict[str, Any]:
        """One row of ``pmip6 show bindings``, with the columns components added."""
        row = binding_row(session, at_lma=self.at_lma, expires_at=expires_at, state=state, now=now,
                          signaling=signaling)
        for columns in self._binding_columns:
            row.update(columns(session))
        return row

    async def binding_rows(self, now: float,
                           wanted: Callable[[TunnelSession, Address | None], bool] = lambda session, signaling: True
                           ) -> list[dict[str, Any]]:
        """The rows of the bindings ``wanted`` picks, built ROWS_PER_TURN at a time with the event loop running in
        between: a large binding cache (about 15 us a row) must not hold up signaling for seconds."""
        rows = []
        for count, (session, expires_at, state, signaling) in enumerate(self.binding_entries(), 1):
            if wanted(session, signaling):
                rows.append(self.binding_row(session, expires_at, state, now, signaling))
            if count % ROWS_PER_TURN == 0:
                await asyncio.sleep(0)
        return rows

    def persist(self, outcome: Outcome) -> None:
        """Send the outcome's messages once its binding changes are stored durably: here at once, as only the LMA
        has a store (:meth:`pmip6.runtime.lma_daemon.LmaDaemon.persist`)."""
        for send in outcome.sends:
            self.send(send)

    async def prepare(self) -> None:
        """Work before the sockets open; it gives up, leaving the start to end there, when the stop began meanwhile
        (:meth:`stop_began_meanwhile`)."""

    async def stop_began_meanwhile(self) -> bool:
        """Let the event loop run, a turn of it, so that a SIGINT/SIGTERM is taken: whether the stop began (a long
        step of the start, :meth:`prepare`, asks this every :data:`ROWS_PER_TURN` bindings, and gives up if so)."""
        await asyncio.sleep(0)
        return self.stopping()

    def reconfigure(self) -> tuple[Outcome, list[str]]:
        """Read the configuration file again and give the engine what may change while it runs: the engine's
        outcome, and the keys whose change waits for a restart. A bad file raises :class:`ConfigError` and
        changes nothing."""
        raise NotImplementedError

    def reload(self) -> dict[str, Any]:
        """:meth:`reconfigure`, applied, counted (``statistics.reloads``) and logged, a bad file at error level
        (docs/operations.md, "Reloading the configuration")."""
        try:
            outcome, restart_needed = self.reconfigure()
        except ConfigError as error:
            self.statistics.reloads["refused"] += 1
            self.logger.error("configuration not reloaded: %s", self._refusal(error))
            raise
        self.statistics.reloads["applied"] += 1
        self.apply(outcome)
        if self._arrival_guard is not None:
            self._arrival_guard.watch_signaling_peers(self.signaling_peers())
        self.warn_short_heartbeat_interval()
        removed = sum(1 for event in outcome.events if isinstance(event, BindingRemoved))
        kept = sum(1 for _ in self.gre_states())  # a count: no sessions built
        for key in restart_needed:
            self.logger.warning("configuration %s: %s changed: it takes effect when the %s restarts", self.config_path,
                                key, self.role)
        self.logger.info("configuration reloaded from %s: %s kept, %d removed", self.config_path,
                         counted(kept, "binding"), removed)
        return {"bindings_kept": kept, "bindings_removed": removed, "restart_needed": restart_needed}

    def reload_on_signal(self) -> None:
        """SIGHUP: :meth:`reload`; a bad file is logged there and changes nothing. During the start it waits until the
        start is complete; once the stop began it is ignored (module docstring). Each is logged at info level."""
        if self.lifecycle is Lifecycle.STARTING:
            if not self._reload_asked:
                self.logger.info("SIGHUP during the start: the configuration is reloaded once the start is complete")
            self._reload_asked = True
        elif self.lifecycle is Lifecycle.STOPPING:
            self.logger.info("SIGHUP ignored: the daemon is stopping")
        else:
            with contextlib.suppress(ConfigError):
                self.reload()
            reopening = self._control_reopening is not None and not self._control_reopening.done()
            if self._control.gone() and not reopening:
                self._control_reopening = asyncio.get_running_loop().create_task(self._reopen_control())

    async def _reopen_control(self) -> None:
        """SIGHUP, the control socket's file gone from its path: listen there again (docs/operations.md, "Control
        socket"), so that ``pmip6 show`` and ``pmip6 mag attach`` reach the daemon without a restart, which at a MAG
        would de-register every MN."""
        try:
            await self._control.reopen()
        except OSError as error:
            self.logger.error("the control socket's file was removed; listening again failed: %s", error)
        else:
            self.logger.warning("the control socket's file %s was removed: listening there again", self._control.path)

    def _refusal(self, error: ConfigError) -> str:
        """What ``pmip6 reload`` prints and SIGHUP logs for a bad file."""
        return f"{error.in_file(self.config_path)}; the running configuration stays"

    @property
    def role(self) -> str:
        return "LMA" if self.at_lma else "MAG"

    def stopping(self) -> bool:
        """Whether the stop began: asked again after each await of the start, as a SIGINT/SIGTERM may come during it
        (a method, not a property: mypy would keep a property's value across the awaits)."""
        return self.lifecycle is Lifecycle.STOPPING

    # ---- lifecycle -------------------------------------------------------------------------------

    def warn_short_heartbeat_interval(self) -> None:
        """At start and after a reload: RFC 5847 5 says HEARTBEAT_INTERVAL "SHOULD NOT be set to less than 30
        seconds" (pmip6 accepts 1 s and more, for test beds)."""
        interval = self.engine.heartbeat.settings.interval
        if 0 < interval < RECOMMENDED_MIN_HEARTBEAT_INTERVAL:
            self.logger.warning("heartbeat_interval is %g s: RFC 5847 section 5 advises at least %g s outside a test "
                                "bed", interval, RECOMMENDED_MIN_HEARTBEAT_INTERVAL)

    async def start(self) -> None:
        self.warn_short_heartbeat_interval()
        if self._arrival_guard is not None:
            self._arrival_guard.watch_signaling_peers(self.signaling_peers())
        for start, stop, _ in self._components:
            await start()
            self._started.append(stop)
        await self.prepare()
        if self.stopping():
            return  # the stop began during the restore: nothing is served
        for _, _, serve in self._components:
            if serve is not None:
                await serve()
        if self._pcap is not None:
            self._capture = SignalingCapture(self._pcap, self.logger, self._pcap_limit)
        await self.open_transports()
        await self._control.start()
        if self._metrics_endpoint is not None:
            host, port = self._metrics_endpoint
            endpoint = endpoint_text(host, port)
            with naming(f"metrics endpoint {endpoint}"):
                self._metrics_server = await self.metrics.serve(host, port)
            self.logger.info("metrics on http://%s/metrics", endpoint)
        self._timer = DeadlineTimer(asyncio.get_running_loop(), self._on_deadline, self.clock.now)
        self._timer.arm(self.engine.next_deadline())
        if self.stopping():
            return  # began while the sockets opened: the stop follows the start
        self.lifecycle = Lifecycle.RUNNING
        self._started_or_stopping.set()
        if self._reload_asked:
            self._reload_asked = False
            self.reload_on_signal()

    def begin_stop(self) -> None:
        """The stop begins (SIGINT/SIGTERM, also during the start; at the latest :meth:`close`): from now on a reload
        is ignored (SIGHUP) or refused (``pmip6 reload``), and a start still in :meth:`prepare` gives up."""
        self.lifecycle = Lifecycle.STOPPING
        self._started_or_stopping.set()

    def end_stop_waits(self, signal_name: str) -> None:
        """A second SIGINT/SIGTERM during the stop: what it still waits for (the MAG, its LMA's answers) is waited for
        no more; the stop goes on as any other (docs/operations.md, "Stopping")."""
        if not self.stop_waits_ended:
            self.logger.info("%s during the stop: it waits for no answer any more", signal_name)
        self.stop_waits_ended = True

    async def open_transports(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        self.begin_stop()
        if self._timer is not None:
            self._timer.cancel()
        if self._control_reopening is not None:  # a SIGHUP's, not ended yet: it would listen on after the stop
            await self._control_reopening
        await self._control.close()
        if self._metrics_server is not None:
            self._metrics_server.close()
            with contextlib.suppress(Exception):
                await self._metrics_server.wait_closed()
        for transport in (self.ipv4, self.ipv6):
            if transport is not None:
                transport.close()
        await asyncio.sleep(0)  # asyncio closes a datagram socket on the next loop iteration
        while self._started:
            await self._started.pop()()
        if self._capture is not None:
            self._capture.close()

    async def open_udp(self, address: IPv4Address, port: int, handler: MessageHandler,
                       fallback_to_ephemeral: bool = False, receive_buffer: int | None = None,
                       strangers_apart: bool = False) -> None:
        """Open the IPv4/UDP signaling socket; ``receive_buffer``: its receive queue, in octets (kernel default);
        ``strangers_apart``: with a second socket for strangers (the LMA, :meth:`SignalingTransport.authorize`)."""
        stranger_drops = self.statistics.count_stranger_socket_drops if strangers_apart else None
        with naming(f"signaling socket UDP {address}:{port}"):
            self.ipv4 = await UdpTransport.open(address, port, handler, self.statistics.decode_errors,
                                                self._capture, fallback_to_ephemeral, self._tunnel_data,
                                                self._arrival_check(), socket_drops=self.statistics.count_socket_drops,
                                                receive_buffer=receive_buffer, send_failed=self._send_failed,
                                                stranger_drops=stranger_drops)
        self.ipv4.batch = self.group_commit
        self._check_receive_buffer(self.ipv4, receive_buffer)
        bound = self.ipv4.local.port
        if fallback_to_ephemeral and port not in (0, bound):
            self.logger.info("signaling over IPv4/UDP on %s:%d: port %d is taken (e.g. by an LMA on this host), so "
                             "this ephemeral port is used instead", address, bound, port)
        else:
            self.logger.info("signaling over IPv4/UDP on %s:%d", address, bound)

    async def open_raw_mh(self, address: IPv6Address, handler: MessageHandler,
                          receive_buffer: int | None = None, strangers_apart: bool = False) -> None:
        """Open the raw IPv6 Mobility Header socket; ``receive_buffer`` and ``strangers_apart`` as
        :meth:`open_udp`'s."""
        stranger_drops = self.statistics.count_stranger_socket_drops if strangers_apart else None
        with naming(f"signaling socket raw MH {address}"):
            self.ipv6 = await RawMobilityTransport.open(address, handler, self.statistics.decode_errors,
                                                        self._capture, self._arrival_check(),
                                                        socket_drops=self.statistics.count_socket_drops,
                                                        receive_buffer=receive_buffer,
                                                        send_failed=self._send_failed, stranger_drops=stranger_drops)
        self.ipv6.batch = self.group_commit
        self._check_receive_buffer(self.ipv6, receive_buffer)
        self.logger.info("signaling over IPv6 (Mobility Header) on %s", address)

    def _check_receive_buffer(self, transport: SignalingTransport, asked: int | None) -> None:
        """Warn when the kernel granted less receive buffer than asked for (without CAP_NET_ADMIN it caps it at
        net.core.rmem_max): a burst of PBUs may overflow it (``socket_drops``)."""
        if asked is None or transport.receive_buffer >= 2 * asked:  # the kernel doubles what it is asked for
            return
        self.logger.warning("the signaling socket on %s got a receive buffer of %d octets, not %d: a burst of PBUs "
                            "may be dropped (socket_drops); raise net.core.rmem_max or give the daemon CAP_NET_ADMIN",
                            transport.local.address, transport.receive_buffer, 2 * asked)

    def _arrival_check(self) -> ArrivalCheck | None:
        return None if self._arrival_guard is None else self._arrival_guard.misarrival

    # ---- driving the engine ----------------------------------------------------------------------

    def apply(self, outcome: Outcome) -> None:
        """Tell the listeners, persist and send, re-arm the timer (module docstring). The timer is re-armed
        whatever went wrong before, so one failure never stops later expiries, refreshes or retransmissions; a
        listener's failure leaves the outcome's changes persisted and its messages not sent.
        Within a :attr:`group_commit` batch the listeners are told at once, the rest waits for the batch's end."""
        batch = self.group_commit.pending if self.group_commit is not None else None
        if batch is not None:
            batch.append(outcome)
            try:
                self._announce(outcome.events)
            except BaseException:
                batch[-1] = Outcome(events=outcome.events)  # persisted, not sent: as below when a listener fails
                raise
            return
        try:
            try:
                self._announce(outcome.events)
            except BaseException:
                self.persist(Outcome(events=outcome.events))
                raise
            self.persist(outcome)
        finally:
            self._rearm()

    def _apply_batch(self, outcomes: list[Outcome]) -> None:
        """The end of a :attr:`group_commit` batch: one write for every outcome, then their messages in order."""
        try:
            self.persist(Outcome([send for outcome in outcomes for send in outcome.sends],
                                 [event for outcome in outcomes for event in outcome.events]))
        finally:
            self._rearm()

    def _announce(self, events: list[Event]) -> None:
        counted = self.statistics.events
        for event in events:
            counted[type(event).__name__] += 1
            for listener in self._listeners:
                listener(event)

    def _rearm(self) -> None:
        if self._timer is not None:
            self._timer.arm(self.engine.next_deadline())

    def send(self, send: SendMessage, /) -> None:
        transport = self.ipv4 if send.destination.port is not None else self.ipv6
        if transport is None:
            self.statistics.send_errors += 1
            self.logger.warning("no transport towards %s: %s dropped", send.destination.address,
                                type(send.message).__name__)
            return
        try:
            transport.send(send.message, send.destination, send.source)
        except (OSError, ValueError) as error:  # ValueError: the message does not encode (an over-long option)
            self._send_failed(send.message, send.destination, error)
            return
        self.statistics.count_sent(send.message)

    def _send_failed(self, message: MobilityMessage, destination: Peer, error: OSError | ValueError) -> None:
        """Count and log a message that could not be sent: at once, or after waiting for room in the socket's send
        buffer (:class:`~pmip6.runtime.send_backlog.SendBacklog`; counted as sent, then)."""
        self.statistics.send_errors += 1
        self.logger.warning("sending %s to %s failed: %s", type(message).__name__, destination.address, error)

    def timer_outcome(self, now: float) -> Outcome:
        return self.engine.handle_timer(now)

    def _on_deadline(self) -> None:
        self.apply(self.timer_outcome(self.now()))

    # ---- control commands ------------------------------------------------------------------------

    def bindings_by_gre_mode(self) -> dict[str, int]:
        """Bindings by GRE mode, every mode present (zero included)."""
        counts: Counter[str] = Counter(dict.fromkeys(GRE_MODES, 0))
        counts.update(gre_mode_of(*state) for state in self.gre_states())
        return dict(counts)

    def heartbeat_peers_by_state(self) -> dict[str, int]:
        """The peers known from RFC 5847 heartbeats by :func:`~pmip6.runtime.views.peer_state`."""
        return dict(Counter(peer_state(state) for state in self.engine.heartbeat.peers()))

    async def _bindings_command(self, request: Request) -> list[dict[str, Any]]:
        """Every binding, or those of the optional ``mn_id``, ``tenant`` and ``mag`` arguments; ``mag`` is the
        Proxy-CoA, or at the LMA also the address a MAG signals from for a Proxy-CoA it named in an Alternate Care-of
        Address option (as ``pmip6 lma clear --mag``)."""
        arguments(request, "bindings", "mn_id", "tenant", "mag")
        mn_id = utf8_argument(request, "mn_id") if "mn_id" in request else None
        tenant = text_argument(request, "tenant") if "tenant" in request else None
        if tenant is not None and not self.at_lma:
            raise ControlError("a MAG's bindings have no tenant: --tenant selects an LMA's")
        mag = address_argument(request, "mag") if "mag" in request else None

        def wanted(session: TunnelSession, signaling: Address | None) -> bool:
            proxy_coa = session.peer.address if self.at_lma else session.local
            return ((mn_id is None or session.mn_id == mn_id) and (tenant is None or session.tenant == tenant)
                    and (mag is None or mag in (proxy_coa, signaling)))

        return await self.binding_rows(self.clock.now(), wanted)

    async def _reload_command(self, request: Request) -> dict[str, Any]:
        """:meth:`reload`, once the start is complete (the control socket opens before the metrics endpoint and the
        timer); refused once the stop began."""
        arguments(request, "reload")
        await self._started_or_stopping.wait()
        if self.stopping():
            raise ControlError(f"the {self.role} is stopping: the configuration is not reloaded")
        try:
            return self.reload()
        except ConfigError as error:
            raise ControlError(self._refusal(error)) from None

    async def _peers_command(self, request: Request) -> dict[str, Any]:
        """This node's Restart Counter and heartbeat settings, and what it knows of each peer (RFC 5847)."""
        arguments(request, "peers")
        heartbeat = self.engine.heartbeat
        return {"restart_counter": heartbeat.restart_counter, "heartbeat_interval": heartbeat.settings.interval,
                "missing_heartbeats_allowed": heartbeat.settings.missing_heartbeats_allowed,
                "peers": [peer_row(state) for state in heartbeat.peers()]}

    async def _stats_command(self, request: Request) -> dict[str, Any]:
        arguments(request, "stats")
        stats = self.statistics.as_dict(self.bindings_by_gre_mode(), at_lma=self.at_lma)
        stats.update({name: section() for name, section in self._stats_sections.items()})
        return stats

