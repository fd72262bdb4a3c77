"""How daemons name things in their messages (pmip6.naming)."""

from __future__ import annotations

from pmip6.naming import counted, listed


def test_counted_puts_the_noun_in_the_right_number() -> None:
    assert [counted(count, "binding") for count in (0, 1, 2)] == ["0 bindings", "1 binding", "2 bindings"]


def test_a_list_past_five_names_says_how_many_more_so_a_log_line_does_not_grow_with_a_backlog() -> None:
    """Walkthrough 22: a state file write failing through a disk-full outage named every MN still waiting, 5.8 KB a
    line at 300 MNs."""
    names = [f"mn{index}@opA" for index in range(300)]
    assert listed(names[:5]) == "mn0@opA, mn1@opA, mn2@opA, mn3@opA, mn4@opA"
    assert listed(names) == "mn0@opA, mn1@opA, mn2@opA, mn3@opA, mn4@opA and 295 more"
    assert listed([]) == ""
