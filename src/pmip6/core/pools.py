"""Per-tenant address pools: IPv6 home network prefixes (RFC 5213 5.3.2) and IPv4 home addresses (RFC 5844 3.1.2.2).

Pools belong to a tenant, so two tenants may hand out the same address (the draft's Figure 1:
overlapping private IPv4 space, told apart by GRE keys).
"""

from __future__ import annotations

from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Interface, IPv4Network, IPv6Network

from pmip6.core.bitset import SparseBitSet
from pmip6.core.lma_settings import Tenant


class SubnetPool:
    """The /``length`` subnets of ``network``, handed out lowest-free-first after the last allocation (next fit: a
    released subnet is handed out again as late as possible).

    ``reserved`` lists subnet indexes that are never handed out (e.g. an IPv4 network address).
    """

    __slots__ = ("network", "length", "_base", "_count", "_step", "_reserved", "_used", "_cursor")

    def __init__(self, network: IPv4Network | IPv6Network, length: int, reserved: frozenset[int] = frozenset()) -> None:
        if not network.prefixlen <= length <= network.max_prefixlen:
            raise ValueError(f"subnet length /{length} does not fit in {network}")
        self.network = network
        self.length = length
        self._base = int(network.network_address)
        self._count = 1 << (length - network.prefixlen)
        self._step = 1 << (network.max_prefixlen - length)
        self._reserved = frozenset(index for index in reserved if 0 <= index < self._count)
        self._used = SparseBitSet()
        self._cursor = 0

    def _subnet(self, index: int) -> IPv4Network | IPv6Network:
        return type(self.network)((self._base + index * self._step, self.length))

    def _index(self, subnet: IPv4Network | IPv6Network) -> int | None:
        """The subnet's index, or None when it is not one of this pool's subnets (in integers: ipaddress's
        ``subnet_of`` costs a restore or reload of 100,000 bindings half a second)."""
        if type(subnet) is not type(self.network) or subnet.prefixlen != self.length:
            return None
        index = (int(subnet.network_address) - self._base) // self._step  # a subnet's address is aligned
        return index if 0 <= index < self._count else None

    def index_unavailability(self, index: int | None) -> str | None:
        """:meth:`unavailability` of the subnet at ``index`` (counted from the pool's first; None: not one of the
        pool's), for a caller that has the index in integers (an address's offset in a pool of /32s,
        :class:`IPv4HomeAddressPool`)."""
        if index is None or not 0 <= index < self._count:
            return f"outside the pool {self.network} (/{self.length} each)"
        if index in self._reserved:
            return f"reserved in the pool {self.network}"
        return "in use by another binding" if index in self._used else None

    def claim_index(self, index: int) -> bool:
        """:meth:`claim` of the subnet at ``index``."""
        if self.index_unavailability(index) is not None:
            return False
        self._used.add(index)
        return True

    def available(self, subnet: IPv4Network | IPv6Network) -> bool:
        """True when ``subnet`` belongs to the pool, is not reserved and is free."""
        index = self._index(subnet)
        return index is not None and index not in self._reserved and index not in self._used

    def unavailability(self, subnet: IPv4Network | IPv6Network) -> str | None:
        """Why ``subnet`` is not :meth:`available`, in words ("outside ...", "reserved", "in use"); None if it is."""
        return self.index_unavailability(self._index(subnet))

    def has_free(self) -> bool:
        return len(self._used) + len(self._reserved) < self._count

    def allocate(self) -> IPv4Network | IPv6Network | None:
        """A free subnet, now in use; None when the pool is exhausted."""
        if not self.has_free():
            return None
        index = self._first_free(self._cursor, self._count)
        if index is None:
            index = self._first_free(0, self._cursor)
        assert index is not None  # has_free()
        self._used.add(index)
        self._cursor = (index + 1) % self._count
        return self._subnet(index)

    def _first_free(self, start: int, end: int) -> int | None:
        """The lowest index in ``[start, end)`` neither used nor reserved, or None."""
        index = self._used.first_absent(start, end)
        while index is not None and index in self._reserved:
            index = self._used.first_absent(index + 1, end)
        return index

    def claim(self, subnet: IPv4Network | IPv6Network) -> bool:
        """Take a specific subnet; False (and nothing changes) when it is not available."""
        if not self.available(subnet):
            return False
        self._used.add(self._index(subnet))  # type: ignore[arg-type]
        return True

    def release(self, subnet: IPv4Network | IPv6Network) -> None:
        index = self._index(subnet)
        if index is not None:
            self._used.discard(index)

    def __len__(self) -> int:
        return len(self._used)


class IPv4HomeAddressPool:
    """IPv4 home addresses of one home network (RFC 5844 3.1.2.2).

    The network address, the broadcast address and the first usable address are never handed out; the
    first usable address is the mobile nodes' default router (IPv4 Default-Router Address option, 3.3.3).
    An address is known to its pool of /32s by its offset from the network address, an integer: an ipaddress object
    costs microseconds to build, and a restore or reload checks and takes every binding's address again.
    """

    __slots__ = ("network", "default_router", "_hosts", "_base")

    def __init__(self, network: IPv4Network) -> None:
        if network.prefixlen > 30:
            raise ValueError(f"IPv4 pool {network} is too small: it needs a /30 or larger")
        self.network = network
        self.default_router = network.network_address + 1
        last = network.num_addresses - 1
        self._hosts = SubnetPool(network, 32, reserved=frozenset({0, 1, last}))
        self._base = int(network.network_address)

    def _interface(self, address: IPv4Address) -> IPv4Interface:
        return IPv4Interface((int(address), self.network.prefixlen))

    def _offset(self, address: IPv4Address) -> int:
        return int(address) - self._base

    def available(self, address: IPv4Address) -> bool:
        return self._hosts.index_unavailability(self._offset(address)) is None

    def unavailability(self, address: IPv4Address) -> str | None:
        """Why ``address`` is not :meth:`available`, in words; None if it is."""
        if address == self.default_router:
            return f"the default router of the pool {self.network}"
        reason = self._hosts.index_unavailability(self._offset(address))
        return reason.replace(" (/32 each)", "") if reason is not None else None

    def has_free(self) -> bool:
        return self._hosts.has_free()

    def allocate(self) -> IPv4Interface | None:
        host = self._hosts.allocate()
        return None if host is None else self._interface(host.network_address)  # type: ignore[arg-type]

    def claim(self, address: IPv4Address) -> IPv4Interface | None:
        """Take a specific address; None when it is not available."""
        return self._interface(address) if self.take(address) else None

    def take(self, address: IPv4Address) -> bool:
        """:meth:`claim` without building the address's interface: a restore or reload has it already."""
        return self._hosts.claim_index(self._offset(address))

    def release(self, address: IPv4Address) -> None:
        self._hosts.release(_host(address))

    def __len__(self) -> int:
        return len(self._hosts)


def _host(address: IPv4Address) -> IPv4Network:
    """The /32 of ``address``; from its int, since ipaddress would parse an address object from its text."""
    return IPv4Network(int(address))


@dataclass(frozen=True, slots=True)
class TenantPools:
    """The pools of one tenant; a family without a pool is a family the tenant is not served for."""

    ipv4: IPv4HomeAddressPool | None
    prefixes: SubnetPool | None

    @classmethod
    def for_tenant(cls, tenant: Tenant) -> TenantPools:
        ipv4 = IPv4HomeAddressPool(tenant.ipv4_pool) if tenant.ipv4_pool is not None else None
        prefixes = (SubnetPool(tenant.ipv6_prefix_pool, tenant.hnp_length)
                    if tenant.ipv6_prefix_pool is not None else None)
        return cls(ipv4=ipv4, prefixes=prefixes)
