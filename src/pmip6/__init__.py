"""pmip6: Proxy Mobile IPv6 (RFC 5213, RFC 5844) with the GRE Key Option (RFC 5845)."""

__version__ = "0.1.0"
