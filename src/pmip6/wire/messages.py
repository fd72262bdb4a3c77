"""Typed Mobility Header messages (RFC 6275 section 6.1, RFC 5213 section 8, RFC 5845 sections 6.2-6.3,
RFC 5846 section 5, RFC 5847 section 3.3).

A Proxy Binding Update is a Binding Update (MH type 5) with the P flag; the class decodes every
type-5 message, and ``flags`` tells whether P is set (pre-IANA peers leave it clear).

Messages and options (:mod:`pmip6.wire.options`) are ``slots`` dataclasses with value equality but are
not frozen: building a frozen dataclass costs about three times as much (every field goes through
``object.__setattr__``), and the codec builds about a dozen per message. Treat them as values all the
same: nothing in pmip6 mutates a message or an option after building it, and, being mutable, they are
not hashable (nothing puts them in a set or uses them as dict keys; use ``encode_message`` output for
that).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv6Address
from typing import ClassVar, TypeVar

from pmip6.wire.numbers import BAFlags, BRFlags, BUFlags, HeartbeatFlags, MHType
from pmip6.wire.options import MobilityOption

LIFETIME_UNIT_SECONDS = 4
"""Lifetime fields count units of 4 seconds (RFC 6275 section 6.1.7)."""

_O = TypeVar("_O")


class _CarriesOptions:
    """Option look-up shared by the messages that carry mobility options."""

    __slots__ = ()
    options: tuple[MobilityOption, ...]

    def option(self, option_class: type[_O]) -> _O | None:
        """The first option of that class, or None."""
        for candidate in self.options:
            if type(candidate) is option_class:
                return candidate
        return None

    def options_of(self, option_class: type[_O]) -> list[_O]:
        """Every option of that class, in message order (HNP and Vendor-Specific may repeat)."""
        return [candidate for candidate in self.options if type(candidate) is option_class]


@dataclass(slots=True)
class ProxyBindingUpdate(_CarriesOptions):
    """(Proxy) Binding Update, MH type 5. ``lifetime`` is in raw 4-second units; 0 = de-registration."""

    sequence: int
    flags: BUFlags = BUFlags.A | BUFlags.P
    lifetime: int = 0
    options: tuple[MobilityOption, ...] = ()
    mh_type: ClassVar[MHType] = MHType.BINDING_UPDATE

    @property
    def lifetime_seconds(self) -> int:
        return self.lifetime * LIFETIME_UNIT_SECONDS


@dataclass(slots=True)
class ProxyBindingAcknowledgement(_CarriesOptions):
    """(Proxy) Binding Acknowledgement, MH type 6. ``status`` below 128 means accepted."""

    status: int
    sequence: int
    flags: BAFlags = BAFlags.P
    lifetime: int = 0
    options: tuple[MobilityOption, ...] = ()
    mh_type: ClassVar[MHType] = MHType.BINDING_ACKNOWLEDGEMENT

    @property
    def lifetime_seconds(self) -> int:
        return self.lifetime * LIFETIME_UNIT_SECONDS


@dataclass(slots=True)
class BindingError(_CarriesOptions):
    """Binding Error, MH type 7 (RFC 6275 section 6.1.9); status 2 answers an unrecognized MH type."""

    status: int
    home_address: IPv6Address = IPv6Address(0)
    options: tuple[MobilityOption, ...] = ()
    mh_type: ClassVar[MHType] = MHType.BINDING_ERROR


@dataclass(slots=True)
class BindingRevocationIndication(_CarriesOptions):
    """Binding Revocation Indication: MH type 16, B.R. Type 1 (RFC 5846 section 5.1). ``trigger`` is a
    :class:`~pmip6.wire.numbers.RevocationTrigger`; the options name the binding(s) revoked."""

    trigger: int
    sequence: int
    flags: BRFlags = BRFlags.P
    options: tuple[MobilityOption, ...] = ()
    mh_type: ClassVar[MHType] = MHType.BINDING_REVOCATION


@dataclass(slots=True)
class BindingRevocationAcknowledgement(_CarriesOptions):
    """Binding Revocation Acknowledgement: MH type 16, B.R. Type 2 (RFC 5846 section 5.2); ``status`` below 128
    means the BRI was processed; ``sequence`` and the flags are the BRI's."""

    status: int
    sequence: int
    flags: BRFlags = BRFlags.P
    options: tuple[MobilityOption, ...] = ()
    mh_type: ClassVar[MHType] = MHType.BINDING_REVOCATION


@dataclass(slots=True)
class Heartbeat(_CarriesOptions):
    """Heartbeat, MH type 13 (RFC 5847 section 3.3): a request (R clear) or a response (R set; U set when it is
    unsolicited, after a restart). ``sequence`` matches a response to its request; a response carries a
    :class:`~pmip6.wire.options.RestartCounterOption`."""

    sequence: int
    flags: HeartbeatFlags = HeartbeatFlags(0)
    options: tuple[MobilityOption, ...] = ()
    mh_type: ClassVar[MHType] = MHType.HEARTBEAT

    @property
    def response(self) -> bool:
        return bool(self.flags & HeartbeatFlags.R)

    @property
    def unsolicited(self) -> bool:
        return bool(self.flags & HeartbeatFlags.U)


@dataclass(slots=True)
class UnknownMessage:
    """A Mobility Header of a type pmip6 does not process; ``data`` is everything after the checksum."""

    mh_type: int
    data: bytes


MobilityMessage = (ProxyBindingUpdate | ProxyBindingAcknowledgement | BindingError | BindingRevocationIndication
                   | BindingRevocationAcknowledgement | Heartbeat | UnknownMessage)
