"""Logs to stderr, human-readable or JSON lines, and one log record per engine event.

JSON lines carry ``ts`` (Unix time), ``level``, ``logger``, ``message`` and, for engine events, ``event``
plus the session fields of :func:`pmip6.runtime.views.session_fields` (or ``status`` and ``status_name``
for a rejection, and ``reason`` when the LMA says why: :mod:`pmip6.core.rejection_reason`).

A rejected registration is a warning, but any host can make an LMA reject PBUs as fast as it can send them: at
most REJECTION_LOG_BURST such lines are logged at once and REJECTION_LOG_RATE a second after that
(:mod:`pmip6.runtime.log_limit`); the next one logged says how many were not (``suppressed``). The PBA status
counters count every one. The restart alarm (RFC 5847 3.2) has a budget of its own, the same size: one forged
unsolicited Heartbeat Response from the peer's address raises it (no IPsec), so a flood of them could flood the log.
So has the MAG's alarm of a registration made in its name (:mod:`pmip6.core.foreign_registration`), which a PBA forged
from the LMA's address raises too.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from typing import Any

from pmip6.core.events import (
    Alarm,
    BindingDeregistered,
    BindingEstablished,
    BindingRemoved,
    BindingRestored,
    BindingUpdated,
    Event,
    ForeignRegistration,
    HeartbeatsStopped,
    MessageIgnored,
    PeerReachable,
    PeerRestarted,
    PeerUnreachable,
    RegistrationRejected,
    RevocationSent,
    mn_text,
)
from pmip6.naming import counted
from pmip6.runtime.clock import DaemonClock
from pmip6.runtime.log_limit import LogRateLimit
from pmip6.runtime.metrics import status_name
from pmip6.runtime.views import accepted_at_mag, session_fields
from pmip6.wire.describe import token_text
from pmip6.wire.numbers import RevocationTrigger

REJECTION_LOG_BURST = 10
"""Rejected registrations logged at once after a quiet period."""
REJECTION_LOG_RATE = 1.0
"""Rejected registrations logged per second in the long run."""


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"ts": round(record.created, 6), "level": record.levelname.lower(),
                                "logger": record.name, "message": record.getMessage()}
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, separators=(",", ":"), default=str)


class _HumanFormatter(logging.Formatter):
    """One line per record, ``key=value`` fields after the message. What a peer sent (an MN-ID, say) is never
    taken at face value: control characters are escaped, so no PBU can start a forged log line, and a value
    with spaces, ``=`` or quotes is written as a JSON string (``mn_id="a b"``), so it cannot pose as more fields."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = _CONTROL.sub(lambda control: f"\\x{ord(control.group()):02x}", super().formatMessage(record))
        fields = getattr(record, "fields", None)
        if fields:
            line += " " + " ".join(f"{key}={_human(value)}" for key, value in fields.items() if key != "event")
        return line


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _human(value: Any) -> str:
    if isinstance(value, list):
        return ",".join(map(_human, value)) or "-"
    if value is None:
        return "-"
    return token_text(str(value))


_QUIET_LIBRARIES = ("pyroute2",)
"""Libraries whose records below warning level are not pmip6's to show: at debug level pyroute2 writes a line per
netlink message (walkthrough 23: 87 of them at an LMA's start with a data plane)."""


def configure_logging(log_format: str, level: int = logging.INFO) -> None:
    """Send every log record to stderr in ``log_format`` ("human" or "json"); from :data:`_QUIET_LIBRARIES`, only
    warnings and above."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_JsonFormatter() if log_format == "json" else _HumanFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for library in _QUIET_LIBRARIES:
        logging.getLogger(library).setLevel(max(level, logging.WARNING))


_SESSION_EVENTS: dict[type, tuple[str, str]] = {
    BindingEstablished: ("binding_established", "binding established"),
    BindingRestored: ("binding_restored", "binding restored"),
    BindingUpdated: ("binding_updated", "binding updated"),
    BindingDeregistered: ("binding_deregistered", "binding de-registered"),
    BindingRemoved: ("binding_removed", "binding removed"),
}


_UNACKNOWLEDGED = "unacknowledged"
"""A MAG's removal reason when no PBA answered its de-registration: the LMA may still hold the binding."""

_LEVELS: dict[type, int] = {RegistrationRejected: logging.WARNING, Alarm: logging.WARNING,
                             MessageIgnored: logging.DEBUG, PeerUnreachable: logging.WARNING,
                             PeerRestarted: logging.WARNING, HeartbeatsStopped: logging.WARNING,
                             ForeignRegistration: logging.WARNING}


class EventLog:
    """Writes one record per engine event to ``logger``."""

    def __init__(self, logger: logging.Logger, *, at_lma: bool, rejections: LogRateLimit | None = None,
                 restarts: LogRateLimit | None = None, foreign: LogRateLimit | None = None,
                 clock: DaemonClock | None = None) -> None:
        """``clock``: the daemon's, whose timeline the events' times are on."""
        self._logger = logger
        self._clock = clock if clock is not None else DaemonClock()
        self._at_lma = at_lma
        self._rejections = rejections if rejections is not None else _hostile_event_budget()
        self._restarts = restarts if restarts is not None else _hostile_event_budget()
        self._foreign = foreign if foreign is not None else _hostile_event_budget()

    def __call__(self, event: Event) -> None:
        level = _LEVELS.get(type(event), logging.INFO)
        if type(event) is BindingRemoved and event.reason == _UNACKNOWLEDGED:
            level = logging.WARNING
        if not self._logger.isEnabledFor(level):
            return
        if type(event) is RegistrationRejected:
            self._log_limited(self._rejections, "more rejected registration", *self._describe_rejection(event))
        elif type(event) is PeerRestarted:
            self._log_limited(self._restarts, "more restart alarm", *self._describe(event))
        elif type(event) is ForeignRegistration:
            self._log_limited(self._foreign, "more foreign registration alarm", *_describe_foreign(event, self._clock))
        else:
            message, fields = self._describe(event)
            self._logger.log(level, message, extra={"fields": fields})

    def _log_limited(self, limit: LogRateLimit, others: str, message: str, fields: dict[str, Any]) -> None:
        """A warning within ``limit``'s budget; the next one written counts the ``others`` that were not."""
        suppressed = limit.admit()
        if suppressed is None:
            return
        if suppressed:
            message += f" ({counted(suppressed, others)} not logged since the last one)"
        self._logger.warning(message, extra={"fields": {**fields, "suppressed": suppressed}})

    @staticmethod
    def _describe_rejection(event: RegistrationRejected) -> tuple[str, dict[str, Any]]:
        fields: dict[str, Any] = {
            "event": "registration_rejected", "mn_id": mn_text(event.mn_id), "status": event.status,
            "status_name": status_name(event.status), "peer": str(event.peer.address)}
        if event.reason:
            fields["reason"] = event.reason
        return "registration rejected", fields

    def _describe(self, event: Event) -> tuple[str, dict[str, Any]]:
        if isinstance(event, BindingRemoved) and not self._at_lma and not accepted_at_mag(event.session):
            return _describe_abandoned(event)
        if type(event) in _SESSION_EVENTS:
            name, message = _SESSION_EVENTS[type(event)]
            fields = {"event": name, **session_fields(event.session, at_lma=self._at_lma)}  # type: ignore[union-attr]
            if isinstance(event, BindingRemoved):
                fields["reason"] = event.reason
            return message, fields
        if isinstance(event, MessageIgnored):
            return "message ignored", {
                "event": "message_ignored", "reason": event.reason,
                "peer": None if event.peer is None else str(event.peer.address)}
        if isinstance(event, RevocationSent):
            return "revocation sent", {"event": "revocation_sent", **session_fields(event.session, at_lma=self._at_lma),
                                       "trigger": _trigger_name(event.trigger), "ipv4_only": event.ipv4_only}
        if isinstance(event, PeerUnreachable):
            return (f"alarm: peer {event.peer.address} unreachable: {event.missing_heartbeats} heartbeat requests in "
                    "a row unanswered", {"event": "peer_unreachable", "peer": str(event.peer.address),
                                        "missing_heartbeats": event.missing_heartbeats})
        if isinstance(event, PeerReachable):
            return f"peer {event.peer.address} reachable again", {"event": "peer_reachable",
                                                                  "peer": str(event.peer.address)}
        if isinstance(event, PeerRestarted):
            counters = (f"{event.previous} -> {event.current}" if event.previous is not None
                        else f"{event.current}, announced unsolicited")
            return (f"alarm: peer {event.peer.address} restarted and lost its sessions (restart counter "
                    f"{counters})", {
                        "event": "peer_restarted", "peer": str(event.peer.address), "previous": event.previous,
                        "current": event.current})
        if isinstance(event, HeartbeatsStopped):
            return (f"peer {event.peer.address} does not support heartbeats (Binding Error status 2): no more "
                    "heartbeat requests to it", {"event": "heartbeats_stopped", "peer": str(event.peer.address)})
        if isinstance(event, Alarm):
            return f"alarm: {event.text}", {
                "event": "alarm", "mn_id": None if event.mn_id is None else mn_text(event.mn_id)}
        return type(event).__name__, {"event": type(event).__name__}


def _describe_abandoned(event: BindingRemoved) -> tuple[str, dict[str, Any]]:
    """A MAG's entry removed before any PBA accepted its registration (its de-registration went unanswered, or was
    acknowledged): no GRE mode, keys or tunnel format was negotiated, so none is logged as if it had been."""
    session = event.session
    return (f"registration abandoned: no PBA from the LMA at {session.peer.address} accepted it", {
        "event": "binding_removed", "mn_id": mn_text(session.mn_id), "proxy_coa": str(session.local),
        "lmaa": str(session.peer.address), "reason": event.reason})


def _describe_foreign(event: ForeignRegistration, clock: DaemonClock) -> tuple[str, dict[str, Any]]:
    """The MAG's alarm of a registration made in its name, and when it registers the MN again (``repair_at``, on
    ``clock``'s timeline, logged as Unix time)."""
    granted = "a de-registration" if event.lifetime == 0 else f"lifetime {event.lifetime} s"
    repair_at = None if event.repair_at is None else clock.on_wall(event.repair_at)
    if event.repair_at is None:
        repair = "its next PBU, due sooner, registers it again"
    else:
        delay = event.repair_at - clock.now()
        repair = "registering it again now" if delay < 0.5 else f"registering it again in {delay:.0f} s"
    return (f"alarm: the LMA accepted a PBU about {mn_text(event.mn_id)} that this MAG did not send (status "
            f"{status_name(event.status)}, sequence {event.sequence}, {granted}): a PBU forged from this MAG's "
            f"address? {repair}", {
                "event": "foreign_registration", "mn_id": mn_text(event.mn_id), "peer": str(event.peer.address),
                "status": event.status, "status_name": status_name(event.status), "sequence": event.sequence,
                "lifetime": event.lifetime, "repair_at": repair_at})


def _hostile_event_budget() -> LogRateLimit:
    return LogRateLimit(REJECTION_LOG_RATE, REJECTION_LOG_BURST)


def _trigger_name(trigger: int) -> str:
    """The RFC 5846 name of a Revocation Trigger, e.g. ``ADMINISTRATIVE_REASON``; the number if it has none."""
    return next((known.name for known in RevocationTrigger if known == trigger), str(trigger))
