"""Micro-batching of /classify: concurrent requests share one model call, each gets its own slice."""

from __future__ import annotations

import asyncio

import pytest

from service.batching import MicroBatcher


def run(coroutine):
    return asyncio.run(coroutine)


def test_concurrent_requests_share_one_call():
    calls: list[list[str]] = []

    def model(texts: list[str]) -> list[str]:
        calls.append(list(texts))
        return [t.upper() for t in texts]

    async def scenario():
        batcher = MicroBatcher(model, max_batch=6, wait_ms=1_000)
        batcher.start()
        try:
            # All three are queued before the batcher looks: it takes them together (6 texts = max_batch).
            return await asyncio.gather(
                batcher.submit(["a", "b"]), batcher.submit(["c"]), batcher.submit(["d", "e", "f"])
            )
        finally:
            await batcher.stop()

    results = run(scenario())
    assert results == [["A", "B"], ["C"], ["D", "E", "F"]]
    assert calls == [["a", "b", "c", "d", "e", "f"]]


def test_a_full_batch_does_not_wait_and_the_rest_goes_next():
    calls: list[int] = []

    def model(texts: list[str]) -> list[int]:
        calls.append(len(texts))
        return [len(t) for t in texts]

    async def scenario():
        batcher = MicroBatcher(model, max_batch=2, wait_ms=60_000)
        batcher.start()
        try:
            return await asyncio.gather(*(batcher.submit(["x" * i, "y"]) for i in range(1, 4)))
        finally:
            await batcher.stop()

    assert run(scenario()) == [[1, 1], [2, 1], [3, 1]]
    assert calls == [2, 2, 2]


def test_a_failing_model_call_fails_every_waiting_request():
    def model(texts: list[str]) -> list[str]:
        raise RuntimeError("out of memory")

    async def scenario():
        batcher = MicroBatcher(model, max_batch=10, wait_ms=100)
        batcher.start()
        try:
            return await asyncio.gather(batcher.submit(["a"]), batcher.submit(["b"]), return_exceptions=True)
        finally:
            await batcher.stop()

    results = run(scenario())
    assert all(isinstance(r, RuntimeError) for r in results)


def test_submit_before_start_is_an_error():
    with pytest.raises(RuntimeError, match="not started"):
        run(MicroBatcher(lambda t: t, max_batch=1, wait_ms=0).submit(["a"]))
