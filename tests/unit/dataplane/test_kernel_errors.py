"""plan_error_routes: which rule each tenant uplink address gets for the kernel's own ICMP errors, and the warnings
(docs/dataplane.md, "ICMP errors")."""

from __future__ import annotations

import socket

from pmip6.dataplane.address_dump import InterfaceAddress
from pmip6.dataplane.kernel_errors import ErrorRoute, plan_error_routes
from pmip6.dataplane.settings import TenantSettings

OPA = TenantSettings("opA", "tena", 100, "upa")
OPB = TenantSettings("opB", "tenb", 110, "upb")


def _address(index: int, address: str) -> InterfaceAddress:
    return InterfaceAddress(index, socket.AF_INET6 if ":" in address else socket.AF_INET, 0, address)


def test_each_tenants_own_uplink_address_routes_its_errors_by_the_tenants_table() -> None:
    upa, upb = [_address(5, "10.0.0.254"), _address(5, "2001:db8:ff::fe")], [_address(6, "10.0.0.253")]
    plan = plan_error_routes({OPA: upa, OPB: upb}, inbound_ipv4=True)
    assert plan.routes == (ErrorRoute(socket.AF_INET, "10.0.0.254", 100),
                           ErrorRoute(socket.AF_INET6, "2001:db8:ff::fe", 100),
                           ErrorRoute(socket.AF_INET, "10.0.0.253", 110))
    assert plan.tun_addresses == {"tena": tuple(upa), "tenb": tuple(upb)}
    assert plan.warnings == ()


def test_an_address_two_tenants_share_is_a_blackhole_and_a_warning_naming_them() -> None:
    shared = _address(5, "10.0.0.254")
    plan = plan_error_routes({OPA: [shared], OPB: [_address(6, "10.0.0.254"), _address(6, "2001:db8:ff::fd")]},
                             inbound_ipv4=True)
    assert plan.routes == (ErrorRoute(socket.AF_INET, "10.0.0.254", None),
                           ErrorRoute(socket.AF_INET6, "2001:db8:ff::fd", 110))
    assert plan.warnings == (
        "tenants opA and opB share uplink address 10.0.0.254: the kernel's own ICMP errors about their traffic "
        "(Time Exceeded, Destination Unreachable) are dropped, not sent to one of them; give each tenant's uplink an "
        "address of its own",)


def test_without_inbound_source_addresses_two_tenants_get_a_warning_one_tenant_none() -> None:
    """With the sysctl 0 an IPv4 error has no source when it is routed: nothing tells two tenants apart."""
    one = plan_error_routes({OPA: [_address(5, "10.0.0.254")]}, inbound_ipv4=False)
    assert one.warnings == ()
    two = plan_error_routes({OPA: [_address(5, "10.0.0.254")], OPB: [_address(6, "10.0.0.253")]},
                            inbound_ipv4=False)
    assert two.routes == (ErrorRoute(socket.AF_INET, "10.0.0.254", 100), ErrorRoute(socket.AF_INET, "10.0.0.253", 110))
    assert two.warnings == (
        "net.ipv4.icmp_errors_use_inbound_ifaddr is 0, not 1: the kernel's own IPv4 ICMP errors about the tenants' "
        "traffic (Time Exceeded, Destination Unreachable) are routed by the main table, which may send an error "
        "about one tenant's packet to another tenant",)
