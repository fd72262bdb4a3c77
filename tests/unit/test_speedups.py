"""The C fast path of the codec (pmip6.wire._speedups) against the pure-Python reference (pmip6.wire.mobility).

Whatever the extension accepts it must encode and decode exactly as the reference does; whatever the
reference rejects the extension must decline (None), so that the reference's precise error is the one raised.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from ipaddress import IPv4Address, IPv6Address
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from codec_strategies import LMA, MAG, messages, mutate, mutations, repair_header_len
from pmip6.wire import mobility
from pmip6.wire.accelerator import PURE_PYTHON_VARIABLE
from pmip6.wire.errors import DecodeError
from pmip6.wire.messages import (
    BindingError,
    MobilityMessage,
    ProxyBindingAcknowledgement,
    ProxyBindingUpdate,
    UnknownMessage,
)
from pmip6.wire.mobility import pure_decode_message, pure_encode_message
from pmip6.wire.numbers import BUFlags, MHType
from pmip6.wire.options import (
    GREKeyOption,
    HomeNetworkPrefixOption,
    IPv4HomeAddressReplyOption,
    MNIdentifierOption,
    NATDetectionOption,
    TimestampOption,
    UnknownOption,
    VendorSpecificOption,
)

ROOT = Path(__file__).parents[2]


def _speedups() -> ModuleType:
    if mobility.SPEEDUPS is None:
        reason = ("PMIP6_PURE_PYTHON is set" if os.environ.get(PURE_PYTHON_VARIABLE)
                  else "the C extension is not built (no C compiler when pmip6 was installed)")
        pytest.skip(reason)
    return mobility.SPEEDUPS


def test_the_extension_is_built_wherever_a_compiler_is() -> None:
    """`pip install` compiles the fast path when it can; a silent fallback would hide a broken build."""
    if os.environ.get(PURE_PYTHON_VARIABLE):
        pytest.skip("PMIP6_PURE_PYTHON is set")
    if shutil.which("cc") is None and shutil.which("gcc") is None:
        pytest.skip("no C compiler on this machine: pmip6 runs the pure-Python codec")
    assert mobility.SPEEDUPS is not None, "run `pip install -e .` (or `make venv`) to build pmip6.wire._speedups"


def test_pure_python_variable_turns_the_extension_off() -> None:
    code = "from pmip6.wire import mobility; print(mobility.SPEEDUPS is None)"
    env = {**os.environ, PURE_PYTHON_VARIABLE: "1"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "True"


def test_fast_path_under_address_sanitizer() -> None:
    """A short run of `make fuzz-c`: the extension built with ASan + UBSan, fuzzed against the reference."""
    _speedups()
    gcc = shutil.which("gcc")
    if gcc is None or not Path(subprocess.run([gcc, "-print-file-name=libasan.so"], capture_output=True,
                                              text=True).stdout.strip()).is_file():
        pytest.skip("no gcc with AddressSanitizer on this machine")
    result = subprocess.run(["bash", str(ROOT / "fuzz" / "speedups_asan.sh"), "5"], capture_output=True, text=True,
                            timeout=240)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "all as the reference" in result.stdout


@settings(max_examples=1500, deadline=None)
@given(messages, st.booleans())
def test_same_octets_and_same_messages_as_the_reference(message: MobilityMessage, with_checksum: bool) -> None:
    source, destination = (MAG, LMA) if with_checksum else (None, None)
    speedups = _speedups()
    encoded = pure_encode_message(message, source=source, destination=destination)
    fast_encoded = speedups.encode_message(message, source, destination)
    fast_decoded = speedups.decode_message(encoded)
    if isinstance(message, UnknownMessage):  # other MH types are the reference's alone
        assert fast_encoded is None and fast_decoded is None
        return
    assert fast_encoded == encoded  # a well-formed PBU, PBA or BE is never declined
    assert fast_decoded == pure_decode_message(encoded) == message
    if not isinstance(message, BindingError):
        assert type(fast_decoded.flags) is type(message.flags)


def _agree_on(data: bytes) -> None:
    fast = _speedups().decode_message(data)
    try:
        reference = pure_decode_message(data)
    except DecodeError:
        assert fast is None, f"the fast path accepted what the reference rejects: {data.hex()}"
        return
    assert fast is None or fast == reference


@settings(max_examples=1500, deadline=None)
@given(messages, mutations)
def test_mutated_encodings_are_decoded_alike_or_declined(message: MobilityMessage,
                                                         edits: list[tuple[str, int, int]]) -> None:
    mutated = mutate(pure_encode_message(message), edits)
    repaired = repair_header_len(mutated)
    _agree_on(mutated)
    _agree_on(repaired)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200), st.sampled_from([MHType.BINDING_UPDATE, MHType.BINDING_ACKNOWLEDGEMENT,
                                                 MHType.BINDING_ERROR]))
def test_arbitrary_bodies_are_decoded_alike_or_declined(body: bytes, mh_type: int) -> None:
    body += bytes(-(len(body) + 6) % 8)
    _agree_on(bytes([59, (len(body) + 6) // 8 - 1, mh_type, 0, 0, 0]) + body)


@pytest.mark.parametrize("data", [
    b"", bytes(8), bytes([59, 0, 5, 0, 0, 0, 0, 0]), bytes([59, 1, 5, 0, 0, 0]) + bytes(9),
    bytes([59, 0, 6, 0, 0, 0, 0, 0]),
    bytes([59, 1, 5, 0, 0, 0, 0, 1, 0, 0, 0, 0, 33, 4, 0, 0]),  # GRE Key of Length 4
    bytes([59, 1, 5, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 8]),  # Length octet runs off the end
    bytes([59, 2, 5, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 0, 0, 22, 18, 0, 129] + [0] * 4),  # HNP /129, cut short
], ids=["empty", "zero", "pbu-too-short", "truncated", "pba-too-short", "gre-length",
        "length-past-end", "hnp-past-end"])
def test_malformed_input_is_declined(data: bytes) -> None:
    assert _speedups().decode_message(data) is None
    with pytest.raises(DecodeError):
        mobility.decode_message(data)


def test_other_mh_types_are_left_to_the_reference() -> None:
    data = bytes([59, 1, 9, 0, 0, 0]) + bytes(10)
    assert _speedups().decode_message(data) is None
    assert mobility.decode_message(data) == UnknownMessage(9, bytes(10))


OUT_OF_RANGE: list[MobilityMessage] = [
    ProxyBindingUpdate(1 << 16),
    ProxyBindingUpdate(-1),
    ProxyBindingUpdate(1, lifetime=1 << 16),
    ProxyBindingAcknowledgement(256, 1),
    BindingError(256),
    ProxyBindingUpdate(1, options=(GREKeyOption(1 << 32),)),
    ProxyBindingUpdate(1, options=(HomeNetworkPrefixOption(IPv6Address(0), 129),)),
    ProxyBindingUpdate(1, options=(TimestampOption(1 << 48),)),
    ProxyBindingUpdate(1, options=(MNIdentifierOption(bytes(255)),)),
    ProxyBindingUpdate(1, options=(VendorSpecificOption(bytes(256)),)),
    ProxyBindingUpdate(1, options=(NATDetectionOption(True, -1),)),
    ProxyBindingAcknowledgement(0, 1, options=(IPv4HomeAddressReplyOption(0, IPv4Address(0), 33),)),
    ProxyBindingUpdate(1, options=(UnknownOption(1, b""),)),
    ProxyBindingUpdate(1, options=tuple(VendorSpecificOption(bytes(200)) for _ in range(12))),  # > 2048 octets
]


@pytest.mark.parametrize("message", OUT_OF_RANGE, ids=lambda message: repr(message)[:60])
def test_values_that_do_not_fit_are_declined(message: MobilityMessage) -> None:
    assert _speedups().encode_message(message, MAG, LMA) is None
    with pytest.raises(ValueError):
        mobility.encode_message(message, source=MAG, destination=LMA)


NOT_THE_EXPECTED_TYPES: list[tuple[MobilityMessage, IPv6Address | None]] = [
    (ProxyBindingUpdate(1, options=(MNIdentifierOption(bytearray(b"mn")),)), None),  # type: ignore[arg-type]
    (ProxyBindingUpdate(1, options=[GREKeyOption(7)]), None),  # type: ignore[arg-type]
    (ProxyBindingUpdate(True, BUFlags.A), None),
    (ProxyBindingUpdate(1, options=(HomeNetworkPrefixOption("2001:db8::", 64),)), None),  # type: ignore[arg-type]
    (ProxyBindingUpdate(1), IPv6Address("2001:db8::1%eth0")),
]


@pytest.mark.parametrize("message, source", NOT_THE_EXPECTED_TYPES, ids=lambda value: repr(value)[:60])
def test_other_value_types_get_the_reference_behaviour(message: MobilityMessage, source: IPv6Address | None) -> None:
    """Whatever the fast path does with unusual types, the public function behaves like the reference."""
    def outcome(encode: Callable[..., bytes]) -> object:
        try:
            return encode(message, source=source, destination=LMA if source is not None else None)
        except (TypeError, ValueError, AttributeError) as error:
            return type(error)
    assert outcome(mobility.encode_message) == outcome(pure_encode_message)


def test_objects_that_are_not_messages_are_declined() -> None:
    speedups = _speedups()
    assert speedups.encode_message(object(), None, None) is None
    assert speedups.decode_message(bytearray(8)) is None
    with pytest.raises(TypeError):
        mobility.encode_message(object())  # type: ignore[arg-type]
