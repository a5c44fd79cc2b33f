"""The single webhook writer, as a group commit.

Requests hand their delivery to one writer thread and wait. The writer takes every delivery
that queued while its previous commit ran, has the desk store and apply them all in one
transaction (``Inbox.calendly_batch``: a savepoint each, one fsync), and only then answers
each waiting request with its own receipt. Deliveries queue here for SQLite's single write
lock instead of contending for it, and the event loop never blocks.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Generic, TypeVar

log = logging.getLogger(__name__)
Item = TypeVar("Item")
Result = TypeVar("Result")
MAX_BATCH = 256  # a bound on one transaction, so one commit never grows without limit


class GroupCommit(Generic[Item, Result]):
    """Feed items to ``process`` (a list in, one result per item out) in batches, from one
    thread; ``await submit(item)`` gives that item's result once its batch is done."""

    def __init__(self, process: Callable[[list[Item]], list[Result]], name: str) -> None:
        self.process = process
        self.name = name
        self._queue: queue.SimpleQueue[tuple[Item, Future]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    async def submit(self, item: Item) -> Result:
        future: Future = Future()
        self._queue.put((item, future))
        self._start()
        return await asyncio.wrap_future(future)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                results = self.process([item for item, _ in batch])
            except BaseException as exc:  # the whole batch failed: each request hears of it
                log.exception("%s: a batch of %d failed", self.name, len(batch))
                for _, future in batch:
                    future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                future.set_result(result)
