"""The webhook writer's group commit: batches form while a commit runs; answers match."""

from __future__ import annotations

import asyncio
import threading

import pytest

from booking.web.ingest import GroupCommit
from tests.servers import run_async


def test_requests_that_queue_during_a_commit_share_the_next_one():
    """50 concurrent submits while the first batch is held: far fewer batches than items,
    and every caller gets the result of its own item."""
    release = threading.Event()
    batches: list[list[int]] = []

    def process(items: list[int]) -> list[int]:
        if not batches:
            release.wait(5)  # the first commit is slow; the rest queue meanwhile
        batches.append(items)
        return [i * 10 for i in items]

    writer = GroupCommit(process, "test-writer")

    async def main() -> list[int]:
        first = asyncio.ensure_future(writer.submit(0))
        await asyncio.sleep(0.05)
        rest = [asyncio.ensure_future(writer.submit(i)) for i in range(1, 50)]
        await asyncio.sleep(0.05)
        release.set()
        return await asyncio.gather(first, *rest)

    assert run_async(main()) == [i * 10 for i in range(50)]
    assert batches[0] == [0] and len(batches) == 2 and sorted(batches[1]) == list(range(1, 50))


def test_a_failed_batch_is_reported_to_each_of_its_callers_and_the_writer_goes_on():
    """A batch that raises answers each waiting request with the error; the next works."""
    calls = []

    def process(items: list[str]) -> list[str]:
        calls.append(items)
        if items == ["boom"]:
            raise RuntimeError("disk I/O error")
        return [s.upper() for s in items]

    writer = GroupCommit(process, "test-writer-2")

    async def main():
        with pytest.raises(RuntimeError, match="disk I/O"):
            await writer.submit("boom")
        return await writer.submit("ok")

    assert run_async(main()) == "OK"
