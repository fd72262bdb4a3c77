"""The LMA's GRE policy check (RFC 5845 sections 3.3, 5.2; "based on a policy check").

The draft leaves the policy itself to the operator: "e.g., overlapping IPv4 private addressing is in
use, local mobility anchor local policy or LMA-MAG peer agreement" (GK-5.2-4). pmip6 models it as data:
an LMA-wide default, a per MAG-LMA pair value and a per mobile node value.

Precedence, most specific first: the mobile node's policy, then the MAG-LMA pair's, then the LMA default. A mobile
node's policy applies to any identifier naming it, its NAI's realm compared without case (:mod:`pmip6.core.nai`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from pmip6.core.events import Address
from pmip6.core.nai import NaiMap


class GrePolicy(StrEnum):
    """What the LMA wants for a binding.

    REQUIRED: GRE encapsulation (with keys when offered) is mandatory; a PBU without the GRE Key option
    is rejected with GRE_KEY_OPTION_REQUIRED (GK-5.2-4).
    OPTIONAL: GRE is accepted when the MAG asks for it and not imposed otherwise (GK-3.3.2-6).
    NOT_REQUIRED: a PBU with the option is accepted with GRE_KEY_OPTION_NOT_REQUIRED (GK-5.2-5).
    """

    REQUIRED = "required"
    OPTIONAL = "optional"
    NOT_REQUIRED = "not-required"


@dataclass(frozen=True, slots=True)
class LmaGrePolicy:
    """The GRE policy of one LMA: default, per MAG-LMA pair (keyed by Proxy-CoA) and per MN-Identifier. Two
    ``per_mn`` identifiers naming the same mobile node (:class:`~pmip6.core.nai.NaiMap`) are a ValueError."""

    default: GrePolicy = GrePolicy.OPTIONAL
    per_mag: Mapping[Address, GrePolicy] = field(default_factory=dict)
    per_mn: Mapping[bytes, GrePolicy] = field(default_factory=dict)
    _by_mn: NaiMap[GrePolicy] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_mn", NaiMap(self.per_mn.items()))

    def resolve(self, mn_id: bytes, mag: Address) -> GrePolicy:
        """The policy for this MN behind this MAG: MN first, then the MAG-LMA pair, then the default."""
        mn_policy = self._by_mn.get(mn_id)
        if mn_policy is not None:
            return mn_policy
        if not self.per_mag:  # hashing an address costs more than the rest of the lookup
            return self.default
        return self.per_mag.get(mag, self.default)

    def deciding(self, mn_id: bytes, mag: Address) -> str:
        """Which policy :meth:`resolve` takes for this MN behind this MAG, in words for a log line."""
        if self._by_mn.get(mn_id) is not None:
            return "the mobile node's GRE policy"
        if mag in self.per_mag:
            return f"the GRE policy of MAG {mag}"
        return "the LMA's default GRE policy"
