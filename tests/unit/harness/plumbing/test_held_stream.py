"""What background threads print waits while pytest's progress line runs, and none of it is lost."""

from __future__ import annotations

import io

from vnode_harness.plumbing.console import HeldStream


def test_lines_pass_through_until_held_and_come_out_whole_and_in_order_when_released():
    target = io.StringIO()
    stream = HeldStream(target)
    stream.write("shard-1: ready\n")
    stream.hold()
    stream.write("shard-2: ")
    stream.write("ready\n")
    assert target.getvalue() == "shard-1: ready\n"
    stream.release()
    assert target.getvalue() == "shard-1: ready\nshard-2: ready\n"
    stream.write("shard-3: ready\n")
    assert target.getvalue().endswith("shard-3: ready\n")


def test_releasing_twice_or_without_holding_writes_nothing_twice():
    target = io.StringIO()
    stream = HeldStream(target)
    stream.release()
    stream.hold()
    stream.write("kept\n")
    stream.release()
    stream.release()
    assert target.getvalue() == "kept\n"
