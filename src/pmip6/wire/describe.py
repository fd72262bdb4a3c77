"""Plain-data and one-line text views of Mobility Header messages, for people and scripts.

``message_json`` gives the JSON shape of ``pmip6 decode --json`` (``type``, ``seq``, ``flags`` as letters in
spec order, raw ``lifetime``, ``status``, ``options``, and ``trigger`` on a Binding Revocation Indication only;
a Heartbeat's flags are ``U`` and ``R``, RFC 5847 section 3.3);
``message_text`` the one-line form used by ``pmip6 decode`` and the demo's ladder, with GRE keys in hex and
decimal as Wireshark shows them (``gre.key`` in hex, ``mip6.gre_key`` in decimal).
"""

from __future__ import annotations

import json
import re
from dataclasses import fields
from enum import IntEnum
from ipaddress import IPv4Address, IPv6Address
from typing import Any

from pmip6.wire.messages import (LIFETIME_UNIT_SECONDS, BindingError, BindingRevocationAcknowledgement,
                                 BindingRevocationIndication, Heartbeat, MobilityMessage, ProxyBindingAcknowledgement,
                                 ProxyBindingUpdate, UnknownMessage)
from pmip6.wire.numbers import (BAFlags, BindingErrorStatus, BindingRevocationStatus, BRFlags, BUFlags, HeartbeatFlags,
                                OptionType, RevocationTrigger, Status, flag_letters)
from pmip6.wire.options import (AccessTechnologyTypeOption, HandoffIndicatorOption, HomeNetworkPrefixOption,
                                MNIdentifierOption, MobilityOption, UnknownOption)


OPTION_NAMES: dict[int, str] = {
    OptionType.PAD1: "Pad1",
    OptionType.PADN: "PadN",
    OptionType.BINDING_REFRESH_ADVICE: "Binding Refresh Advice",
    OptionType.ALTERNATE_CARE_OF_ADDRESS: "Alternate Care-of Address",
    OptionType.NONCE_INDICES: "Nonce Indices",
    OptionType.BINDING_AUTHORIZATION_DATA: "Binding Authorization Data",
    OptionType.MN_IDENTIFIER: "MN-ID",
    OptionType.VENDOR_SPECIFIC: "Vendor Specific",
    OptionType.HOME_NETWORK_PREFIX: "HNP",
    OptionType.HANDOFF_INDICATOR: "HI",
    OptionType.ACCESS_TECHNOLOGY_TYPE: "ATT",
    OptionType.MN_LINK_LAYER_IDENTIFIER: "MN LL-ID",
    OptionType.LINK_LOCAL_ADDRESS: "Link-local Address",
    OptionType.TIMESTAMP: "Timestamp",
    OptionType.RESTART_COUNTER: "Restart Counter",
    OptionType.IPV4_HOME_ADDRESS: "IPv4 Home Address",
    OptionType.IPV4_ADDRESS_ACKNOWLEDGEMENT: "IPv4 Address Acknowledgement",
    OptionType.NAT_DETECTION: "NAT Detection",
    OptionType.IPV4_CARE_OF_ADDRESS: "IPv4 Care-of Address",
    OptionType.GRE_KEY: "GRE Key",
    OptionType.IPV4_HOME_ADDRESS_REQUEST: "IPv4 HoA Request",
    OptionType.IPV4_HOME_ADDRESS_REPLY: "IPv4 HoA Reply",
    OptionType.IPV4_DEFAULT_ROUTER_ADDRESS: "IPv4 Default Router",
    OptionType.IPV4_DHCP_SUPPORT_MODE: "IPv4 DHCP Support Mode",
}
"""Short display names of the mobility options (RFC 6275 6.2, RFC 5213 8, RFC 5844 3.3, RFC 5845 6.1, RFC 5847 3.4)."""


def message_json(message: MobilityMessage) -> dict[str, Any]:
    """``type``, ``seq``, ``flags`` (letters in spec order), ``lifetime`` (the field as sent, in 4-second units),
    ``status`` and ``options``; a Binding Revocation Indication adds ``trigger`` (RFC 5846 section 5.1), the one
    key the other messages lack, so that their shape stays what scripts already read."""
    if isinstance(message, UnknownMessage):
        return {"type": message.mh_type, "seq": None, "flags": None, "lifetime": None, "status": None, "options": []}
    seq = flags = lifetime = status = None
    trigger: dict[str, int] = {}
    if isinstance(message, ProxyBindingUpdate):
        seq, flags, lifetime = message.sequence, flag_letters(message.flags, BUFlags), message.lifetime
    elif isinstance(message, ProxyBindingAcknowledgement):
        seq, flags, lifetime = message.sequence, flag_letters(message.flags, BAFlags), message.lifetime
        status = message.status
    elif isinstance(message, BindingRevocationIndication):
        seq, flags, trigger = message.sequence, flag_letters(message.flags, BRFlags), {"trigger": message.trigger}
    elif isinstance(message, BindingRevocationAcknowledgement):
        seq, flags, status = message.sequence, flag_letters(message.flags, BRFlags), message.status
    elif isinstance(message, Heartbeat):
        seq, flags = message.sequence, flag_letters(message.flags, HeartbeatFlags)
    else:
        status = message.status
    return {"type": int(message.mh_type), "seq": seq, "flags": flags, "lifetime": lifetime, "status": status,
            "options": [option_json(option) for option in message.options], **trigger}


def option_json(option: MobilityOption) -> dict[str, Any]:
    """``type`` and ``name``, then the option's fields: ``id`` (NAI text), ``prefix`` ("addr/len"), ``hi``,
    ``att``, ``key``, ``address``, ``status``...; octet strings as hex."""
    option_type = option.type if isinstance(option, UnknownOption) else int(option.option_type)
    out: dict[str, Any] = {"type": option_type, "name": OPTION_NAMES.get(option_type, f"Option {option_type}")}
    if isinstance(option, MNIdentifierOption):
        out.update(subtype=option.subtype, id=option.identifier.decode("utf-8", "backslashreplace"))
    elif isinstance(option, HomeNetworkPrefixOption):
        out["prefix"] = f"{option.prefix}/{option.prefix_length}"
    elif isinstance(option, HandoffIndicatorOption):
        out["hi"] = option.value
    elif isinstance(option, AccessTechnologyTypeOption):
        out["att"] = option.value
    else:
        out.update({field.name: _plain(getattr(option, field.name)) for field in fields(option)
                    if field.name != "type"})
    return out


def _plain(value: object) -> object:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, (IPv4Address, IPv6Address)):
        return str(value)
    return value


def message_text(message: MobilityMessage) -> str:
    """One readable line, e.g.
    ``PBU seq=7 flags=APT lifetime=900 (3600 s) MN-ID=mn1@example.com GRE-Key=0x00001234 (4660)``: the Lifetime field as
    sent (4-second units, RFC 6275 6.1.7) and in seconds, as tshark shows it; a Heartbeat is
    ``Heartbeat-response seq=7 flags=R Restart-Counter=1764241000``."""
    return _message_text(message_json(message), message)


_STATUS_NAMES: dict[type, type[IntEnum]] = {BindingError: BindingErrorStatus,
                                             BindingRevocationAcknowledgement: BindingRevocationStatus}
"""The status codes of each message with a Status field other than the PBA's (:class:`Status`)."""


def _message_text(mh: dict[str, Any], message: MobilityMessage) -> str:
    if isinstance(message, (ProxyBindingUpdate, ProxyBindingAcknowledgement)):
        kind = "BU" if isinstance(message, ProxyBindingUpdate) else "BA"
        words = [("P" if "P" in mh["flags"] else "") + kind, f"seq={mh['seq']}", f"flags={mh['flags'] or '-'}",
                 f"lifetime={mh['lifetime']} ({mh['lifetime'] * LIFETIME_UNIT_SECONDS} s)"]
    elif isinstance(message, (BindingRevocationIndication, BindingRevocationAcknowledgement)):
        kind = "BRI" if isinstance(message, BindingRevocationIndication) else "BRA"
        words = [kind, f"seq={mh['seq']}", f"flags={mh['flags'] or '-'}"]
        if "trigger" in mh:
            words.append(f"trigger={_named(mh['trigger'], RevocationTrigger)}")
    elif isinstance(message, Heartbeat):
        kind = "response" if message.response else "request"
        words = [f"Heartbeat-{kind}", f"seq={mh['seq']}", f"flags={mh['flags'] or '-'}"]
    elif isinstance(message, BindingError):
        words = ["BE"]
    else:
        return f"MH type {mh['type']}"
    if mh["status"] is not None:
        words.append(f"status={_named(mh['status'], _STATUS_NAMES.get(type(message), Status))}")
    words.extend(_option_text(option) for option in mh["options"])
    return " ".join(words)


def _named(value: int, names: type[IntEnum]) -> str:
    """``value`` and its name in ``names`` ("?" for a value it does not define), e.g. ``0 (ACCEPTED)``."""
    return f"{value} ({next((name.name for name in names if name == value), '?')})"


def _option_text(option: dict[str, Any]) -> str:
    label = option["name"].replace(" ", "-")
    if option["type"] == OptionType.GRE_KEY:
        return f"{label}=" + ("none (GRE mode only)" if option["key"] is None else key_text(option["key"]))
    values = (token_text(str(value)) for name, value in option.items() if name not in ("type", "name", "subtype"))
    return f"{label}=" + ",".join(values)


_PLAIN = re.compile(r"[^\s=\",\x00-\x1f\x7f]+")


def token_text(text: str) -> str:
    """``text`` as one word of a line: as it is when it has no space, control character, ``=``, ``,`` or quote,
    else as a JSON string. A peer chooses what it sends (an MN-ID, say): a newline in it cannot start a line of
    its own and a space cannot make it look like more than one field."""
    return text if _PLAIN.fullmatch(text) else json.dumps(text)


def key_text(key: int) -> str:
    return f"0x{key:08x} ({key})"
