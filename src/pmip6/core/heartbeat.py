"""The heartbeat between a MAG and its LMA (RFC 5847 section 3), shared by both engines.

Rules, in plain words:

- **Answer** (section 3): every Heartbeat Request from a peer this node signals with (an LMA: an authorized MAG; a
  MAG: its LMA; the engine decides) gets a Heartbeat Response with the same sequence number and this node's Restart
  Counter option, "irrespective of whether there is an active Binding Cache entry". Nothing goes to anyone else.
- **Ask** (sections 3, 3.1): every HEARTBEAT_INTERVAL (``interval``; 0 turns the mechanism off) one round sends a
  Heartbeat Request to each peer with at least one binding ("SHOULD NOT" otherwise), the sequence numbers
  increasing monotonically across peers (modulo 2**32). Before the request, a peer whose previous request got no
  response counts one more MISSING_HEARTBEATS; when that count exceeds MISSING_HEARTBEATS_ALLOWED the peer is
  unreachable (:class:`PeerUnreachable`, once). A response with the outstanding sequence number resets the count,
  and a peer that was unreachable is reachable again (:class:`PeerReachable`); any other response is ignored.
  The rounds start with a node's first binding, the first one at once, and stop when a round finds none. A peer is
  its address (a MAG has one Restart Counter); the engine names where its requests go (an LMA: the port of the
  MAG's latest PBU).
- **Ask a new peer at once** (sections 3, 3.2): a binding with a peer this node has never asked (since it last
  forgot it) and whose Restart Counter it has not heard makes a request to that peer due at once, outside the
  rounds, so that the counter is known before the peer can restart: asked only at the next round, a peer that
  restarted in between would report its new counter as the first one, and its restart would go unseen. Section 3
  asks for a binding first, which holds. A peer asked once is not asked at once again, even when its response
  carried no Restart Counter (3.2 has no MUST for it): asking sooner than the rounds would bring the same answer,
  at the cost section 3 warns of.
- **One interval between two requests** (section 5: HEARTBEAT_INTERVAL is "the time interval in seconds between
  two consecutive Heartbeat Request messages"): a round skips a peer asked since the previous round (at once, less
  than an interval ago): it neither asks it again nor counts that request missing (3.1 counts a request that got no
  response before the next one; this one had not had an interval to get it), and its response still matches.
- **Forget** (section 3.2 stores the counters of the peers "with which it currently has sessions"): a round that
  finds no binding with a peer forgets what it knew of it (reachability, Restart Counter), so an unreachable peer
  that is no longer asked is not reported unreachable for ever; its next binding starts afresh. So does turning
  the mechanism off, and an engine can forget peers it no longer signals with (:meth:`HeartbeatMonitor.retain`).
  A peer that does not support heartbeats is remembered as such (below) until the engine forgets it.
- **Not supported** (section 3): a Binding Error with status 2 from a peer while a request to it is outstanding
  answers that request (a Binding Error names no MH type; an outstanding request is what it can answer): no
  Heartbeat goes to that peer again (:class:`HeartbeatsStopped`). While a Binding Revocation Indication to that
  peer is outstanding as well, the Binding Error may answer either: the engine acts on neither
  (:mod:`pmip6.core.unrecognized_mh_type`). Should a Heartbeat later come from it after all
  (the Binding Error answered another message, e.g. a Binding Revocation Indication), the peer evidently supports
  them and the requests resume.
- **Restart detection** (section 3.2): the Restart Counter of each response (and of an unsolicited one, U set,
  whatever its sequence number; it is never answered) is compared with the one stored for that peer; a different
  value means the peer restarted and lost its sessions (:class:`PeerRestarted`, and the engine re-establishes or
  removes them); the new value is stored either way. An unsolicited response says so by itself ("If a PMIPv6 node
  restarts and loses PMIPv6 session state, it SHOULD send an unsolicited Heartbeat Response"): from a peer whose
  counter is not known yet it is a restart too, with no previous value. A response to no outstanding request tells
  nothing.
- **Announce a restart** (section 3.2): a node that restarted and lost sessions, and knows from stored state which
  peers had sessions with it, sends each of them an unsolicited Heartbeat Response (U and R set, sequence number
  0, ignored by the receiver) with its new Restart Counter (:meth:`HeartbeatMonitor.announce_restart`), while the
  mechanism is on. Only an LMA with a state file knows its peers across a restart; the engine names them.
- This node's own Restart Counter is given by the runtime (``restart_counter``): the engine keeps no state across
  restarts. Nor its peers' counters, which section 3.2 lets a node forget ("do not need to be preserved across
  reboots"), but a runtime that keeps them (an LMA with a state file: :meth:`HeartbeatMonitor.take_counter_changes`)
  hands them back at a start (:meth:`HeartbeatMonitor.remember`): a peer that restarted while this node was down,
  or with it, then reports another counter, and its restart is seen.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Iterator, Mapping
from dataclasses import dataclass

from pmip6.core.events import (
    Address,
    HeartbeatsStopped,
    MessageIgnored,
    Outcome,
    Peer,
    PeerReachable,
    PeerRestarted,
    PeerUnreachable,
    SendMessage,
)
from pmip6.wire.messages import Heartbeat
from pmip6.wire.numbers import HeartbeatFlags
from pmip6.wire.options import RestartCounterOption

SEQUENCE_MODULUS = 1 << 32
"""The Heartbeat's Sequence Number is 32 bits (RFC 5847 section 3.3)."""
PeerEndpoints = tuple[Peer, Address | None]
"""A peer to send Heartbeat Requests to, and the local address they leave from (the LMAA, the Proxy-CoA)."""
DEFAULT_MISSING_HEARTBEATS_ALLOWED = 3
"""MISSING_HEARTBEATS_ALLOWED's default (RFC 5847 section 5)."""
ReportedCounter = tuple[int, float]
"""A peer's Restart Counter and when it last reported it."""
CounterChanges = dict[Address, ReportedCounter | None]
"""The peers' counters reported since a time, None for a peer forgotten
(:meth:`HeartbeatMonitor.take_counter_changes`)."""


@dataclass(frozen=True, slots=True)
class HeartbeatSettings:
    """RFC 5847 section 5's variables: ``interval`` is HEARTBEAT_INTERVAL in seconds (0: no requests are sent;
    requests are still answered), ``missing_heartbeats_allowed`` is MISSING_HEARTBEATS_ALLOWED."""

    interval: float = 0.0
    missing_heartbeats_allowed: int = DEFAULT_MISSING_HEARTBEATS_ALLOWED


@dataclass(slots=True)
class PeerHeartbeat:
    """What this node knows of one peer's heartbeat (``pmip6 show peers``)."""

    peer: Peer
    outstanding: int | None = None
    """The sequence number of the last request, while no response matched it."""
    missing_heartbeats: int = 0
    reachable: bool = True
    asked_at: float | None = None
    """When the last request went to the peer, None if none did since this node last forgot it."""
    restart_counter: int | None = None
    """The Restart Counter the peer last reported (section 3.2), None before its first response."""
    restart_counter_at: float | None = None
    """When the peer last reported ``restart_counter``."""
    supported: bool = True
    """False after a Binding Error status 2 answered a request (section 3: no requests to it again)."""


class HeartbeatMonitor:
    """One node's heartbeat state: its peers', its own Restart Counter and the round timer."""

    __slots__ = ("settings", "restart_counter", "_peers", "_sequence", "_next_round", "_interval_from", "_newcomers",
                 "_newcomers_due", "_counter_changes")

    def __init__(self, settings: HeartbeatSettings, restart_counter: int) -> None:
        self.settings = settings
        self.restart_counter = restart_counter
        self._peers: dict[Address, PeerHeartbeat] = {}
        self._sequence = 0
        self._next_round: float | None = None
        self._interval_from = 0.0
        """When the last round ran: the interval ending at ``_next_round`` began."""
        self._newcomers: set[Address] = set()
        """The peers whose first binding made a request to them due at once (``_newcomers_due``)."""
        self._newcomers_due: float | None = None
        self._counter_changes: CounterChanges = {}
        """The peers' counters reported or forgotten since :meth:`take_counter_changes`."""

    def peers(self) -> Iterator[PeerHeartbeat]:
        return iter(list(self._peers.values()))

    def reconfigure(self, settings: HeartbeatSettings) -> None:
        """Adopt a reloaded configuration at once: a mechanism turned on runs its first round at once, one turned off
        stops and forgets its peers (but the unsupported ones); a shorter interval counts from the last round (a
        round it makes overdue runs at once), a longer one from the next round on."""
        if not settings.interval:
            self._next_round = None
            self._newcomers.clear()
            self._newcomers_due = None
            self._forget_all_but(())
        elif not self.settings.interval:
            self._next_round = 0.0
        elif self._next_round is not None:
            self._next_round = min(self._next_round, self._interval_from + settings.interval)
        self.settings = settings

    def retain(self, peers: Container[Address]) -> None:
        """Forget every peer not in ``peers`` (e.g. the MAGs a reload no longer authorizes), unsupported ones too."""
        for address in [address for address in self._peers if address not in peers]:
            if self._peers.pop(address).restart_counter is not None:
                self._counter_changes[address] = None

    def remember(self, counters: Mapping[Address, ReportedCounter]) -> None:
        """At a start, before any Heartbeat: the Restart Counter each peer last reported before it, and when (as
        :meth:`take_counter_changes` gave them). A peer that reports another one has restarted since
        (:class:`PeerRestarted`, ``previous_at`` that time). With heartbeats off none is taken: no round would ask
        them (their stored counters stay for a start with heartbeats on)."""
        if not self.settings.interval:
            return
        for address, (counter, reported_at) in counters.items():
            state = self._peers.setdefault(address, PeerHeartbeat(Peer(address, None)))
            state.restart_counter, state.restart_counter_at = counter, reported_at

    def take_counter_changes(self) -> CounterChanges:
        """The peers' Restart Counters reported (with when) since the last call, None for those forgotten: what a
        runtime keeps for :meth:`remember` at its next start."""
        changes, self._counter_changes = self._counter_changes, {}
        return changes

    def binding_made(self, peer: Address, now: float) -> None:
        """A binding with ``peer`` was created or refreshed: the rounds run (the first one at once, which asks
        ``peer``), and a peer never asked is asked at once."""
        if not self.settings.interval:
            return
        if self._next_round is None:
            self._next_round = now
        elif self._to_ask_at_once(peer):
            self._newcomers.add(peer)
            if self._newcomers_due is None:
                self._newcomers_due = now

    def next_deadline(self) -> float | None:
        if self._newcomers_due is None:
            return self._next_round
        return self._newcomers_due if self._next_round is None else min(self._next_round, self._newcomers_due)

    def handle_timer(self, now: float, peers_with_bindings: Callable[[], Mapping[Address, PeerEndpoints]]) -> Outcome:
        """The round due at ``now``, if one is: a request to every peer ``peers_with_bindings()`` names (by address:
        the peer to send to and the local address to send from), counting the unanswered ones (section 3.1);
        :class:`PeerUnreachable` for each peer that just exceeded MISSING_HEARTBEATS_ALLOWED. The other peers are
        forgotten (but the unsupported ones), and the peers asked since the previous round skipped. Else the requests
        due at once to new peers, if any."""
        if self._next_round is None or self._next_round > now:
            return self._ask_newcomers(now, peers_with_bindings)
        self._newcomers, self._newcomers_due = set(), None  # the round asks them
        peers = peers_with_bindings()
        self._next_round = now + self.settings.interval if peers else None
        previous_round, self._interval_from = self._interval_from, now
        self._forget_all_but(peers)
        outcome = Outcome()
        for address, (peer, local) in peers.items():
            state = self._peers.get(address)
            if state is None:
                state = self._peers[address] = PeerHeartbeat(peer)
            state.peer = peer
            if not state.supported or (state.asked_at is not None and state.asked_at > previous_round):
                continue
            if state.outstanding is not None:
                state.missing_heartbeats += 1
                if state.reachable and state.missing_heartbeats > self.settings.missing_heartbeats_allowed:
                    state.reachable = False
                    outcome.events.append(PeerUnreachable(peer, state.missing_heartbeats))
            outcome.sends.append(self._request(state, local, now))
        return outcome

    def _ask_newcomers(self, now: float, peers_with_bindings: Callable[[], Mapping[Address, PeerEndpoints]]) -> Outcome:
        """If due at ``now``, a request to each new peer that still has a binding and is still to be asked at once."""
        if self._newcomers_due is None or self._newcomers_due > now:
            return Outcome()
        newcomers, self._newcomers, self._newcomers_due = self._newcomers, set(), None
        peers = peers_with_bindings()
        outcome = Outcome()
        for address in newcomers:
            if address in peers and self._to_ask_at_once(address):
                peer, local = peers[address]
                state = self._peers.setdefault(address, PeerHeartbeat(peer))
                state.peer = peer
                outcome.sends.append(self._request(state, local, now))
        return outcome

    def _request(self, state: PeerHeartbeat, local: Address | None, now: float) -> SendMessage:
        """The next Heartbeat Request, to ``state``'s peer, now outstanding (section 3: monotonically increasing)."""
        self._sequence = (self._sequence + 1) % SEQUENCE_MODULUS
        state.outstanding, state.asked_at = self._sequence, now
        return SendMessage(Heartbeat(self._sequence), state.peer, local)

    def _to_ask_at_once(self, address: Address) -> bool:
        """Whether the peer at ``address`` is to be asked at once (section 3.2): this node has sent it no request
        since it last forgot it (or never heard of it), heard no Restart Counter from it (an unsolicited response
        may tell it), and does not know it not to support heartbeats."""
        state = self._peers.get(address)
        return state is None or (state.supported and state.asked_at is None and state.restart_counter is None)

    def receive(self, message: Heartbeat, source: Peer, local: Address | None,
                now: float) -> tuple[Outcome, PeerRestarted | None]:
        """A Heartbeat from a peer the engine signals with: the response to a request, or what a response tells
        (section 3.1, 3.2). Also returns the :class:`PeerRestarted` event, if any, for the engine to act on."""
        state = self._peers.get(source.address)
        if state is None:
            state = self._peers[source.address] = PeerHeartbeat(source)
        state.supported = True
        if not message.response:
            response = Heartbeat(message.sequence, HeartbeatFlags.R, (RestartCounterOption(self.restart_counter),))
            return Outcome(sends=[SendMessage(response, source, local)]), None
        outcome = Outcome()
        if not message.unsolicited:
            if state.outstanding is None or message.sequence != state.outstanding:
                return Outcome(events=[MessageIgnored(
                    f"Heartbeat Response with sequence {message.sequence} answers no outstanding request "
                    "(RFC 5847 3.1)", source)]), None
            state.outstanding = None
            state.missing_heartbeats = 0
            if not state.reachable:
                state.reachable = True
                outcome.events.append(PeerReachable(state.peer))
        restarted = self._compare_restart_counter(state, message, now)
        if restarted is not None:
            outcome.events.append(restarted)
        return outcome, restarted

    def announce_restart(self, peers: Mapping[Address, PeerEndpoints]) -> Outcome:
        """Section 3.2: "If a PMIPv6 node restarts and loses PMIPv6 session state, it SHOULD send an unsolicited
        Heartbeat Response message with an incremented Restart Counter to all the PMIPv6 nodes that had previously
        established PMIPv6 sessions", here ``peers`` (where to send, and from which local address). The sequence
        number "is ignored and no response is necessary". Nothing while the mechanism is off (``interval`` 0):
        a node that does not exchange heartbeats does not start with this one."""
        if not self.settings.interval:
            return Outcome()
        response = Heartbeat(0, HeartbeatFlags.U | HeartbeatFlags.R, (RestartCounterOption(self.restart_counter),))
        return Outcome(sends=[SendMessage(response, peer, local) for peer, local in peers.values()])

    def awaiting(self, address: Address) -> bool:
        """Whether a request to ``address`` awaits its response (a Binding Error from there may answer it)."""
        state = self._peers.get(address)
        return state is not None and state.supported and state.outstanding is not None

    def binding_error(self, source: Peer) -> Outcome:
        """A Binding Error status 2 from ``source``: if a request to it is outstanding, that request was not
        understood, and no Heartbeat goes to ``source`` again (section 3). An empty Outcome otherwise."""
        if not self.awaiting(source.address):
            return Outcome()
        state = self._peers[source.address]
        state.supported = False
        state.outstanding = None
        return Outcome(events=[HeartbeatsStopped(state.peer)])

    def _forget_all_but(self, monitored: Container[Address]) -> None:
        """Forget the peers not ``monitored`` (no binding with them, or no rounds), but the unsupported ones: what
        was known of them, e.g. unreachable, is no longer followed (a request outstanding is no longer missed)."""
        self.retain({address for address, state in self._peers.items()
                     if address in monitored or not state.supported})

    def _compare_restart_counter(self, state: PeerHeartbeat, message: Heartbeat, now: float) -> PeerRestarted | None:
        option = message.option(RestartCounterOption)
        if option is None:
            return None
        previous, previous_at = state.restart_counter, state.restart_counter_at
        state.restart_counter, state.restart_counter_at = option.counter, now
        self._counter_changes[state.peer.address] = (option.counter, now)
        if previous == option.counter or (previous is None and not message.unsolicited):
            return None
        return PeerRestarted(state.peer, previous, option.counter, previous_at)
