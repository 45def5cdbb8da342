"""Micro-batching: concurrent /classify requests share one forward pass.

A batch starts with the oldest waiting request and takes every request already queued behind it (up
to CLASSIFY_MAX_BATCH texts), so a lone request runs at once, and under load the requests that arrive
while the model is busy form the next batch by themselves. CLASSIFY_BATCH_WAIT_MS (default 0) can add
a wait for company on top. One model call at a time runs in a single worker thread and each request
gets its own slice of the results: the event loop never blocks on torch.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

BatchFn = Callable[[list[str]], list[Any]]


class MicroBatcher:
    def __init__(
        self,
        fn: BatchFn,
        *,
        max_batch: int,
        wait_ms: float,
        on_batch: Callable[[int], None] | None = None,
    ):
        self.fn = fn
        self.max_batch = max_batch
        self.wait_s = wait_ms / 1000
        self.on_batch = on_batch
        self._queue: asyncio.Queue[tuple[list[str], asyncio.Future[list[Any]]]] | None = None
        self._task: asyncio.Task[None] | None = None
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="classify")

    def start(self) -> None:
        self._queue = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def submit(self, texts: list[str]) -> list[Any]:
        if self._queue is None:
            raise RuntimeError("the batcher is not started")
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        await self._queue.put((texts, future))
        return await future

    async def _loop(self) -> None:
        assert self._queue is not None
        loop = asyncio.get_running_loop()
        while True:
            batch = [await self._queue.get()]
            count = len(batch[0][0])
            while count < self.max_batch and not self._queue.empty():  # those already waiting
                item = self._queue.get_nowait()
                batch.append(item)
                count += len(item[0])
            deadline = loop.time() + self.wait_s
            while count < self.max_batch:
                remaining = deadline - loop.time()
                if remaining <= 0:
                    break
                try:
                    item = await asyncio.wait_for(self._queue.get(), remaining)
                except TimeoutError:
                    break
                batch.append(item)
                count += len(item[0])
            live = [(texts, fut) for texts, fut in batch if not fut.done()]  # skip clients that left
            if not live:
                continue
            flat = [text for texts, _ in live for text in texts]
            try:
                results = await loop.run_in_executor(self._executor, self.fn, flat)
            except Exception as err:
                for _, fut in live:
                    if not fut.done():
                        fut.set_exception(err)
                continue
            if self.on_batch is not None:
                self.on_batch(len(flat))
            start = 0
            for texts, fut in live:
                if not fut.done():
                    fut.set_result(results[start : start + len(texts)])
                start += len(texts)
