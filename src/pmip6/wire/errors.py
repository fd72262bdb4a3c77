"""The one exception a pmip6 decoder may raise."""

from __future__ import annotations


class DecodeError(Exception):
    """Malformed input: says which field was wrong and at which octet offset.

    Decoders in ``pmip6.wire`` raise this and nothing else (no IndexError, struct.error or
    ValueError) for any input bytes whatsoever.
    """

    def __init__(self, field: str, offset: int, problem: str) -> None:
        super().__init__(f"{field} at offset {offset}: {problem}")
        self.field = field
        self.offset = offset
        self.problem = problem
