"""The Mobility Header <-> typed messages (RFC 6275 sections 6.1.1, 6.1.7-6.1.9; RFC 5213 sections 8.1-8.2;
RFC 5845 sections 6.2-6.3; RFC 5846 section 5; RFC 5847 section 3.3).

Layout (offsets from the MH start): Payload Proto (MUST be 59), Header Len (length in 8-octet units,
not counting the first 8), MH Type, Reserved, Checksum, then the message data. The checksum covers the
IPv6 pseudo-header with next header 135 (RFC 6275 section 6.1.1); over IPv4/UDP transport it MUST be
zero and ignored (RFC 5844 sections 4.1.3.2, 4.2.2.1), which is what :func:`encode_message` writes when
no addresses are given. Reserved fields and reserved flag bits are written as zero and ignored on receipt.
"""

from __future__ import annotations

from collections.abc import Callable
from ipaddress import IPv6Address
from struct import Struct
from struct import error as StructError
from typing import Any

from pmip6.wire.accelerator import load_speedups
from pmip6.wire.errors import DecodeError
from pmip6.wire.messages import (
    BindingError,
    BindingRevocationAcknowledgement,
    BindingRevocationIndication,
    Heartbeat,
    MobilityMessage,
    ProxyBindingAcknowledgement,
    ProxyBindingUpdate,
    UnknownMessage,
)
from pmip6.wire.numbers import BAFlags, BindingRevocationType, BRFlags, BUFlags, HeartbeatFlags, IPProto, MHType
from pmip6.wire.option_codec import (
    CARE_OF_ADDRESS_OPTIONS,
    HEARTBEAT_OPTIONS,
    MH_ALIGNMENT,
    decode_options,
    encode_options,
)

MH_HEADER_LENGTH = 6
"""Payload Proto, Header Len, MH Type, Reserved, Checksum: the message data starts at this offset."""
MAX_MH_LENGTH = (255 + 1) * MH_ALIGNMENT
"""The longest Mobility Header the one-octet Header Len field can describe."""

_PAYLOAD_PROTO = IPProto.NONE.value
_CHECKSUM_OFFSET = 4
_BU_DEFINED_FLAGS = sum(flag.value for flag in BUFlags)
_BA_DEFINED_FLAGS = sum(flag.value for flag in BAFlags)
_BU_FLAGS = {bits: BUFlags(bits) for bits in range(_BU_DEFINED_FLAGS + 1) if not bits & ~_BU_DEFINED_FLAGS}
_BA_FLAGS = {bits: BAFlags(bits) for bits in range(_BA_DEFINED_FLAGS + 1) if not bits & ~_BA_DEFINED_FLAGS}
"""Every combination of the defined flags, built once: decoding looks the flags up instead of
constructing an IntFlag per message."""

_MH_HEADER = Struct("!BBBBH")
_BU_FIXED = Struct("!HHH")  # Sequence #, flags, Lifetime
_BA_FIXED = Struct("!BBHH")  # Status, flags, Sequence #, Lifetime
_BE_FIXED = Struct("!BB16s")  # Status, Reserved, Home Address
_BR_FIXED = Struct("!BBHH")  # B.R. Type, Revocation Trigger or Status, Sequence #, flags
_HEARTBEAT_FIXED = Struct("!HI")  # Reserved and the U, R flags; Sequence Number
_BU_OPTIONS_OFFSET = MH_HEADER_LENGTH + _BU_FIXED.size
_BA_OPTIONS_OFFSET = MH_HEADER_LENGTH + _BA_FIXED.size
_BE_OPTIONS_OFFSET = MH_HEADER_LENGTH + _BE_FIXED.size
_BR_OPTIONS_OFFSET = MH_HEADER_LENGTH + _BR_FIXED.size
_HEARTBEAT_OPTIONS_OFFSET = MH_HEADER_LENGTH + _HEARTBEAT_FIXED.size
_HEARTBEAT_DEFINED_FLAGS = sum(flag.value for flag in HeartbeatFlags)
_BR_DEFINED_FLAGS = sum(flag.value for flag in BRFlags)
_BR_FLAGS = {bits: BRFlags(bits) for bits in range(0, _BR_DEFINED_FLAGS + 1, BRFlags.G)
             if not bits & ~_BR_DEFINED_FLAGS}
_BRI = BindingRevocationType.INDICATION.value
_BRA = BindingRevocationType.ACKNOWLEDGEMENT.value
_ONES_COMPLEMENT_MODULUS = 0xFFFF
_MOBILITY = IPProto.MOBILITY.value
_PAYLOAD_PROTO_WORD = _PAYLOAD_PROTO << 8


# --- checksum (RFC 6275 section 6.1.1, RFC 8200 section 8.1) ---------------------------------------
#
# Summing 16-bit words with end-around carry is arithmetic modulo 0xFFFF, and 2**16 is 1 modulo 0xFFFF:
# so any run of whole words, read as one big-endian integer, adds the same as its words do. That turns
# the pseudo-header into int(source) + int(destination) + length + 135 and the MH into one int.from_bytes,
# instead of the word loop of pmip6.wire.checksum. The pseudo-header is never all zero, so a remainder
# of 0 stands for the folded sum 0xFFFF.


def _checksum(partial_sum: int) -> int:
    """The Internet checksum (RFC 1071) of words adding up to ``partial_sum``."""
    return ~(partial_sum % _ONES_COMPLEMENT_MODULUS or _ONES_COMPLEMENT_MODULUS) & 0xFFFF


def _pseudo_header_sum(source: IPv6Address, destination: IPv6Address, length: int) -> int:
    return int(source) + int(destination) + length + _MOBILITY


def mh_checksum(data: bytes | bytearray | memoryview, source: IPv6Address, destination: IPv6Address) -> int:
    """The checksum ``data`` (a whole MH) should carry, its Checksum field taken as 0."""
    if len(data) < MH_HEADER_LENGTH:
        raise DecodeError("checksum", _CHECKSUM_OFFSET, f"{len(data)} octets hold no Checksum field")
    unchecked = bytes(data[:_CHECKSUM_OFFSET]) + bytes(2) + bytes(data[MH_HEADER_LENGTH:]) + bytes(len(data) % 2)
    words = int.from_bytes(unchecked, "big")
    return _checksum(_pseudo_header_sum(source, destination, len(data)) + words)


def declared_length(data: bytes | bytearray | memoryview) -> int:
    """How many octets of ``data`` the Mobility Header at its start spans by its Header Len. The octets after it
    are ignored (RFC 8200 4.7: the MH's Payload Proto is 59, No Next Header), by the checksum too (RFC 6275
    6.1.1: the pseudo-header length is "the total length of the Mobility Header")."""
    return min(len(data), (data[1] + 1) * MH_ALIGNMENT) if len(data) > 1 else len(data)


def verify_checksum(data: bytes | bytearray | memoryview, source: IPv6Address, destination: IPv6Address) -> bool:
    """Whether the Checksum field of the MH at the start of ``data`` is right for that address pair."""
    data = data[:declared_length(data)]
    if len(data) < MH_HEADER_LENGTH:
        return False
    words = int.from_bytes(bytes(data) + bytes(len(data) % 2), "big")
    return _checksum(_pseudo_header_sum(source, destination, len(data)) + words) == 0


# --- encoding --------------------------------------------------------------------------------------


def _encode_binding_update(message: ProxyBindingUpdate) -> bytes:
    fixed = _BU_FIXED.pack(message.sequence, int(message.flags) & _BU_DEFINED_FLAGS, message.lifetime)
    return fixed + encode_options(message.options, _BU_OPTIONS_OFFSET)


def _encode_binding_acknowledgement(message: ProxyBindingAcknowledgement) -> bytes:
    fixed = _BA_FIXED.pack(message.status, int(message.flags) & _BA_DEFINED_FLAGS, message.sequence, message.lifetime)
    return fixed + encode_options(message.options, _BA_OPTIONS_OFFSET)


def _encode_binding_error(message: BindingError) -> bytes:
    fixed = _BE_FIXED.pack(message.status, 0, message.home_address.packed)
    return fixed + encode_options(message.options, _BE_OPTIONS_OFFSET)


def _encode_binding_revocation(message: BindingRevocationIndication | BindingRevocationAcknowledgement) -> bytes:
    if isinstance(message, BindingRevocationIndication):
        br_type, value = _BRI, message.trigger
    else:
        br_type, value = _BRA, message.status
    fixed = _BR_FIXED.pack(br_type, value, message.sequence, int(message.flags) & _BR_DEFINED_FLAGS)
    return fixed + encode_options(message.options, _BR_OPTIONS_OFFSET)


def _encode_heartbeat(message: Heartbeat) -> bytes:
    fixed = _HEARTBEAT_FIXED.pack(int(message.flags) & _HEARTBEAT_DEFINED_FLAGS, message.sequence)
    return fixed + encode_options(message.options, _HEARTBEAT_OPTIONS_OFFSET)


def _encode_unknown(message: UnknownMessage) -> bytes:
    if (MH_HEADER_LENGTH + len(message.data)) % MH_ALIGNMENT:
        raise ValueError(f"MH type {message.mh_type}: {len(message.data)} data octets do not end on 8 octets")
    return message.data


_BODY_ENCODERS: dict[type, Callable[[Any], bytes]] = {
    # each encoder takes exactly the message class it is listed under
    ProxyBindingUpdate: _encode_binding_update,
    ProxyBindingAcknowledgement: _encode_binding_acknowledgement,
    BindingError: _encode_binding_error,
    BindingRevocationIndication: _encode_binding_revocation,
    BindingRevocationAcknowledgement: _encode_binding_revocation,
    Heartbeat: _encode_heartbeat,
    UnknownMessage: _encode_unknown,
}


def encode_message(message: MobilityMessage, *, source: IPv6Address | None = None,
                   destination: IPv6Address | None = None) -> bytes:
    """The Mobility Header octets of ``message``.

    With ``source`` and ``destination`` the Checksum covers the IPv6 pseudo-header (RFC 6275 section
    6.1.1); without them it is 0, as RFC 5844 IPv4/UDP transport requires. Raises ValueError for a
    value that does not fit its field. Runs the C fast path when it is built (``pmip6.wire.accelerator``).
    """
    if SPEEDUPS is not None:
        encoded: bytes | None = SPEEDUPS.encode_message(message, source, destination)
        if encoded is not None:
            return encoded
    return pure_encode_message(message, source=source, destination=destination)


def pure_encode_message(message: MobilityMessage, *, source: IPv6Address | None = None,
                        destination: IPv6Address | None = None) -> bytes:
    """:func:`encode_message` in Python only: the reference the C fast path is checked against."""
    try:
        body = _BODY_ENCODERS[type(message)](message)
        length = MH_HEADER_LENGTH + len(body)
        if length > MAX_MH_LENGTH:
            raise ValueError(f"{length} octets exceed the longest Mobility Header ({MAX_MH_LENGTH})")
        header_len = length // MH_ALIGNMENT - 1
        mh_type = message.mh_type
        checksum = 0
        if source is not None and destination is not None:
            header_words = _PAYLOAD_PROTO_WORD + header_len + (mh_type << 8)
            body_words = int.from_bytes(body, "big")
            checksum = _checksum(_pseudo_header_sum(source, destination, length) + header_words + body_words)
        return _MH_HEADER.pack(_PAYLOAD_PROTO, header_len, mh_type, 0, checksum) + body
    except KeyError:
        raise TypeError(f"not a mobility message: {message!r}") from None
    except StructError as error:
        raise ValueError(f"{type(message).__name__}: {error}") from error


# --- decoding --------------------------------------------------------------------------------------


def _decode_binding_update(data: bytes, length: int) -> ProxyBindingUpdate:
    sequence, flags, lifetime = _BU_FIXED.unpack_from(data, MH_HEADER_LENGTH)
    options = decode_options(data, _BU_OPTIONS_OFFSET, length, CARE_OF_ADDRESS_OPTIONS)
    return ProxyBindingUpdate(sequence, _BU_FLAGS[flags & _BU_DEFINED_FLAGS], lifetime, options)


def _decode_binding_acknowledgement(data: bytes, length: int) -> ProxyBindingAcknowledgement:
    status, flags, sequence, lifetime = _BA_FIXED.unpack_from(data, MH_HEADER_LENGTH)
    options = decode_options(data, _BA_OPTIONS_OFFSET, length)
    return ProxyBindingAcknowledgement(status, sequence, _BA_FLAGS[flags & _BA_DEFINED_FLAGS], lifetime, options)


def _decode_binding_error(data: bytes, length: int) -> BindingError:
    status, _reserved, home_address = _BE_FIXED.unpack_from(data, MH_HEADER_LENGTH)
    options = decode_options(data, _BE_OPTIONS_OFFSET, length)
    return BindingError(status, IPv6Address(home_address), options)


def _decode_binding_revocation(
    data: bytes, length: int
) -> BindingRevocationIndication | BindingRevocationAcknowledgement:
    br_type, value, sequence, flags = _BR_FIXED.unpack_from(data, MH_HEADER_LENGTH)
    if br_type not in (_BRI, _BRA):
        raise DecodeError("br_type", MH_HEADER_LENGTH, f"B.R. Type {br_type}: 1 (Indication) and 2 (Acknowledgement) "
                                                      "are the Binding Revocation Messages (RFC 5846 section 5)")
    options = decode_options(data, _BR_OPTIONS_OFFSET, length, CARE_OF_ADDRESS_OPTIONS)
    message_class = BindingRevocationIndication if br_type == _BRI else BindingRevocationAcknowledgement
    return message_class(value, sequence, _BR_FLAGS[flags & _BR_DEFINED_FLAGS], options)


def _decode_heartbeat(data: bytes, length: int) -> Heartbeat:
    flags, sequence = _HEARTBEAT_FIXED.unpack_from(data, MH_HEADER_LENGTH)
    options = decode_options(data, _HEARTBEAT_OPTIONS_OFFSET, length, HEARTBEAT_OPTIONS)
    return Heartbeat(sequence, HeartbeatFlags(flags & _HEARTBEAT_DEFINED_FLAGS), options)


_BODY_DECODERS: dict[int, tuple[Callable[[bytes, int], MobilityMessage], int, str]] = {
    # MH type: (decoder, end of the fixed part, message name)
    MHType.BINDING_UPDATE.value: (_decode_binding_update, _BU_OPTIONS_OFFSET, "Binding Update"),
    MHType.BINDING_ACKNOWLEDGEMENT.value: (
        _decode_binding_acknowledgement, _BA_OPTIONS_OFFSET, "Binding Acknowledgement"
    ),
    MHType.BINDING_ERROR.value: (_decode_binding_error, _BE_OPTIONS_OFFSET, "Binding Error"),
    MHType.BINDING_REVOCATION.value: (_decode_binding_revocation, _BR_OPTIONS_OFFSET, "Binding Revocation Message"),
    MHType.HEARTBEAT.value: (_decode_heartbeat, _HEARTBEAT_OPTIONS_OFFSET, "Heartbeat"),
}


def decode_message(data: bytes | bytearray | memoryview) -> MobilityMessage:
    """The message in the Mobility Header at the start of ``data`` (octets after its Header Len are ignored).

    MH types other than 5, 6, 7, 13 and 16 come back as :class:`UnknownMessage`. The checksum is not checked
    here (see :func:`verify_checksum`). Raises DecodeError, and nothing else, for malformed input.
    Runs the C fast path when it is built (``pmip6.wire.accelerator``).
    """
    if type(data) is not bytes:
        data = bytes(data)
    if SPEEDUPS is not None:
        decoded: MobilityMessage | None = SPEEDUPS.decode_message(data)
        if decoded is not None:
            return decoded
    return pure_decode_message(data)


def pure_decode_message(data: bytes | bytearray | memoryview) -> MobilityMessage:
    """:func:`decode_message` in Python only: the reference the C fast path is checked against."""
    if type(data) is not bytes:
        data = bytes(data)
    size = len(data)
    if size < MH_ALIGNMENT:
        raise DecodeError("length", size, f"{size} octets; a Mobility Header has at least {MH_ALIGNMENT}")
    if data[0] != _PAYLOAD_PROTO:
        raise DecodeError("payload_proto", 0, f"{data[0]}, must be {_PAYLOAD_PROTO} (no next header)")
    length = (data[1] + 1) * MH_ALIGNMENT
    if size < length:
        raise DecodeError("header_len", 1, f"declares {length} octets but only {size} are present")
    mh_type = data[2]
    entry = _BODY_DECODERS.get(mh_type)
    if entry is None:
        return UnknownMessage(mh_type, data[MH_HEADER_LENGTH:length])
    decoder, fixed_end, name = entry
    if length < fixed_end:
        raise DecodeError("header_len", 1, f"{length} octets cannot hold a {name} ({fixed_end} octets at least)")
    return decoder(data, length)


SPEEDUPS = load_speedups(_BU_FLAGS, _BU_DEFINED_FLAGS, _BA_FLAGS, _BA_DEFINED_FLAGS)
"""The C fast path :func:`encode_message` and :func:`decode_message` use, or None (pure Python)."""
