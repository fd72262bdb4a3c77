"""A black-box conformance tester for LMAs: it plays a MAG over real sockets and checks the GRE Key
rules of RFC 5845 (sections 3, 5.2, 6, 7.2, 7.4) and the RFC 5213/5844 basics they rest on.

- :mod:`~pmip6.conformance.signaling`: UDP (RFC 5844) and raw MH (IPv6) transports, one PBU -> one PBA;
- :mod:`~pmip6.conformance.probe`: the MAG role (registration, re-registration, handoff, de-registration);
- :mod:`~pmip6.conformance.checks`: one check per requirement ID, with the LMA policy it needs;
- :mod:`~pmip6.conformance.runner`: runs them and collects verdicts and packets.
The command line is ``pmip6 conformance`` (:mod:`pmip6.commands.conformance`).
"""
