"""The MAG and LMA state machines: message + now in, messages to send + events out. No I/O, no clock."""
