"""Tools for people who test PMIPv6 with other software: Scapy layers (``scapy_pmip6``).

Nothing here is imported by the daemons; each module imports its third-party library on demand.
"""
