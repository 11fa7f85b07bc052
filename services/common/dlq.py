"""Dead letters: list, inspect (ids and types only) and replay the events a service gave up on.

python -m services.common.dlq SERVICE list [--limit N]
python -m services.common.dlq SERVICE inspect EVENT_ID
python -m services.common.dlq SERVICE replay (EVENT_ID ... | --all)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from services.common.config import DEFAULT_AMQP_URL, env_str


@dataclass(frozen=True)
class DeadLetter:
    event_id: str
    type: str
    from_queue: str
    reason: str
    deaths: int
    size: int
    data_fields: tuple[str, ...]

    def summary(self) -> dict[str, Any]:
        return {"event_id": self.event_id, "type": self.type, "from_queue": self.from_queue,
                "reason": self.reason, "deaths": self.deaths}


def describe(message: AbstractIncomingMessage) -> DeadLetter:
    """What an operator may see of a dead letter: never the values in its data (codes, ids of
    people), only the names of its fields."""
    deaths = message.headers.get("x-death") or []
    first = deaths[0] if deaths and isinstance(deaths[0], dict) else {}
    try:
        body = json.loads(message.body)
        fields = tuple(sorted(body.get("data", {}))) if isinstance(body, dict) else ()
        type_ = str(body.get("type", "")) if isinstance(body, dict) else ""
    except (ValueError, AttributeError):
        fields, type_ = (), ""
    return DeadLetter(
        event_id=message.message_id or "",
        type=message.type or type_ or "(malformed)",
        from_queue=_text(first.get("queue", message.headers.get("x-first-death-queue", ""))),
        reason=_text(first.get("reason", message.headers.get("x-first-death-reason", ""))),
        deaths=int(first.get("count", 1) or 1),
        size=len(message.body),
        data_fields=fields,
    )


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class DeadLetters:
    def __init__(self, channel: AbstractChannel, queue_name: str) -> None:
        self.channel = channel
        self.queue_name = queue_name

    async def take_all(self, limit: int) -> list[AbstractIncomingMessage]:
        """Up to `limit` dead letters, held unacked: whatever is not acked goes back on close."""
        queue = await self.channel.get_queue(self.queue_name, ensure=True)
        taken = []
        while len(taken) < limit:
            message = await queue.get(no_ack=False, fail=False, timeout=5)
            if message is None:
                break
            taken.append(message)
        return taken

    async def replay(self, message: AbstractIncomingMessage) -> str:
        """Back onto the queue it died in (only that consumer sees it again), then drop it here."""
        target = describe(message).from_queue
        if not target:
            raise ValueError(f"{message.message_id}: no x-death header says where it came from")
        copy = aio_pika.Message(
            message.body, message_id=message.message_id, type=message.type,
            content_type=message.content_type, delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        await self.channel.default_exchange.publish(copy, routing_key=target)
        await message.ack()
        return target


async def run(args: argparse.Namespace, amqp_url: str, prefix: str) -> int:
    connection = await aio_pika.connect(amqp_url)
    try:
        channel = await connection.channel(publisher_confirms=True)
        dead = DeadLetters(channel, f"{prefix}{args.service}.dead")
        letters = await dead.take_all(args.limit)
        if args.command == "list":
            for message in letters:
                print(json.dumps(describe(message).summary()))
            print(f"{len(letters)} dead letter(s) in {dead.queue_name}", file=sys.stderr)
        elif args.command == "inspect":
            found = [m for m in letters if m.message_id == args.event_id]
            if not found:
                print(f"no dead letter {args.event_id}", file=sys.stderr)
                return 1
            letter = describe(found[0])
            print(json.dumps({**letter.summary(), "size": letter.size,
                              "data_fields": letter.data_fields}, indent=2))
        else:
            wanted = set(args.event_ids)
            chosen = [m for m in letters if args.all or m.message_id in wanted]
            for message in chosen:
                print(f"{message.message_id} -> {await dead.replay(message)}")
            missing = wanted - {m.message_id for m in chosen}
            if missing:
                print(f"not found: {', '.join(sorted(missing))}", file=sys.stderr)
                return 1
        return 0
    finally:
        await connection.close()


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m services.common.dlq", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("service", choices=["auth", "plans", "messages", "notifier"])
    parser.add_argument("--limit", type=int, default=1000, help="read at most this many")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="one JSON line per dead letter: id, type, queue, reason")
    inspect = commands.add_parser("inspect", help="one dead letter's envelope (field names only)")
    inspect.add_argument("event_id")
    replay = commands.add_parser("replay", help="put dead letters back on the queue they died in")
    replay.add_argument("event_ids", nargs="*")
    replay.add_argument("--all", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "replay" and not (args.all or args.event_ids):
        parser.error("replay needs event ids or --all")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    amqp_url = env_str(os.environ, "AMQP_URL", DEFAULT_AMQP_URL)
    prefix = os.environ.get("AMQP_QUEUE_PREFIX", "").strip()
    return asyncio.run(run(args, amqp_url, prefix))


if __name__ == "__main__":
    sys.exit(main())
