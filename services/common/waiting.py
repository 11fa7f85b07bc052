"""Waiting for an asyncio.Event with a time limit, without losing a cancellation."""

from __future__ import annotations

import asyncio


async def wait_for_event(event: asyncio.Event, timeout: float) -> bool:
    """True if `event` is set within `timeout` seconds, False if not.

    Not asyncio.wait_for: on Python 3.11 it returns normally when the event is set in the same
    moment as the waiting task is cancelled, and the cancellation is lost. A worker loop woken
    often (one wake per finished delivery) then goes on after its stop(), and shutdown hangs."""
    try:
        async with asyncio.timeout(timeout):
            await event.wait()
    except TimeoutError:
        return False
    return True
