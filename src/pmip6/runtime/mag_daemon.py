"""``pmip6 mag``: the Mobile Access Gateway engine on real sockets (RFC 5213 section 6, RFC 5844, RFC 5845).

The MAG signals its LMA over IPv4/UDP (from port ``udp_port``, 5436 by default, or an ephemeral port when
that one is taken, e.g. by an LMA on the same host) or over raw IPv6 Mobility Headers. Mobile nodes are
attached and detached through the control socket (``pmip6 mag attach`` / ``detach``), which waits for the
outcome. On SIGINT/SIGTERM every binding is ended first (de-registered, or with ``global_revocation`` revoked with
one Binding Revocation Indication, RFC 5846 9.2), waiting up to ``shutdown_timeout`` for the LMA's answers;
``pmip6 mag revoke-all`` does the same without stopping. :func:`build_mag_daemon` is the one place the daemon is
assembled.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, replace
from functools import partial
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from pmip6.core.bul import BindingUpdateListEntry, BulState
from pmip6.core.events import (
    Address,
    Alarm,
    BindingEstablished,
    BindingRemoved,
    BindingUpdated,
    Event,
    ForeignRegistration,
    MessageIgnored,
    Outcome,
    Peer,
    RegistrationRejected,
    TunnelSession,
    mn_text,
)
from pmip6.core.mag import MobileAccessGateway
from pmip6.core.mag_settings import AttachRequest
from pmip6.dataplane.dhcp_server import Ipv4Triggers
from pmip6.runtime.config import MagConfig, changed_keys, load_mag_config
from pmip6.runtime.control import DEFAULT_WAIT, ControlError, Handler, Request, arguments, utf8_argument
from pmip6.runtime.daemon import Daemon, DaemonOptions, fresh_restart_counter
from pmip6.runtime.dataplane_config import parse_mag_dataplane
from pmip6.runtime.dataplane_daemon import (
    arp_triggers,
    attach_dataplane,
    attach_warning,
    dhcp_server,
    mag_pump,
    relay_agent,
    router_advertisements,
)
from pmip6.runtime.metrics import status_name
from pmip6.runtime.views import NOT_NEGOTIATED
from pmip6.naming import counted, endpoint_text
from pmip6.wire.messages import (
    BindingRevocationIndication,
    MobilityMessage,
    ProxyBindingAcknowledgement,
    ProxyBindingUpdate,
)
from pmip6.wire.numbers import Status
from pmip6.wire.option_codec import MAX_MN_IDENTIFIER_LENGTH, MAX_OPTION_LENGTH
from pmip6.wire.options import MNIdentifierOption

_SHUTDOWN_POLL = 0.02
GLOBAL_REVOCATION_SHARE = 0.75
"""The share of ``shutdown_timeout`` a stopping MAG waits for its global BRI's BRA before it falls back to
de-registrations, which have the rest: with the defaults (2 s) the BRI is retransmitted once at 1 s (RFC 5846 6.3,
InitMINDelayBRIs) and given up at 1.5 s, where its own schedule (given up at 3 s) would outlast the daemon."""
_REMOVALS = {
    "unacknowledged": "no PBA acknowledged the de-registration: the binding was removed at this MAG only",
    "revoked": "the LMA revoked the binding (RFC 5846) before the detach: removed at this MAG",
    None: "the mobile node had no registration (none was accepted, or it failed or was rejected): removed at this MAG",
}
"""What a ``detach`` reports when the MN's entry went without the LMA confirming a de-registration, by the
BindingRemoved reason (None: no BindingRemoved, as for an entry whose registration had failed)."""
_RESTART_ONLY = {"ipv4_address": "mag.ipv4_address", "ipv6_address": "mag.ipv6_address", "settings.lma": "mag.lma",
                 "udp_port": "mag.udp_port", "settings.use_timestamps": "mag.use_timestamps", "control": "mag.control",
                 "metrics": "mag.metrics", "dataplane": "dataplane"}
"""MagConfig fields a reload leaves for the next restart (sockets, files, the data plane, and what identifies the
MAG's sessions to its LMA: see ``MobileAccessGateway.reconfigure``): their keys in mag.toml."""
_ENDED_BY = {"revoked_by_mag": "revoked", "revoked": "revoked", "deregistered": "deregistered"}
"""How a ``revoke-all`` counts a binding that left, by its BindingRemoved reason: ended by the LMA's revocation (the
BRA to the MAG's BRI, or a BRI of the LMA's own), by a de-registration the LMA acknowledged, else "unacknowledged"
(no PBA answered, the LMA rejected it, it expired, the MN attached again, or it had failed and went without an
event)."""
AttachCheck = Callable[[AttachRequest], Awaitable[str | None]]
"""A component's warning about an attach that registered the MN (see :meth:`MagDaemon.add_attach_check`)."""


@dataclass(slots=True)
class _Waiter:
    """A control request waiting for an MN's registration (``attach``, ``refresh``) or removal (``detach``), and
    what the exchange told it meanwhile: the status of the PBA that registered the MN (0, 2, 3, ...), the
    rejection or first alarm that ended the registration, and how many PBAs naming the MN the engine ignored
    (RFC 5213 6.9.1.2 item 5), with the first one's reason. They live as long as the request: nothing is kept per
    MN-ID once no command waits for it."""

    mn_id: bytes
    attach: bool
    registered: bool = True
    """For a ``detach``: whether a registration of the MN had been accepted here."""
    accepted: int = Status.ACCEPTED.value
    failure: dict[str, Any] | None = None
    ignored: int = 0
    first_ignored: str | None = None
    future: asyncio.Future[dict[str, Any]] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


@dataclass(slots=True)
class _Ending:
    """Every binding being ended (``revoke-all``, or the daemon stopping): the entries held when it started, by MN-ID,
    and how each one that left went (:data:`_ENDED_BY`). An entry made meanwhile (the MN attached again) is not one
    of them.

    Each outcome costs what it touches, not the size of the Binding Update List: the engine removes an entry whose
    registration stands accepted only with a BindingRemoved (``MobileAccessGateway._remove``; a rejected refresh
    says BindingRemoved while the entry stays, failed), so only the MN-IDs those name are looked up, and every time
    the held entries that may go without one (:attr:`unannounced`)."""

    held: dict[bytes, BindingUpdateListEntry]
    ended: dict[bytes, str] = field(default_factory=dict)
    unannounced: dict[bytes, BindingUpdateListEntry] = field(init=False)
    """Held entries not yet ended whose registration does not stand accepted (still registering, or failed)."""

    def __post_init__(self) -> None:
        self.unannounced = {mn_id: entry for mn_id, entry in self.held.items() if entry.registered_at is None}

    @property
    def left(self) -> int:
        return len(self.held) - len(self.ended)

    def settle(self, outcome: Outcome, current: Callable[[bytes], BindingUpdateListEntry | None]) -> None:
        """Note each held entry that is no longer the MAG's (``current(mn_id)``) after ``outcome``, by its
        BindingRemoved in it."""
        reasons = {event.session.mn_id: event.reason for event in outcome.events if isinstance(event, BindingRemoved)}
        for mn_id in reasons.keys() | self.unannounced.keys():
            entry = self.held.get(mn_id)
            if entry is None or mn_id in self.ended:
                continue
            if current(mn_id) is not entry:
                self.ended[mn_id] = _ENDED_BY.get(reasons.get(mn_id, ""), "unacknowledged")
                self.unannounced.pop(mn_id, None)
            elif entry.registered_at is None:
                self.unannounced[mn_id] = entry

    def result(self) -> dict[str, int]:
        counts = Counter(self.ended.values())
        return {"bindings": len(self.held), "left": self.left, "revoked": counts["revoked"],
                "deregistered": counts["deregistered"], "unacknowledged": counts["unacknowledged"]}


class MagDaemon(Daemon):
    """The MAG engine, its socket towards the LMA and its control commands."""

    at_lma = False

    def __init__(self, config: MagConfig, options: DaemonOptions) -> None:
        config = replace(config, settings=replace(config.settings, fixed_link_local=fixed_link_local(config)))
        self.config = config
        self.mag = MobileAccessGateway(config.settings, restart_counter=fresh_restart_counter())
        super().__init__(self.mag, logging.getLogger("pmip6.mag"), config.path, config.control, config.metrics, options)
        self._waiters: list[_Waiter] = []
        self._ending: list[_Ending] = []
        self._attach_checks: list[AttachCheck] = []
        self.add_event_listener(self._note_failure)
        self.add_event_listener(self._count_foreign_registration)
        self.add_binding_columns(self._link_columns)

    def _link_columns(self, session: TunnelSession) -> dict[str, Any]:
        """What the MN's IPv4 link needs besides its home address, as the PBA gave it (the link-local address is in
        every row, :func:`~pmip6.runtime.views.binding_row`): the prefix length (RFC 5844 3.1.3, the IPv4 Home Address
        Reply option), the default router (3.3.3) and the DHCP support mode (3.3.4: "server" when its S flag was set,
        else "relay" as 3.2.3.2 says): what the MAG's DHCP server hands out with the address (docs/dataplane.md,
        "DHCP (RFC 5844 3.4.1)")."""
        entry = self.mag.entry(session.mn_id)
        if entry is None or session.ipv4_home_address is None:
            return {"ipv4_prefix_length": None, "ipv4_default_router": None, "ipv4_dhcp_support_mode": None}
        router = entry.ipv4_default_router
        return {"ipv4_prefix_length": entry.ipv4_prefix_length,
                "ipv4_default_router": None if router is None else str(router),
                "ipv4_dhcp_support_mode": "server" if entry.dhcp_server else "relay"}

    def expiry(self, mn_id: bytes) -> float | None:
        """When the MN's binding ends (its BUL entry's ``expires_at``, Unix time); None: no entry, or not registered."""
        entry = self.mag.entry(mn_id)
        return None if entry is None else entry.expires_at

    def ipv4_triggers(self) -> Ipv4Triggers:
        """The DHCP triggers of the signaling (RFC 5844 3.4.3): the engine's ``request_ipv4`` and ``release_ipv4``,
        applied now."""
        return Ipv4Triggers(self._request_ipv4, partial(self._trigger, self.mag.release_ipv4))

    def _request_ipv4(self, mn_id: bytes, address: IPv4Address | None) -> bool:
        """The engine's ``request_ipv4`` naming ``address`` (the one the MN's DHCP client uses), applied now."""
        return self._trigger(partial(self.mag.request_ipv4, address=address), mn_id)

    def _trigger(self, change: Callable[[bytes, float], Outcome], mn_id: bytes) -> bool:
        """Apply what ``change`` makes of the MN's session now; whether the engine started the exchange (its PBU sent
        or deferred by the rate limit) rather than ignoring the trigger."""
        outcome = change(mn_id, self.now())
        self.apply(outcome)
        return not any(isinstance(event, MessageIgnored) for event in outcome.events)

    def add_attach_check(self, check: AttachCheck) -> None:
        """Add ``check(request)``'s warning, if any, to the answer of an attach that registered the MN (e.g. the
        data plane could not set up the MN's access interface): ``warnings``, printed by ``pmip6 mag attach``."""
        self._attach_checks.append(check)

    def control_handlers(self) -> dict[str, Handler]:
        return {**super().control_handlers(), "attach": self._attach_command, "detach": self._detach_command,
                "refresh": self._refresh_command, "revoke-all": self._revoke_all_command}

    def binding_entries(self) -> Iterator[tuple[TunnelSession, float | None, str, Address | None]]:
        return ((entry.session(), entry.expires_at, str(entry.state), None) for entry in list(self.mag.entries()))

    def gre_states(self) -> Iterator[tuple[bool, int | None, int | None]]:
        """Only the entries a PBA has settled: one still registering, or failed, is no GRE-off binding. The keys of
        their sessions: a downlink key a refresh offers is none until its PBA."""
        return ((entry.gre_enabled, entry.session_downlink_key, entry.uplink_key) for entry in self.mag.entries()
                if entry.state not in NOT_NEGOTIATED)

    def reconfigure(self) -> tuple[Outcome, list[str]]:
        config = load_mag_config(self.config_path)
        parse_mag_dataplane(config.dataplane)
        restart_needed = changed_keys(self.config, config, _RESTART_ONLY)
        running = self.config.settings
        settings = replace(config.settings, proxy_coa=running.proxy_coa, lma=running.lma,
                           use_timestamps=running.use_timestamps, fixed_link_local=running.fixed_link_local)
        self.mag.reconfigure(settings)
        self.config = replace(self.config, settings=settings, shutdown_timeout=config.shutdown_timeout)
        return Outcome(), restart_needed

    def signaling_peers(self) -> dict[str, str | None]:
        """The LMA, toward the Proxy-CoA the MAG signals from."""
        lma = self.config.settings.lma
        local = self.config.ipv4_address if lma.port is not None else self.config.ipv6_address
        return {lma.address.compressed: None if local is None else str(local)}

    async def open_transports(self) -> None:
        lma = self.config.settings.lma
        if lma.port is not None:
            assert self.config.ipv4_address is not None
            await self.open_udp(self.config.ipv4_address, self.config.udp_port, self.on_message,
                                fallback_to_ephemeral=True)
        else:
            assert self.config.ipv6_address is not None
            await self.open_raw_mh(self.config.ipv6_address, self.on_message)
            self._warn_udp_formats_over_ipv6()
        # Only a UDP socket can take the LMA's own endpoint; raw MH sockets on one address both see every message.
        if self.ipv4 is not None and self.ipv4.local == lma:
            self.logger.warning("this MAG signals from %s, its LMA's address (lma), so it would send its PBUs to "
                                "itself: start the LMA first, or give the MAG its own address or udp_port",
                                endpoint_text(lma.address, lma.port))

    def _warn_udp_formats_over_ipv6(self) -> None:
        """docs/dataplane.md "An IPv6-only MAG-LMA link": the TLV header (RFC 5845 7.2) and RFC 5844's IPv4-UDP mode
        are UDP-over-IPv4 formats, so an IPv6 ``lma`` makes ``tlv`` and ``force_udp_encapsulation`` ignored: say so."""
        settings = self.config.settings
        ignored = [key for key, value in (("tlv", settings.tlv),
                                          ("force_udp_encapsulation", settings.force_udp_encapsulation)) if value]
        if ignored:
            self.logger.warning("%s = true ignored: the LMA %s is reached over IPv6, and the TLV header (RFC 5845 7.2) "
                                "and RFC 5844's IPv4-UDP mode are UDP-over-IPv4 formats; the tunnel is GRE or "
                                "IP-in-IP over IPv6", " and ".join(ignored), settings.lma.address)

    def on_message(self, message: MobilityMessage, source: Peer, destination: Address,
                   arrived: float | None = None) -> None:
        """Hand a received message to the engine at the time it is processed: a MAG checks no Timestamp window,
        so ``arrived`` (a :data:`~pmip6.runtime.transport.MessageHandler`'s arrival time) does not matter."""
        self.statistics.count_received(message)
        outcome = self.mag.receive(message, source, self.now())
        if type(message) is ProxyBindingAcknowledgement and self._waiters:
            self._note_acceptance(message.status, outcome)
            ignored = [event for event in outcome.events if isinstance(event, MessageIgnored)]
            if ignored and len(ignored) == len(outcome.events) and not outcome.sends:  # the PBA changed nothing
                self._note_ignored(message, ignored[0])
        self.apply(outcome)

    def _note_acceptance(self, status: int, outcome: Outcome) -> None:
        """Tell the commands waiting for each MN the PBA registered its ``status``, for their result."""
        for event in outcome.events:
            if isinstance(event, BindingEstablished | BindingUpdated):
                for waiter in self._waiting_for(event.session.mn_id):
                    waiter.accepted = int(status)

    def _note_ignored(self, pba: ProxyBindingAcknowledgement, ignored: MessageIgnored) -> None:
        """Count a PBA the engine ignored for the commands waiting for the MN it names (its MN-ID option, else the
        sequence number of one of the MN's transmissions), and log the first one for each command at warning
        level: the engine's MessageIgnored is logged at debug level, and one line per packet could flood the log."""
        option = pba.option(MNIdentifierOption)
        if option is not None:
            waiters = list(self._waiting_for(option.identifier))
        else:
            waiters = [waiter for waiter in self._waiters if (entry := self.mag.entry(waiter.mn_id)) is not None
                       and entry.pending is not None and pba.sequence in entry.pending.sent_times]
        lma = self.config.settings.lma
        reason = ignored.reason
        if ignored.peer is not None and ignored.peer.address != lma.address:
            reason += f" (this MAG's LMA is {lma.address})"
        for waiter in waiters:
            waiter.ignored += 1
            if waiter.first_ignored is None:
                waiter.first_ignored = reason
                self.logger.warning("ignored a PBA for %s: %s; further ones for this %s are logged at debug level",
                                    mn_text(waiter.mn_id), reason, "registration" if waiter.attach else "detach")

    def _waiting_for(self, mn_id: bytes) -> Iterator[_Waiter]:
        return (waiter for waiter in self._waiters if waiter.mn_id == mn_id)

    def apply(self, outcome: Outcome) -> None:
        super().apply(outcome)
        if self._waiters:
            self._settle_waiters(outcome)
        for ending in self._ending:
            ending.settle(outcome, self.mag.entry)

    def timer_outcome(self, now: float) -> Outcome:
        outcome = self.mag.handle_timer(now)
        for send in outcome.sends:
            if type(send.message) is not ProxyBindingUpdate:
                continue
            option = send.message.option(MNIdentifierOption)
            entry = self.mag.entry(option.identifier) if option is not None else None
            if entry is not None and entry.pending is not None and entry.pending.backoff.transmissions > 1:
                self.statistics.retransmissions += 1
        return outcome

    async def deregister_all(self) -> None:
        """End every binding (``MobileAccessGateway.shutdown``) and wait (up to ``shutdown_timeout``, or until a second
        SIGINT/SIGTERM, :meth:`Daemon.end_stop_waits`) until the LMA confirmed. A global revocation's BRA is waited
        for GLOBAL_REVOCATION_SHARE of that time, so that its fallback de-registrations still leave before the daemon
        exits (RFC 5846 6.3, 9.2)."""
        timeout = self.config.shutdown_timeout
        outcome, ending = await self._end_every_binding(timeout,
                                                        timeout * GLOBAL_REVOCATION_SHARE if timeout else None)
        if not ending.left:
            return
        revoked = _sends_revocation(outcome)
        unanswered = (" (the global revocation's BRI not acknowledged)"
                      if revoked and not self.mag.global_revocation_refused else "")
        self.logger.warning("stopping with %d bindings not confirmed de-registered%s%s", ending.left, unanswered,
                            ": a second signal ended the wait" if self.stop_waits_ended else "")

    async def _end_every_binding(self, timeout: float,
                                 revocation_wait: float | None = None) -> tuple[Outcome, _Ending]:
        """Apply ``MobileAccessGateway.shutdown`` and wait up to ``timeout`` seconds until none of the entries held
        before it is left (an MN attached meanwhile is not waited for), or until the stop's waits ended; its outcome,
        and how they ended."""
        ending = _Ending({entry.mn_id: entry for entry in self.mag.entries()})
        self._ending.append(ending)
        try:
            outcome = self.mag.shutdown(self.now(), revocation_wait)
            self.apply(outcome)
            deadline = time.monotonic() + timeout
            while ending.left and time.monotonic() < deadline and not self.stop_waits_ended:
                await asyncio.sleep(_SHUTDOWN_POLL)
        finally:
            self._ending.remove(ending)
        return outcome, ending

    async def _revoke_all_command(self, request: Request) -> dict[str, Any]:
        """End every binding without stopping (``pmip6 mag revoke-all``): one global BRI with ``global_revocation``
        (RFC 5846 9.2), retransmitted on its own schedule (6.3), else (or after the LMA's refusal, or no answer) a
        de-registration per binding. The result settles each binding held at the start by how it left
        (:data:`_ENDED_BY`): ``revoked`` by the LMA, ``deregistered`` by a de-registration the LMA acknowledged,
        ``unacknowledged`` (removed at this MAG only: the LMA may still hold it), or ``left`` when the wait ran out;
        the four add up to ``bindings``."""
        arguments(request, "revoke-all", "timeout")
        outcome, ending = await self._end_every_binding(_timeout(request))
        revoked = _sends_revocation(outcome)
        return {**ending.result(), "global_revocation": revoked,
                "global_revocation_refused": self.mag.global_revocation_refused}

    # ---- attach / detach ---------------------------------------------------------------------------

    async def _attach_command(self, request: Request) -> dict[str, Any]:
        arguments(request, "attach", "mn_id", "att", "hi", "ll_id", "interface", "ipv4", "ipv6", "timeout")
        attach, timeout = _attach_request(request), _timeout(request)
        try:
            outcome = self.mag.attach(attach, self.now())
        except ValueError as error:
            raise ControlError(str(error)) from None
        result = await self._await_outcome(_Waiter(attach.mn_id, attach=True), outcome, timeout)
        if result["outcome"] == "registered":
            warnings = [warning for check in self._attach_checks if (warning := await check(attach)) is not None]
            if warnings:
                result["warnings"] = warnings
        return result

    async def _detach_command(self, request: Request) -> dict[str, Any]:
        arguments(request, "detach", "mn_id", "timeout")
        mn_id, timeout = _mn_id(request), _timeout(request)
        entry = self.mag.entry(mn_id)
        registered = entry is not None and entry.registered_at is not None
        return await self._await_outcome(_Waiter(mn_id, attach=False, registered=registered),
                                         self.mag.detach(mn_id, self.now()), timeout)

    async def _refresh_command(self, request: Request) -> dict[str, Any]:
        """Re-register now (RFC 5213 6.9.1.3), e.g. after an LMA restart."""
        arguments(request, "refresh", "mn_id", "timeout")
        mn_id, timeout = _mn_id(request), _timeout(request)
        return await self._await_outcome(_Waiter(mn_id, attach=True), self.mag.refresh(mn_id, self.now()), timeout)

    async def _await_outcome(self, waiter: _Waiter, outcome: Outcome, timeout: float) -> dict[str, Any]:
        ignored = [event for event in outcome.events if isinstance(event, MessageIgnored)]
        if ignored and not outcome.sends:
            self.apply(outcome)
            return {"outcome": "ignored", "reason": ignored[0].reason}
        self._waiters.append(waiter)
        self.apply(outcome)
        try:
            return await asyncio.wait_for(asyncio.shield(waiter.future), timeout)
        except TimeoutError:
            entry = self.mag.entry(waiter.mn_id)
            return _timed_out(waiter, None if entry is None else entry.lma.address, timeout)
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _count_foreign_registration(self, event: Event) -> None:
        """``foreign_registrations`` in ``show stats`` and Prometheus (:mod:`pmip6.core.foreign_registration`)."""
        if type(event) is ForeignRegistration:
            self.statistics.foreign_registrations += 1

    def _note_failure(self, event: Event) -> None:
        """Tell the commands waiting for the MN of a rejection, or of an alarm unless a failure came first. A 156 is
        no failure yet: the engine sends the PBU again (RFC 5213 6.9.1.2 item 9), and the alarm that ends the
        retransmissions says whether the last answer was a 156 too."""
        if isinstance(event, RegistrationRejected):
            for waiter in self._waiting_for(event.mn_id):
                waiter.failure = {"outcome": "rejected", "status": event.status,
                                  "status_name": status_name(event.status)}
        elif isinstance(event, Alarm) and event.mn_id is not None:
            for waiter in self._waiting_for(event.mn_id):
                if waiter.failure is None or waiter.failure.get("status") == Status.TIMESTAMP_MISMATCH:
                    waiter.failure = {"outcome": "failed", "reason": event.text}

    def _registered_result(self, waiter: _Waiter, entry: BindingUpdateListEntry, given_up: str | None,
                           accepted: bool, now: float) -> dict[str, Any]:
        """The result of a command whose registered entry has nothing in flight any more: its exchange ended."""
        if given_up is not None:
            return {"outcome": "failed", "reason": given_up}
        if _over(entry.expires_at, now):
            # E.g. a PBA granting lifetime 0: the engine removes the entry at its next timer ("expired").
            return {"outcome": "failed", "reason": f"the LMA accepted with a lifetime of {entry.granted_lifetime} s,"
                                                   " over by the time its PBA came: the binding is removed at once"}
        if not accepted:
            # No PBA accepted it and no Alarm came: a refresh given up again in an outage whose Alarm came before
            # (one per outage, core/mag.py).
            return {"outcome": "failed", "reason": "no usable PBA from the LMA; the re-registration is tried again "
                                                   f"every {self.mag.settings.max_bindack_timeout:g} s until the "
                                                   "binding expires"}
        status = waiter.accepted
        return {"outcome": "registered", "status": status, "status_name": status_name(status),
                "binding": self.binding_row(entry.session(), entry.expires_at, str(entry.state), now)}

    def _settle_waiters(self, outcome: Outcome) -> None:
        """Answer each waiting command whose MN's exchange ``outcome`` ended: a look-up per command waiting, whatever
        the number of MNs."""
        removed = {event.session.mn_id: event.reason for event in outcome.events if isinstance(event, BindingRemoved)}
        rejected = {event.mn_id: event.status for event in outcome.events if isinstance(event, RegistrationRejected)}
        registered = {event.session.mn_id for event in outcome.events
                      if isinstance(event, BindingEstablished | BindingUpdated)}
        # A refresh given up (no PBA after the retransmissions: the engine tries again every MAX_BINDACK_TIMEOUT,
        # RFC 5213 6.9.4) or halted (an echo mismatch) leaves the entry registered, under its old lifetime, with an
        # Alarm and no registration.
        given_up = {event.mn_id: event.text for event in outcome.events
                    if isinstance(event, Alarm) and event.mn_id is not None and event.mn_id not in registered}
        now = self.now()
        for waiter in list(self._waiters):
            entry = self.mag.entry(waiter.mn_id)
            result: dict[str, Any] | None = None
            if not waiter.attach:
                if entry is None:
                    result = _detached(removed.get(waiter.mn_id), rejected.get(waiter.mn_id), waiter.registered)
            elif entry is None:
                result = waiter.failure or {"outcome": "failed", "reason": "entry removed"}
            elif entry.state is BulState.REGISTERED and entry.pending is None:
                result = self._registered_result(waiter, entry, given_up.get(waiter.mn_id),
                                                 waiter.mn_id in registered, now)
            elif entry.state is BulState.FAILED:
                result = waiter.failure or {"outcome": "failed", "reason": "registration failed"}
            if result is not None:
                if waiter.first_ignored is not None and "reason" in result:
                    result = {**result, "reason": f"{result['reason']}: {counted(waiter.ignored, 'PBA')} ignored, "
                                                  f"the first: {waiter.first_ignored}"}
                self._waiters.remove(waiter)
                if not waiter.future.done():
                    waiter.future.set_result(result)


def fixed_link_local(config: MagConfig) -> IPv6Address | None:
    """RFC 5213 6.8's FixedMAGLinkLocalAddressOnAllAccessLinks for the engine: the data plane's ``access_link_local``;
    None (ALL_ZERO: the LMA provides one per MN) without it, and for a MAG without a data plane, which configures no
    access link but still asks, so that the LMA's BCE holds the address for the MN's next MAG (6.9.1.1 item 9). Like
    the ``[dataplane]`` table it is read at the start only."""
    dataplane = parse_mag_dataplane(config.dataplane)
    return None if dataplane is None else dataplane.access_link_local


def _over(expires_at: float | None, now: float) -> bool:
    """Whether a registration's lifetime, counted from its PBU's transmission (RFC 6275 11.7.3), has ended."""
    return expires_at is not None and expires_at <= now


def _timed_out(waiter: _Waiter, lma: Address | None, timeout: float) -> dict[str, Any]:
    """A command whose wait ended first: what it waited for (a PBA from ``lma``, the MN's LMA), or the LMA's last
    answer if a rejection came meanwhile: a 156 does not end the exchange (RFC 5213 6.9.1.2 item 9: it is sent again
    on the back-off schedule, about a minute with the defaults), yet it tells the operator to look at the clocks
    now. PBAs that came and were ignored (:meth:`MagDaemon._note_ignored`: a 156 stamped with a clock more than a
    minute off, say) are no silence: the reason says so, with the first one's reason."""
    if waiter.failure is None or "status" not in waiter.failure:
        at = "" if lma is None else f" at {lma}"
        if waiter.first_ignored is not None:
            return {"outcome": "timeout", "reason": f"{counted(waiter.ignored, 'PBA')} from the LMA{at} within "
                                                    f"{timeout:g} s, all ignored, the first: {waiter.first_ignored}"}
        return {"outcome": "timeout", "reason": f"no PBA from the LMA{at} within {timeout:g} s"}
    return {"outcome": "timeout", "last_answer": {"status": waiter.failure["status"],
                                                  "status_name": waiter.failure["status_name"]}}


def _detached(reason: str | None, status: int | None, registered: bool) -> dict[str, Any]:
    """A ``detach`` result once the MN's entry is gone: how it went (BindingRemoved reason, rejection status) and
    whether the MN had a registration accepted here (an unanswered de-registration of one that had none is told
    as such)."""
    if status is not None:
        return {"outcome": "removed", "reason": f"the LMA rejected the de-registration with status {status} "
                                                f"({status_name(status)}): removed at this MAG only"}
    if reason == "deregistered":
        return {"outcome": "deregistered"}
    if reason == "unacknowledged" and not registered:
        reason = None
    return {"outcome": "removed", "reason": _REMOVALS.get(reason, reason)}


def _fitting(key: str, octets: bytes, longest: int, option: str) -> bytes:
    """``octets`` (the argument ``key``), refused with a clear error unless ``option`` can carry them."""
    if len(octets) > longest:
        raise ControlError(f'"{key}" is {len(octets)} octets; the {option} holds at most {longest}')
    return octets


def _mn_id(request: Request) -> bytes:
    """The ``mn_id`` argument as UTF-8, at most MAX_MN_IDENTIFIER_LENGTH octets."""
    return _fitting("mn_id", utf8_argument(request, "mn_id"), MAX_MN_IDENTIFIER_LENGTH,
                    "MN Identifier option (RFC 4283 section 3)")


def _timeout(request: Request) -> float:
    """How long a command waits for the LMA's answer; checked before the command changes anything."""
    timeout = request.get("timeout", DEFAULT_WAIT)
    if not isinstance(timeout, int | float) or isinstance(timeout, bool) or not 0 < timeout < math.inf:
        raise ControlError('"timeout" must be a positive number of seconds')
    return timeout


def _integer(request: Request, key: str, default: int | None, minimum: int, maximum: int) -> int:
    value = request.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not minimum <= value <= maximum:
        raise ControlError(f'"{key}" must be an integer between {minimum} and {maximum}')
    return value


def _attach_request(request: Request) -> AttachRequest:
    """The ``attach`` command's arguments (docs/operations.md) as an engine AttachRequest."""
    ll_id = request.get("ll_id")
    if ll_id is not None:
        try:
            ll_id = bytes.fromhex(ll_id)
        except (TypeError, ValueError):
            raise ControlError('"ll_id" must be hexadecimal octets') from None
        if not any(ll_id):
            raise ControlError('"ll_id" must not be empty or all zero (RFC 5213 6.9.1.1: ALL_ZERO means not known)')
        # The option's one-octet Length counts its two Reserved octets too (RFC 5213 section 8.6).
        ll_id = _fitting("ll_id", ll_id, MAX_OPTION_LENGTH - 2,
                         "MN Link-layer Identifier option (RFC 5213 section 8.6)")
    interface = request.get("interface")
    if interface is not None and not isinstance(interface, str):
        raise ControlError('"interface" must be a string')
    ipv4, ipv6 = request.get("ipv4", True), request.get("ipv6", True)
    if not isinstance(ipv4, bool) or not isinstance(ipv6, bool) or not (ipv4 or ipv6):
        raise ControlError('"ipv4" and "ipv6" are booleans and at least one must be true')
    return AttachRequest(mn_id=_mn_id(request), att=_integer(request, "att", None, 1, 255),
                         hi=_integer(request, "hi", 1, 1, 4), ll_id=ll_id, interface=interface, ipv4=ipv4, ipv6=ipv6)


def _sends_revocation(outcome: Outcome) -> bool:
    """Whether ``MobileAccessGateway.shutdown``'s outcome sent a global revocation (a BRI) rather than
    de-registrations only."""
    return any(type(send.message) is BindingRevocationIndication for send in outcome.sends)


def build_mag_daemon(config: MagConfig, options: DaemonOptions) -> MagDaemon:
    """Assemble the MAG daemon; other components (e.g. the data plane) attach here with
    ``daemon.add_event_listener`` and ``daemon.add_component``."""
    daemon = MagDaemon(config, options)
    pump = mag_pump(config)
    if pump is None:
        attach_dataplane(daemon, pump)
        return daemon
    dhcp = dhcp_server(pump.settings, daemon.mag.entry, relay_agent(config, pump.settings, daemon.logger),
                       daemon.ipv4_triggers(), now=daemon.clock.now)
    attach_dataplane(daemon, pump, router_advertisements(pump.settings, daemon.expiry, now=daemon.clock.now), dhcp,
                     arp_triggers(pump.settings, dhcp))
    daemon.add_attach_check(partial(attach_warning, pump))
    return daemon
