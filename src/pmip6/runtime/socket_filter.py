"""Classic BPF programs that set the authorized MAGs' signaling apart from strangers' (docs/operations.md,
"Strangers on the signaling port").

RFC 5213 5.3.1 has the LMA accept PBUs from its MAGs only (``[[mag]]``); anyone else's are answered status 154.
So that a stranger's flood cannot fill the queue the MAGs' PBUs wait in, the LMA reads strangers from a socket of
their own, chosen by the kernel from the packet's IP source address:

- IPv4/UDP: two sockets bound to the same address and port (SO_REUSEPORT) and a program for the group
  (SO_ATTACH_REUSEPORT_CBPF) returning the index of the socket a datagram goes to: 0 (the first bound, the
  authorized one) for a ``[[mag]]`` source, 1 otherwise (:func:`reuseport_program`);
- raw IPv6 Mobility Headers: each raw socket of the protocol gets a copy of every packet, so each of the two has a
  socket filter (SO_ATTACH_FILTER) that keeps only its own sources (:func:`mh_filters`).

Either program sees the packet from its transport payload on; it reads the IP source address with the kernel's
negative offsets from the network header (SKF_NET_OFF): IPv4 at +12, IPv6 at +8. The addresses are matched as
32-bit words in a tree (addresses sharing their first words test them once) ending in ``jeq``/``ret`` pairs.
A program longer than the kernel takes (BPF_MAXINSNS, 4096 instructions: about 2,000 IPv4 MAGs, or 2,000 IPv6
MAGs sharing their first 96 bits, 340 that share nothing) is not built: the caller then keeps every source together.
It does so too where the kernel refuses a program for the socket option memory it takes (net.core.optmem_max, 20 KiB
before Linux 6.9: about 800 IPv4 MAGs, or IPv6 ones sharing their first 96 bits; a socket filter is charged with the
one it replaces, so the caller drops the old one first).
"""

from __future__ import annotations

import ctypes
import socket
import struct
from collections.abc import Collection, Sequence
from ipaddress import IPv4Address, IPv6Address
from typing import NamedTuple

from pmip6.core.events import Address


class Instruction(NamedTuple):
    """One classic BPF instruction (struct sock_filter)."""

    code: int
    jt: int
    jf: int
    k: int


Program = Sequence[Instruction]

MAX_INSTRUCTIONS = 4096
"""BPF_MAXINSNS: the longest classic program the kernel takes."""
SKF_NET_OFF = -0x100000
"""Loads at this offset and above read from the network header, wherever the program's data starts."""
IPV4_SOURCE = SKF_NET_OFF + 12
"""The IPv4 header's Source Address."""
IPV6_SOURCE = SKF_NET_OFF + 8
"""The IPv6 header's Source Address."""

SO_ATTACH_FILTER = 26
SO_ATTACH_REUSEPORT_CBPF = 51  # <asm-generic/socket.h>; neither is in the socket module
LD_W_ABS = 0x20
"""BPF_LD | BPF_W | BPF_ABS: A = the 32-bit word at k, in network byte order."""
JEQ_K = 0x15
"""BPF_JMP | BPF_JEQ | BPF_K: skip jt instructions if A == k, else jf."""
JA = 0x05
"""BPF_JMP | BPF_JA: skip k instructions."""
RET_K = 0x06
"""BPF_RET | BPF_K: return k."""

AUTHORIZED_INDEX, STRANGER_INDEX = 0, 1
"""The reuseport group's sockets, in the order they were bound."""
KEEP, DROP = 0xFFFFFFFF, 0
"""A socket filter's answers: keep the whole packet, or none of it."""

_INSTRUCTION = struct.Struct("=HBBI")
_FPROG = struct.Struct("@HP")
"""struct sock_fprog: the instruction count and a pointer to the instructions."""


def source_program(sources: Collection[Address], offset: int, matched: int, other: int) -> Program | None:
    """A program returning ``matched`` for a packet whose source address (read at ``offset``) is one of
    ``sources`` (all of one family) and ``other`` for any other; None if it would be longer than the kernel takes."""
    words = sorted({struct.unpack(f"!{len(address.packed) // 4}I", address.packed) for address in sources})
    program = [*_match(words, 0, offset, matched), Instruction(RET_K, 0, 0, other)] if words else \
        [Instruction(RET_K, 0, 0, other)]
    return program if len(program) <= MAX_INSTRUCTIONS else None


def _match(words: list[tuple[int, ...]], depth: int, offset: int, matched: int) -> list[Instruction]:
    """Return ``matched`` when the source's words from ``depth`` on are those of one of ``words`` (sorted, the
    same words before ``depth``), else fall through to the instruction after."""
    load = Instruction(LD_W_ABS, 0, 0, offset + 4 * depth)
    if depth == len(words[0]) - 1:
        program = [load]
        for word in dict.fromkeys(address[depth] for address in words):
            program += [Instruction(JEQ_K, 0, 1, word), Instruction(RET_K, 0, 0, matched)]
        return program
    groups: dict[int, list[tuple[int, ...]]] = {}
    for address in words:
        groups.setdefault(address[depth], []).append(address)
    program = []
    for word, group in groups.items():
        body = _match(group, depth + 1, offset, matched)
        program += [load, Instruction(JEQ_K, 1, 0, word), Instruction(JA, 0, 0, len(body)), *body]
    return program


def reuseport_program(mags: Collection[Address]) -> Program | None:
    """The UDP group's program: the authorized socket for the IPv4 ``[[mag]]`` sources, the strangers' for any
    other; None when there are too many MAGs for one program."""
    ipv4 = [mag for mag in mags if isinstance(mag, IPv4Address)]
    return source_program(ipv4, IPV4_SOURCE, AUTHORIZED_INDEX, STRANGER_INDEX)


def mh_filters(mags: Collection[Address]) -> tuple[Program, Program] | None:
    """The raw IPv6 sockets' filters, (authorized, strangers): the first keeps the IPv6 ``[[mag]]`` sources, the
    second every other; None when there are too many MAGs for one program."""
    ipv6 = [mag for mag in mags if isinstance(mag, IPv6Address)]
    authorized = source_program(ipv6, IPV6_SOURCE, KEEP, DROP)
    strangers = source_program(ipv6, IPV6_SOURCE, DROP, KEEP)
    return None if authorized is None or strangers is None else (authorized, strangers)


ALL_AUTHORIZED_INDEX: Program = (Instruction(RET_K, 0, 0, AUTHORIZED_INDEX),)
"""The group's program when no split is possible: every datagram to the authorized socket, as with one socket."""
ALL_KEPT: Program = (Instruction(RET_K, 0, 0, KEEP),)
NONE_KEPT: Program = (Instruction(RET_K, 0, 0, DROP),)
"""The raw sockets' filters when no split is possible: (authorized, strangers) = (ALL_KEPT, NONE_KEPT)."""


TOO_MANY_MAGS = "too many [[mag]] addresses for one socket program"
"""Why strangers are not set apart when :func:`source_program` builds no program."""


def refused(error: OSError) -> str:
    """Why strangers are not set apart when the kernel refuses a program :func:`attach` gives it."""
    return f"the kernel refused the socket program: {error.strerror or error}"


def attach(sock: socket.socket, option: int, program: Program) -> None:
    """Attach ``program`` to ``sock`` with ``option`` (SO_ATTACH_FILTER or SO_ATTACH_REUSEPORT_CBPF), in place of
    the one it had: the kernel copies it, and raises OSError if it refuses it."""
    code = b"".join(_INSTRUCTION.pack(op, jt, jf, k & 0xFFFFFFFF) for op, jt, jf, k in program)
    buffer = ctypes.create_string_buffer(code, len(code))
    sock.setsockopt(socket.SOL_SOCKET, option, _FPROG.pack(len(program), ctypes.addressof(buffer)))
