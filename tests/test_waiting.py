"""wait_for_event: the time-limited wait the worker loops (outbox relay, alert worker, deliverer) use."""

from __future__ import annotations

import asyncio

import pytest

from services.common.waiting import wait_for_event


async def test_set_within_the_time_is_true_and_not_is_false() -> None:
    event = asyncio.Event()
    asyncio.get_running_loop().call_later(0.05, event.set)
    assert await wait_for_event(event, 5) is True
    assert await wait_for_event(asyncio.Event(), 0.05) is False


async def test_a_cancel_that_comes_as_the_event_is_set_is_not_lost() -> None:
    # asyncio.wait_for on Python 3.11 returns normally here: a worker woken often by finished tasks
    # then never stopped, and a notifier's shutdown hung for good under an alert backlog.
    for _ in range(3):
        event = asyncio.Event()
        waiting = asyncio.create_task(wait_for_event(event, 10))
        await asyncio.sleep(0)
        event.set()
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
