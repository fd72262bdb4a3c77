"""Why the LMA rejected a PBU, in a few words for the operator, where the PBA status alone does not say.

:class:`~pmip6.core.events.RegistrationRejected` carries the text as ``reason`` (the event log writes it). Only the
statuses with several causes, or whose cause lies in numbers the log would not show, have one:

- 153 NOT_LMA_FOR_THIS_MOBILE_NODE: an empty MN Identifier, or no profile and no default tenant (RFC 5213 5.3.1);
- 129 ADMINISTRATIVELY_PROHIBITED: the F flag not accepted (RFC 5844 4.1.3.1), or a revocation (RFC 5846 8.1);
- 156 / 157: the Timestamp against this LMA's clock and TimestampValidityWindow, and against the last one accepted
  (RFC 5213 5.5): clock skew shows as a fraction of a second, another format or epoch as years;
- 135 SEQUENCE_NUMBER_OUT_OF_WINDOW: the sequence number against the last one accepted (RFC 6275 9.5.1), also
  with a Timestamp after a backward step of this LMA's clock (:mod:`pmip6.core.freshness`);
- 130 INSUFFICIENT_RESOURCES: which pool ran out, or which ``max_bindings`` was reached
  (:mod:`pmip6.core.binding_limits`);
- 163 GRE_KEY_OPTION_REQUIRED: which policy, or the tenant's overlapping pools (RFC 5845 5.2).

The texts are built only on these rejections, each a few string operations.
"""

from __future__ import annotations

from ipaddress import IPv4Network, IPv6Network

from pmip6.wire.options import TimestampOption

EMPTY_MN_IDENTIFIER = "the MN Identifier is empty"
NO_PROFILE = "no mobile node profile names this MN-ID and there is no default tenant"
FORCED_UDP_NOT_ACCEPTED = "the F flag (IPv4-UDP encapsulation) is not accepted here (RFC 5844 4.1.3.1)"
BINDING_BEING_REVOKED = "this binding is being revoked (RFC 5846 8.1)"
MAG_BEING_REVOKED = "this MAG's bindings are being revoked (RFC 5846 8.1)"
HANDED_OVER = "the session was handed over to another MAG, whose revocation here is in progress (RFC 5846 8.1)"
LET_GO = ("this MAG let the session go (acknowledged or sent its revocation) and registered it no more since "
          "(RFC 5846 8.1)")


def timestamp_reason(timestamp: TimestampOption, last_accepted_ticks: int | None, now: float,
                     validity_window: float | None, ordered_within: str) -> str:
    """156 or 157 (RFC 5213 5.5): how far the Timestamp is from this LMA's clock, the window, and, when it is not
    newer, how it compares with the last one accepted for ``ordered_within``: "this MN" for a registration, "this
    session" for a de-registration (:func:`pmip6.core.lma._own_timestamp`)."""
    offset = timestamp.to_time() - now
    side = "ahead of" if offset > 0 else "behind"
    clock = (f"timestamp {abs(offset):.3f} s {side} this LMA's clock, "
             + (f"window {validity_window:g} s" if validity_window is not None
                else "no window (mobile node generated timestamps)"))
    if last_accepted_ticks is None or timestamp.ticks > last_accepted_ticks:
        return clock
    if timestamp.ticks == last_accepted_ticks:
        return f"timestamp equal to the last one accepted for {ordered_within} (a replay); {clock}"
    older = (last_accepted_ticks - timestamp.ticks) / 65536
    return f"timestamp {older:.3f} s older than the last one accepted for {ordered_within}; {clock}"


def sequence_reason(sequence: int, last_accepted: int) -> str:
    """135 (RFC 6275 9.5.1): the PBA carries ``last_accepted``; the MAG is to send again above it."""
    return f"sequence number {sequence} is not newer than {last_accepted}, the last one accepted for this session"


def stepped_sequence_reason(sequence: int, last_accepted: int) -> str:
    """135 after a backward step of this LMA's clock (:mod:`pmip6.core.freshness`): the Timestamp no longer tells a
    replay, so the sequence number must be newer than the MN's last accepted one."""
    return (f"this LMA's clock stepped back, so the Timestamp cannot tell a replay: sequence number {sequence} is not "
            f"newer than {last_accepted}, the last one accepted for this MN")


def pool_exhausted(tenant: str, pool: IPv4Network | IPv6Network) -> str:
    """130: the tenant's pool that has no free address or prefix."""
    return f"tenant {tenant}: pool {pool} is exhausted"


def gre_required_by_policy(policy: str) -> str:
    """163 (RFC 5845 5.2, GK-5.2-4): no GRE Key option, and ``policy`` (which one decided,
    :meth:`~pmip6.core.policy.LmaGrePolicy.deciding`) requires GRE."""
    return f"no GRE Key option in the PBU, and {policy} requires GRE"


def gre_keys_required(overlap: str) -> str:
    """163 (RFC 5845 5.2, :mod:`pmip6.core.overlap`): no GRE key (no option, or one without a key), and the session
    needs keys because its tenant's pool overlaps another's (``overlap`` says which)."""
    return f"no GRE key in the PBU, and keys are needed: {overlap}"
