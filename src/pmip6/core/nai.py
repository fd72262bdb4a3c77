"""Which configured mobile node an MN Identifier names: NAIs compared as RFC 7542 allows (RFC 4283 section 3).

An MN Identifier option of subtype NAI carries an NAI, ``username@realm`` (RFC 4283 section 3, RFC 7542 section
2.2). The username is opaque to all but the home domain (RFC 7542 section 2.4), so it is compared exactly. The realm
is a domain name (section 2.5), and "Where the 'utf8-realm' is entirely ASCII, current AAA systems sometimes perform
case-insensitive matching on realms. This method MAY be continued" (section 3); for a realm that is not all ASCII
"almost all 'case insensitive' comparisons can be wrong" (same section), so such a realm is compared exactly too.

pmip6 applies this to the LMA's per-mobile-node configuration (``[[mn]]``: tenant and GRE policy) and to the realm a
MAG's revocation names (RFC 5846 8.1, :mod:`pmip6.core.revocation_responder`). The Binding
Cache keeps the identifier's octets: the PBA echoes them (RFC 5213 5.3.6), and "Intermediate nodes MUST NOT modify
the identifiers that they forward" (RFC 7542 section 3).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, TypeVar

_V = TypeVar("_V")


def realm_key(identifier: bytes) -> bytes | None:
    """The realm of an NAI (after its last ``@``) in the form in which two realms naming the same domain are equal:
    in lower case when all ASCII, as it is otherwise; None when there is no ``@``."""
    at = identifier.rfind(b"@")
    if at < 0:
        return None
    realm = identifier[at + 1:]
    return realm.lower() if realm.isascii() else realm


def nai_key(identifier: bytes) -> bytes:
    """The form in which two identifiers naming the same mobile node are equal: the username as it is, the realm as
    :func:`realm_key` gives it."""
    realm = realm_key(identifier)
    if realm is None:
        return identifier
    return identifier[:identifier.rfind(b"@") + 1] + realm


class NaiMap(Generic[_V]):
    """Values by mobile node identifier, found by any identifier :func:`nai_key` makes equal to the configured one.
    Two configured identifiers equal under that rule are refused (ValueError)."""

    __slots__ = ("_values",)

    def __init__(self, items: Iterable[tuple[bytes, _V]] = ()) -> None:
        self._values: dict[bytes, _V] = {}
        configured: dict[bytes, bytes] = {}
        for identifier, value in items:
            key = nai_key(identifier)
            if key in configured:
                raise ValueError(f"mobile node {identifier!r} is {configured[key]!r} again "
                                 "(an NAI's realm is compared without case, RFC 7542 section 3)")
            configured[key] = identifier
            self._values[key] = value

    def get(self, identifier: bytes) -> _V | None:
        """The value configured for the mobile node ``identifier`` names, or None."""
        if not self._values:
            return None
        return self._values.get(nai_key(identifier))
