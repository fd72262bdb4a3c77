"""``pmip6 lma``: the Local Mobility Anchor engine on real sockets (RFC 5213 section 5, RFC 5844, RFC 5845).

Signaling arrives on IPv4-LMAA:udp_port (RFC 5844) and/or as raw Mobility Headers on the IPv6 LMAA. With
``state`` configured every binding change is committed to SQLite before the PBA announcing it leaves, with the
Binding Revocation Indications it owes (RFC 5846 8.1), on a writer thread of its own once the sockets are open
(:mod:`pmip6.runtime.store_writer`: a disk that hangs holds up the PBAs, not the event loop), and a restarted LMA
re-adopts its bindings with their GRE keys (RFC 5845 section 3.3.2 keeps the uplink key for the session's life) and
sends those BRIs again.
:func:`build_lma_daemon` is the one place the daemon is assembled.

Strangers, the sources that are no ``[[mag]]``, are read from sockets of their own within a budget
(:mod:`pmip6.runtime.socket_filter`, :class:`~pmip6.runtime.transport.StrangerReader`), and the answers they draw
(a PBA 154 or 160, a Binding Error) leave within the token bucket of ``unauthorized_answer_rate`` and
``unauthorized_answer_burst`` (``unauthorized_answers_dropped`` beyond it): the LMA is no reflector of forged
sources. The engine decides what to answer; whether an answer to a stranger leaves is this daemon's policy.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, replace
from functools import partial
from ipaddress import IPv4Address
from typing import Any, TypeVar

from pmip6.core.bce import BceState, BindingCacheEntry
from pmip6.core.events import (
    Address,
    Alarm,
    BindingDeregistered,
    BindingEstablished,
    BindingRemoved,
    BindingRestored,
    BindingUpdated,
    Outcome,
    Peer,
    SendMessage,
    TunnelSession,
    mn_text,
)
from pmip6.core.heartbeat import ReportedCounter
from pmip6.core.lma import NOT_RESTORED, RESTORED_WITHOUT_IPV4, LocalMobilityAnchor
from pmip6.core.owed_revocation import OwedRevocation
from pmip6.core.token_bucket import TokenBucket
from pmip6.naming import counted, listed
from pmip6.runtime.anchor_dhcp import attach_anchor_dhcp
from pmip6.runtime.config import ConfigError, LmaConfig, changed_keys, load_lma_config
from pmip6.runtime.control import ControlError, Handler, Request, address_argument, arguments, utf8_argument
from pmip6.runtime.daemon import ROWS_PER_TURN, Daemon, DaemonOptions, fresh_restart_counter
from pmip6.runtime.dataplane_config import parse_lma_dataplane
from pmip6.runtime.dataplane_daemon import attach_dataplane, lma_pump
from pmip6.runtime.group_commit import GroupCommit
from pmip6.runtime.metrics import StateFileBacklog
from pmip6.runtime.store import BindingStore, Record
from pmip6.runtime.store_writer import StoreWriter
from pmip6.runtime.views import session_usage_row
from pmip6.runtime.transport import SIGNALING_RECEIVE_BUFFER
from pmip6.wire.messages import (
    BindingError,
    Heartbeat,
    MobilityMessage,
    ProxyBindingAcknowledgement,
    ProxyBindingUpdate,
)
from pmip6.wire.numbers import Status
from pmip6.wire.options import MNIdentifierOption

_BINDING_CHANGES = (BindingEstablished, BindingUpdated, BindingDeregistered, BindingRemoved)
_STORED_TIMES = ("expires_at", "delete_at")
"""The fields of a binding's record that are times (:func:`shifted_times`)."""
_Record = TypeVar("_Record")
_Report = TypeVar("_Report", ReportedCounter, ReportedCounter | None)

_RESTART_ONLY = {"ipv4_address": "lma.ipv4_address", "udp_port": "lma.udp_port", "ipv6_address": "lma.ipv6_address",
                 "state": "lma.state", "control": "lma.control", "metrics": "lma.metrics", "dataplane": "dataplane",
                 "dhcp_server": "lma.dhcp_server"}
"""LmaConfig fields a reload leaves for the next restart (sockets, files, the data plane): their keys in lma.toml."""

_ANSWERS = (ProxyBindingAcknowledgement, BindingError)
"""The messages the LMA sends only in answer to one it received: to a stranger, within ``unauthorized_answer_rate``."""

PBUS_WAITING_LIMIT = 10_000
"""PBUs whose answers may wait for the state file's writes at once; beyond it a PBU is dropped before the engine
sees it (``pbus_dropped``; its MAG retransmits): a disk that hangs for long holds a bounded backlog in memory."""


class LmaDaemon(Daemon):
    """The LMA engine, its sockets, its binding store and its control commands."""

    at_lma = True

    def __init__(self, config: LmaConfig, options: DaemonOptions, *, restored_backup: bool = False) -> None:
        self.config = config
        self._restored_backup = restored_backup
        """``pmip6 lma --restored-backup``: the state file is an older copy, missing the sessions made since."""
        self.lma = LocalMobilityAnchor(config.settings, restart_counter=fresh_restart_counter())
        super().__init__(self.lma, logging.getLogger("pmip6.lma"), config.path, config.control, config.metrics, options)
        self.store: BindingStore | None = None
        self.writer: StoreWriter | None = None
        """Writes :attr:`store` and releases the messages that wait for it (set with it, by :meth:`prepare`)."""
        self._stop_waits_ended = asyncio.Event()
        """Set by a second SIGINT/SIGTERM: the stop waits no more for the writes in flight (:meth:`close`)."""
        self._pbu_processing_seconds = self.metrics.pbu_processing_histogram()
        self._pbus_in_batch: list[float] = []
        """When each PBU of the group-commit batch under way was taken up (``time.perf_counter()``): its time ends
        once the batch is written and its PBAs are handed to the socket (:meth:`_apply_batch`)."""
        self.pbus_waiting_limit = PBUS_WAITING_LIMIT
        self._pbus_waiting = 0
        """PBUs taken up whose answers wait for a state file write (:meth:`_answered_after_write`)."""
        self._pbus_dropped = 0
        """PBUs dropped, over :attr:`pbus_waiting_limit`, since the daemon started."""
        self._pbus_dropped_in_backlog = 0
        """Of those, the ones dropped since the backlog last reached the limit (logged once it is under again)."""
        self.dataplane_tenants: frozenset[str] | None = None
        """The tenants the data plane has a routing context (TUN device) for; None without a data plane."""
        self.add_stats_section("waiting", lambda: asdict(self.lma.waiting()))
        self.add_stats_section("sessions", lambda: session_usage_row(self.lma.session_usage()))
        self.metrics.add_session_usage(self.lma.session_usage)
        if config.state is not None:
            self.add_stats_section("state_file", self._state_file_row)
            self.metrics.add_state_file_writes(self._state_file_backlog)
        self._sends_at_open = Outcome()
        """What :meth:`prepare` found to tell the MAGs, sent once the sockets are open: the new Restart Counter
        (RFC 5847 3.2) and the revocations owed when the LMA stopped (RFC 5846 8.1)."""
        self._unauthorized_answers = TokenBucket(*config.unauthorized_answers)
        self._strangers_not_apart: dict[str, str | None] = {}
        """Per transport, why strangers are not read apart (None: they are), as last logged."""

    def control_handlers(self) -> dict[str, Handler]:
        return {**super().control_handlers(), "clear": self._clear_command}

    async def _clear_command(self, request: Request) -> dict[str, int]:
        """Remove the bindings of ``mn_id`` and/or of the MAG ``mag`` (``pmip6 lma clear``)."""
        arguments(request, "clear", "mn_id", "mag")
        mn_id = utf8_argument(request, "mn_id") if "mn_id" in request else None
        mag = address_argument(request, "mag") if "mag" in request else None
        if mn_id is None and mag is None:
            raise ControlError('give "mn_id", "mag" or both')
        outcome = self.lma.clear(self.now(), mn_id=mn_id, mag=mag)
        self.apply(outcome)
        await self._written()
        # A binding whose MAG is being told (binding_revocation) stops forwarding now and goes at the BRA.
        cleared = (BindingRemoved, BindingDeregistered)
        return {"cleared": sum(1 for event in outcome.events if isinstance(event, cleared))}

    async def _reload_command(self, request: Request) -> dict[str, Any]:
        """:meth:`Daemon._reload_command`, answered once the changes the reload made are on disk."""
        answer = await super()._reload_command(request)
        await self._written()
        return answer

    async def _written(self) -> None:
        """Return once every outcome applied so far is written and released (at once without a state file)."""
        if self.writer is not None:
            await self.writer.written()

    def reconfigure(self) -> tuple[Outcome, list[str]]:
        config = load_lma_config(self.config_path)
        parse_lma_dataplane(config.dataplane, [tenant.name for tenant in config.settings.tenants])
        restart_needed = changed_keys(self.config, config, _RESTART_ONLY)
        if config.unauthorized_answers != self.config.unauthorized_answers:
            self._unauthorized_answers = TokenBucket(*config.unauthorized_answers)
        self.config = replace(self.config, settings=config.settings, unauthorized_answers=config.unauthorized_answers)
        outcome = self.lma.reconfigure(config.settings, self.now())
        self._set_strangers_apart()
        self.warn_tenants_without_dataplane()
        return outcome, restart_needed

    def gre_states(self) -> Iterator[tuple[bool, int | None, int | None]]:
        return ((entry.gre_enabled, entry.downlink_key, entry.uplink_key) for entry in self.lma.bindings())

    def binding_entries(self) -> Iterator[tuple[TunnelSession, float | None, str, Address | None]]:
        """A draining entry "expires" when it is deleted (RFC 5213 5.3.5 MinDelayBeforeBCEDelete); one held while
        its MAG is told (RFC 5846 8.1) is ``revoking``, until the BRA or the last retransmission. The sessions carry
        the BCE's link-local address (RFC 5213 6.8), for the rows' ``link_local_address``."""
        return ((replace(entry.session(), link_local_address=entry.link_local_address),
                 entry.delete_at if entry.state is BceState.DEREGISTERING else entry.expires_at,
                 "revoking" if entry.revoking else str(entry.state),
                 None if entry.signaling is None else entry.signaling.address) for entry in self.lma.bindings())

    def warn_tenants_without_dataplane(self) -> None:
        """At start and after a reload: a tenant the data plane has no context for cannot forward its sessions'
        packets (they are counted as the drop ``no_routing_context``); its ``[[dataplane.tenant]]`` needs a restart."""
        if self.dataplane_tenants is None:
            return
        for tenant in self.lma.settings.tenants:
            if tenant.name not in self.dataplane_tenants:
                self.logger.warning("tenant %s has no [[dataplane.tenant]] in the running data plane: its sessions' "
                                    "packets are not forwarded (add one and restart the LMA)", tenant.name)

    async def prepare(self) -> None:
        """Restore the state file's bindings (docs/operations.md, "State file and restart (LMA)"), a step of
        ROWS_PER_TURN bindings at a time with the event loop running in between. When the stop begins meanwhile it
        gives up at the next step and writes nothing: the file keeps every binding for the next start (the pruning,
        a transaction, is rolled back), and the sockets never open."""
        self.warn_tenants_without_dataplane()
        if self.config.state is None:
            return
        self.store = BindingStore(self.config.state)
        self.writer = StoreWriter(self.store, self._records_of, self._write_failed)
        if self.store.found_empty:
            self.logger.warning("state file %s is empty (0 octets): no stored bindings to restore; if it held some, "
                                "they are lost (truncated?)", self.config.state)
        read = await self._read_stored(self.store)
        if read is None:
            return
        entries, stored = read
        # A MAG restarted meanwhile then shows (RFC 5847 3.2); when it last reported its counter, stored as Unix time
        # as the bindings' times are, goes on this timeline with them.
        self.lma.heartbeat.remember(shifted_reports(self.store.peer_counters(), -self.clock.wall_offset()))
        now = self.now()
        outcome = Outcome()
        for chunk in whole_rows(entries, ROWS_PER_TURN):
            outcome.extend(self.lma.restore(chunk, now))
            if await self.stop_began_meanwhile():
                return
        lost = live_not_restored(self.lma, entries, now)
        # RFC 5847 3.2 keeps the counters of the peers "with which it currently has sessions": not those of MAGs
        # left without a live binding (none restored, or no longer in [[mag]]); their rows go with the next write.
        live = {entry.mag.address for entry in self.lma.bindings() if entry.state is BceState.ACTIVE}
        self.lma.heartbeat.retain(live)
        if self._adopt_restart_counter(self.store, stored - len(entries), lost):
            self._sends_at_open = self.lma.announce_restart(lost)
            if self._sends_at_open.sends:
                self.logger.info("telling %s of the new Restart Counter (unsolicited Heartbeat Response, RFC 5847 3.2)",
                                 counted(len(self._sends_at_open.sends), "MAG"))
        resumed = self.lma.resume_revocations(self._stored_revocations(self.store), now)
        if resumed.sends:
            self.logger.info("sending again %s owed when the LMA stopped (RFC 5846 8.1)",
                             counted(len(resumed.sends), "Binding Revocation Indication"))
        self._sends_at_open.extend(resumed)
        # The BRIs to the MAGs of stored sessions a later one of their interface ended (one per interface, RFC 5213
        # 5.4) leave with the others, once the sockets are open.
        self._sends_at_open.sends.extend(outcome.sends)
        # What restore() dropped (expired meanwhile, or in conflict) and what was unreadable leave the store too.
        pruning = self.store.replacing(_CacheRecords(self.lma),
                                       self._revocation_rows())  # all the BRIs owed now: those just resumed
        for _ in pruning:
            if await self.stop_began_meanwhile():
                pruning.close()  # rolled back
                return
        events = outcome.events  # told in steps too: the event log's line per binding takes 20 us
        for start in range(0, len(events), ROWS_PER_TURN):
            self.apply(Outcome(events=events[start:start + ROWS_PER_TURN]))
            if await self.stop_began_meanwhile():
                return
        restored = sum(1 for _ in self.lma.bindings())
        alarms = [event.text for event in outcome.events if isinstance(event, Alarm)]
        conflicting = sum(1 for text in alarms if text.startswith(NOT_RESTORED))
        without_ipv4 = sum(1 for text in alarms if text.startswith(RESTORED_WITHOUT_IPV4))
        held = sum(1 for entry in entries if entry.state is BceState.DEREGISTERING and entry.delete_at is None)
        self.logger.info("restored %d of %d stored bindings from %s; dropped %d expired, %d in conflict, %d unreadable",
                         restored, stored, self.config.state, len(entries) - restored - conflicting - held, conflicting,
                         stored - len(entries))
        if without_ipv4:
            self.logger.info("restored without their IPv4 home address (an alarm each says why): %s "
                             "(their home network prefixes kept)", counted(without_ipv4, "binding"))
        if held:
            self.logger.info("not restored: %s an operator's clear held for its revocation's acknowledgement",
                             counted(held, "binding"))
        ended = sum(1 for event in outcome.events if isinstance(event, BindingDeregistered))
        if ended:
            self.logger.info("de-registered %s whose interface has a later one (one session per interface, RFC 5213 "
                             "5.4; an older pmip6 stored both)", counted(ended, "stored live session"))

    async def _read_stored(self, store: BindingStore) -> tuple[list[BindingCacheEntry], int] | None:
        """Every stored binding that reads, rebuilt as it comes (parsed once), and how many the file holds (an
        unreadable row counts as one); those that do not read are logged. None when the stop began meanwhile."""
        entries: list[BindingCacheEntry] = []
        stored = 0
        unreadable: list[tuple[bytes, str]] = []
        malformed: list[tuple[bytes, str]] = []  # logged after the unreadable rows, as when every row was read first
        for mn_id, record, problem in store.records():
            stored += 1
            if stored % ROWS_PER_TURN == 0 and await self.stop_began_meanwhile():
                return None
            if problem is not None:
                unreadable.append((mn_id, problem))
                continue
            try:
                entries.append(BindingCacheEntry.from_record(shifted_times(record, -self.clock.wall_offset())))
            except ValueError as error:
                malformed.append((mn_id, str(error)))
        for mn_id, reason in unreadable:
            self.logger.warning("skipping the stored bindings of %s: %s", mn_text(mn_id), reason)
        for mn_id, reason in malformed:
            self.logger.warning("skipping a stored binding of %s: %s", mn_text(mn_id), reason)
        return entries, stored

    def _stored_revocations(self, store: BindingStore) -> list[OwedRevocation]:
        """The revocations owed when the LMA stopped; a record that is not one is skipped with a warning."""
        owed = []
        for record in store.owed_revocations():
            try:
                owed.append(OwedRevocation.from_record(record))
            except ValueError as error:
                self.logger.warning("skipping a stored revocation: %s", error)
        return owed

    def _revocation_rows(self) -> dict[int, list[Record]]:
        """The rows of the BRIs owed that were sent or ended since the last call (none: ended)."""
        return {sequence: [revocation.to_record() for revocation in owed]
                for sequence, owed in self.lma.take_revocation_changes().items()}

    def _adopt_restart_counter(self, store: BindingStore, unreadable: int, lost: list[BindingCacheEntry]) -> bool:
        """RFC 5847 3.2, decided once the stored bindings are restored: the stored Restart Counter when every live
        one came back ("MUST NOT be incremented if the recovery happens without losing state for the PMIPv6 sessions
        active at the time of failure"), a new one when one did not ("incremented every time the node reboots and
        loses PMIPv6 session state"), so that its MAG registers it again. An unreadable record counts as lost: whether
        it was live cannot be known. A binding whose lifetime ended while the LMA was down is no loss: its MAG's
        Binding Update List entry ended with the same lifetime, and nothing the LMA would hold had it kept running is
        missing; nor is a draining one, which no MAG holds any more. Written before the file is pruned, so that a
        crash in between cannot hide the loss from the next start. A restored backup (``--restored-backup``) lost the
        sessions registered since it was taken, which nothing in it tells. Whether sessions were lost."""
        sessions_lost = bool(unreadable or lost or self._restored_backup)
        counter = store.restart_counter(self.lma.heartbeat.restart_counter, sessions_lost=sessions_lost)
        if self._restored_backup:
            self.logger.warning("started from a restored backup of the state file (--restored-backup): the sessions "
                                "registered since it was taken are missing; new Restart Counter %d, so that the MAGs "
                                "register their bindings again (RFC 5847 3.2)", counter)
        if unreadable or lost:
            names = ", ".join(sorted({mn_text(entry.mn_id) for entry in lost}))
            self.logger.warning("stored sessions lost at restart: %d unreadable, %d live in conflict%s; new Restart "
                                "Counter %d, so that their MAGs register their bindings again (RFC 5847 3.2)",
                                unreadable, len(lost), f" ({names})" if names else "", counter)
        self.lma.heartbeat.restart_counter = counter
        return sessions_lost

    def signaling_peers(self) -> dict[str, str | None]:
        """Every authorized MAG (``[[mag]]``), toward the LMAA of its address family: a PBU from any other source
        is answered with status 154 whatever interface it came from."""
        ipv4 = None if self.config.ipv4_address is None else str(self.config.ipv4_address)
        ipv6 = None if self.config.ipv6_address is None else str(self.config.ipv6_address)
        return {mag.compressed: ipv4 if isinstance(mag, IPv4Address) else ipv6
                for mag in self.config.settings.authorized_mags}

    async def open_transports(self) -> None:
        if self.writer is not None:
            self.writer.start()
            self.group_commit = GroupCommit(self._apply_batch)
        if self.config.ipv4_address is not None:
            await self.open_udp(self.config.ipv4_address, self.config.udp_port, self.on_message,
                                receive_buffer=SIGNALING_RECEIVE_BUFFER, strangers_apart=True)
        if self.config.ipv6_address is not None:
            await self.open_raw_mh(self.config.ipv6_address, self.on_message, receive_buffer=SIGNALING_RECEIVE_BUFFER,
                                   strangers_apart=True)
        self._set_strangers_apart()
        self.apply(self._sends_at_open)

    def _set_strangers_apart(self) -> None:
        """At start and after a reload: give each signaling transport the ``[[mag]]`` addresses, so that it reads
        every other source from its strangers' socket; warn when it cannot, and say so when it can again. A kernel
        refusing even the fallback programs is such a warning too: after a reload the engine has the new
        configuration already, and its outcome must still be applied."""
        for name, transport in (("IPv4/UDP", self.ipv4), ("IPv6", self.ipv6)):
            if transport is None:
                continue
            try:
                problem = transport.authorize(self.lma.settings.authorized_mags)
            except OSError as error:
                problem = (f"the socket programs could not be set: {error} (the previous ones stay: a [[mag]] added "
                           "since may go unheard until a restart)")
            if problem == self._strangers_not_apart.get(name):
                continue
            self._strangers_not_apart[name] = problem
            if problem is not None:
                self.logger.warning("signaling over %s: strangers (sources that are no [[mag]]) share the MAGs' "
                                    "receive queue: %s", name, problem)
            elif name in self._strangers_not_apart:
                self.logger.info("signaling over %s: strangers (sources that are no [[mag]]) are read apart again",
                                 name)

    def send(self, send: SendMessage, /) -> None:
        """An answer to a source that is no ``[[mag]]`` leaves within ``unauthorized_answer_rate`` (module
        docstring); beyond it, it is counted as ``unauthorized_answers_dropped`` and not sent."""
        if (type(send.message) in _ANSWERS and send.destination.address not in self.lma.settings.authorized_mags
                and not self._unauthorized_answers.take(time.monotonic())):
            self.statistics.unauthorized_answers_dropped += 1
            return
        super().send(send)

    async def close(self) -> None:
        """The stop (docs/operations.md, "Stopping"): it waits for the writes of the state file queued, before the
        signaling sockets close (the messages waiting for them leave) and after (those queued meanwhile), then closes
        the file; a second SIGINT/SIGTERM ends the wait, and a write still in flight is left to its thread, the file
        open (its messages were never sent: no MAG holds what it would have stored)."""
        self.begin_stop()
        await self._stop_waits_for_writes()
        await super().close()
        if self.writer is None:
            return
        if await self._stop_waits_for_writes():
            await self.writer.close()
            return
        seconds, outcomes = self.writer.in_flight()
        self.logger.warning("stopping with a write of the state file %s not done after %.1f s: a second signal ended "
                            "the wait; the messages of %s waiting for it are not sent", self.config.state,
                            seconds or 0.0, counted(outcomes, "outcome"))

    async def _stop_waits_for_writes(self) -> bool:
        """Wait for the writes queued until they are done, or a second SIGINT/SIGTERM; whether none is in flight."""
        if self.writer is None or not self.writer.busy or self.stop_waits_ended:
            return self.writer is None or not self.writer.busy
        waits = [asyncio.ensure_future(self.writer.written()), asyncio.ensure_future(self._stop_waits_ended.wait())]
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        return not self.writer.busy

    def end_stop_waits(self, signal_name: str) -> None:
        super().end_stop_waits(signal_name)
        self._stop_waits_ended.set()

    def on_message(self, message: MobilityMessage, source: Peer, destination: Address,
                   arrived: float | None = None) -> None:
        """Hand a received message to the engine; ``arrived``, the kernel's receive timestamp (wall time, put on the
        engine's timeline), is what the Timestamp window is measured against (RFC 5213 5.5; by default the time it is
        processed)."""
        self.statistics.count_received(message)
        if type(message) is ProxyBindingUpdate and self._pbus_backlog() >= self.pbus_waiting_limit:
            self._drop_pbu()
            return
        started = time.perf_counter()
        try:
            self.apply(self.lma.receive(message, source, destination, self.now(),
                                        None if arrived is None else self.clock.received_at(arrived)))
        finally:  # observed also when a listener raised (the outcome stays in the batch, or was persisted)
            if type(message) is ProxyBindingUpdate:
                if self.group_commit is not None and self.group_commit.pending is not None:
                    self._pbus_in_batch.append(started)  # its PBA leaves after the batch's write
                elif self.writer is not None:
                    self._answered_after_write([started])
                else:
                    self._pbu_processing_seconds.observe(time.perf_counter() - started)

    def _drop_pbu(self) -> None:
        """A PBU over :attr:`pbus_waiting_limit`: dropped unread by the engine, nothing changed (a disk that hangs,
        docs/operations.md "State file and restart (LMA)"); its MAG retransmits it (RFC 5213 6.9.4)."""
        self._pbus_dropped += 1
        self._pbus_dropped_in_backlog += 1
        if self._pbus_dropped_in_backlog == 1:
            seconds = self._state_file_backlog().write_in_flight_seconds
            self.logger.warning("state file %s: %s wait for the write in flight (%.1f s so far): the PBUs received "
                                "from now on are dropped until fewer wait (their MAGs retransmit)",
                                self.config.state, counted(self._pbus_backlog(), "PBU"), seconds)

    def _pbus_backlog(self) -> int:
        """The PBUs taken up whose answers wait for a state file write, the group-commit batch's under way included."""
        return self._pbus_waiting + len(self._pbus_in_batch)

    def _answered_after_write(self, started: list[float]) -> None:
        """The PBUs taken up at ``started`` have their answers wait for the state file's write: they count in the
        backlog until then, and their processing times end with it."""
        assert self.writer is not None
        self._pbus_waiting += len(started)
        self.writer.after(partial(self._answered, started))

    def _answered(self, started: list[float]) -> None:
        self._pbus_waiting -= len(started)
        self._observe_pbus(started)
        if self._pbus_dropped_in_backlog and self._pbus_waiting < self.pbus_waiting_limit:
            self.logger.warning("state file %s: %s dropped while the backlog was full; PBUs are taken up again",
                                self.config.state, counted(self._pbus_dropped_in_backlog, "PBU"))
            self._pbus_dropped_in_backlog = 0

    def _apply_batch(self, outcomes: list[Outcome]) -> None:
        """Write and send the batch (:meth:`Daemon._apply_batch`), then observe the time of each of its PBUs, up to
        when its PBAs are handed to the socket, in ``pmip6_pbu_processing_seconds``: the state file write included
        (walkthrough 21: it stopped at the engine's answer, before either, with a state file)."""
        started, self._pbus_in_batch = self._pbus_in_batch, []
        try:
            super()._apply_batch(outcomes)
        finally:
            if started and self.writer is not None:
                self._answered_after_write(started)
            elif started:
                self._observe_pbus(started)

    def _observe_pbus(self, started: list[float]) -> None:
        """The PBUs taken up at ``started`` (``time.perf_counter()``) got their answers: observe their times."""
        done = time.perf_counter()
        for start in started:
            self._pbu_processing_seconds.observe(done - start)

    def persist(self, outcome: Outcome) -> None:
        """Write the rows of the MNs whose bindings changed, and of those a failed write left behind, and the
        revocations owed when a BRI was sent or ended meanwhile, in one transaction: a handover, clear or reload is
        never on disk without the BRI it owes the MAG (RFC 5846 8.1). Then send the outcome's messages, in the order
        the engine made them across outcomes: the writer (:mod:`pmip6.runtime.store_writer`) releases them once
        the write holding the outcome's changes committed, and an outcome with nothing to write behind the write in
        flight, but for Heartbeats (RFC 5847), which announce nothing stored: they leave at once unless a failed write
        is yet to be written again. A failed write (disk full, I/O error, read-only file system) is logged and counted
        (``store_errors``), and the messages of the outcomes it held are not sent; the daemon goes on
        (docs/operations.md, "State file"). Every later outcome, a BRI's retransmission (RFC 5846 6.3) or a
        Heartbeat included, first writes again what a failed write left, and is not sent while that still fails:
        the BRI a handover owes never leaves before the handover is on disk.

        A binding changes with each binding event, and with each accepted PBU: it moves the BCE's Sequence Number
        and Timestamp (RFC 5213 5.5), even the repeated de-registration of a draining BCE, which has no event; and
        as the engine says (:meth:`LocalMobilityAnchor.take_record_changes`: a V-flag BRI's BRA). A BindingRestored
        is no change: the start that restored the binding wrote its row as restored (:meth:`prepare`)."""
        if self.writer is None:
            self.lma.take_revocation_changes()  # nowhere to keep them
            self.lma.take_record_changes()
            super().persist(outcome)
            return
        changed = take_changed_rows(self.lma, outcome)
        revocations = self._revocation_rows()
        # Heartbeats (RFC 5847) announce nothing stored: they need not wait behind a write in flight (one that hangs).
        ordered = bool(changed or revocations) or any(type(send.message) is not Heartbeat for send in outcome.sends)
        self.writer.write(changed, revocations, partial(self._release, outcome.sends), ordered=ordered,
                          peers=shifted_reports(self.lma.heartbeat.take_counter_changes(), self.lma.wall_offset))

    def _release(self, sends: list[SendMessage], written: bool) -> None:
        """Send what waited for a write, unless it failed."""
        if written:
            for send in sends:
                self.send(send)

    def _write_failed(self, changed: set[bytes], error: Exception) -> None:
        self.statistics.store_errors += 1
        written = (f"the bindings of {listed(sorted(mn_text(mn_id) for mn_id in changed))}" if changed
                   else "the revocations owed or the Restart Counters the MAGs reported")
        self.logger.error("state file %s: writing %s failed, nothing sent: %s", self.config.state, written, error)

    def _state_file_backlog(self) -> StateFileBacklog:
        seconds, outcomes = self.writer.in_flight() if self.writer is not None else (None, 0)
        return StateFileBacklog(seconds or 0.0, outcomes, self._pbus_backlog(), self._pbus_dropped)

    def _state_file_row(self) -> dict[str, Any]:
        """``pmip6 show stats``' ``state_file``: :class:`StateFileBacklog`, the seconds to the millisecond."""
        backlog = self._state_file_backlog()
        return {**asdict(backlog), "write_in_flight_seconds": round(backlog.write_in_flight_seconds, 3)}

    def _records_of(self, mn_ids: set[bytes]) -> dict[bytes, list[Record]]:
        return {mn_id: records_of_mn(self.lma, mn_id) for mn_id in mn_ids}


def take_changed_rows(lma: LocalMobilityAnchor, outcome: Outcome) -> set[bytes]:
    """The MNs whose rows in the state file ``outcome`` changed (:meth:`LmaDaemon.persist`): those of its binding
    events but BindingRestored, of its accepting PBAs (each moves its BCE's Sequence Number and Timestamp) and those
    the engine names (:meth:`LocalMobilityAnchor.take_record_changes`, which this takes)."""
    changed = {event.session.mn_id for event in outcome.events
               if isinstance(event, _BINDING_CHANGES) and not isinstance(event, BindingRestored)}
    changed |= lma.take_record_changes()
    for send in outcome.sends:
        pba = send.message
        if type(pba) is ProxyBindingAcknowledgement and pba.status < Status.REASON_UNSPECIFIED:
            mn_id = pba.option(MNIdentifierOption)  # the first option (acknowledgement.py): found at once
            if mn_id is not None:
                changed.add(mn_id.identifier)
    return changed


def live_not_restored(lma: LocalMobilityAnchor, entries: list[BindingCacheEntry],
                      now: float) -> list[BindingCacheEntry]:
    """The stored live bindings (active, lifetime not over) that :meth:`LocalMobilityAnchor.restore` dropped: those
    in conflict with the configuration or with an entry restored before them."""
    return [entry for entry in entries if entry.state is BceState.ACTIVE and entry.expires_at > now
            and not any(kept is entry for kept in lma.bindings_of(entry.mn_id))]


def whole_rows(entries: list[BindingCacheEntry], size: int) -> Iterator[list[BindingCacheEntry]]:
    """``entries`` (a row's records together, as :meth:`BindingStore.records` reads them) in runs of ``size`` or a
    little more, each ending where a row does: every binding of an MN is restored in one call, so that
    ``LocalMobilityAnchor.restore`` keeps one session per interface of it (RFC 5213 5.4) as when given them all."""
    start = 0
    while start < len(entries):
        end = min(start + size, len(entries))
        while end < len(entries) and entries[end].mn_id == entries[end - 1].mn_id:
            end += 1
        yield entries[start:end]
        start = end


def records_of_mn(lma: LocalMobilityAnchor, mn_id: bytes) -> list[Record]:
    """The row of ``mn_id`` in the state file: the records of its bindings, their expiry and deletion times as Unix
    time (the engine's timeline plus its ``wall_offset``), so that a restart after a step of the wall clock keeps what
    was left of them (docs/operations.md, "Wall clock steps")."""
    return [shifted_times(entry.to_record(), lma.wall_offset) for entry in lma.bindings_of(mn_id)]


def shifted_times(record: _Record, shift: float) -> _Record:
    """A binding's ``record`` with its expiry and deletion times moved by ``shift`` seconds: from the engine's
    timeline to Unix time (its ``wall_offset``) when written, back (minus the offset then) when read. A stored record
    that is no binding's (not a dict, a time of the wrong type) is left for ``BindingCacheEntry.from_record`` to
    refuse."""
    if isinstance(record, dict):
        for key in _STORED_TIMES:
            if type(record.get(key)) in (int, float):
                record[key] += shift
    return record


def shifted_reports(counters: Mapping[Address, _Report], shift: float) -> dict[Address, _Report]:
    """The Restart Counters the peers reported (RFC 5847 3.2) with when, moved by ``shift`` seconds as
    :func:`shifted_times` moves a binding's times: the state file compares the two (a binding registered after its MAG
    last reported the counter it replaced is the restarted MAG's own, ``LocalMobilityAnchor._receive_heartbeat``).
    None (a peer forgotten) stays None."""
    return {address: None if reported is None else (reported[0], reported[1] + shift)
            for address, reported in counters.items()}


class _CacheRecords(Mapping[bytes, list[Record]]):
    """The records of every MN-ID the LMA's binding cache holds, each made when it is read (by
    :meth:`BindingStore.replace_all`, a row at a time), not all at once."""

    def __init__(self, lma: LocalMobilityAnchor) -> None:
        self._lma = lma
        self._mn_ids = dict.fromkeys(entry.mn_id for entry in lma.bindings())

    def __getitem__(self, mn_id: bytes) -> list[Record]:
        if mn_id not in self._mn_ids:
            raise KeyError(mn_id)
        return records_of_mn(self._lma, mn_id)

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._mn_ids)

    def __len__(self) -> int:
        return len(self._mn_ids)


def build_lma_daemon(config: LmaConfig, options: DaemonOptions, *, restored_backup: bool = False) -> LmaDaemon:
    """Assemble the LMA daemon; other components (e.g. the data plane) attach here with
    ``daemon.add_event_listener`` and ``daemon.add_component``. ``restored_backup``: see :class:`LmaDaemon`."""
    if restored_backup and config.state is None:
        raise ConfigError("lma.state", "not set, and --restored-backup says the state file is a restored backup")
    daemon = LmaDaemon(config, options, restored_backup=restored_backup)
    pump = lma_pump(config)
    attach_dataplane(daemon, pump)
    attach_anchor_dhcp(daemon, config, pump, daemon.lma.bindings_of, lambda: daemon.lma.settings.authorized_mags)
    if pump is not None:
        daemon.dataplane_tenants = frozenset(tenant.name for tenant in pump.settings.tenants)
    return daemon
