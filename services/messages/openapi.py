"""The messages service's OpenAPI document, built from the same shapes the handlers validate with."""

from services.common.openapi import IDEMPOTENCY_KEY, Op, document, query_param
from services.messages import schemas as s

UUID = {"type": "string", "format": "uuid"}
LIST_PARAMS = (
    query_param("folder", "inbox (received, the default) or sent", {"enum": ["inbox", "sent"]}),
    query_param("plan_id", "only messages in this plan", UUID),
    query_param("unread", "inbox: only those the caller has not read; sent: only those some recipient"
                          " has not read", {"enum": ["true", "false"]}),
    query_param("limit", "items per page", {"type": "integer", "minimum": 1, "maximum": 200,
                                            "default": 50}),
    query_param("cursor", "next_cursor of the previous page", {"type": "string"}),
)

DESCRIPTION = (
    "Messages between the participants of a plan: sending (with replies sharing a thread), the inbox "
    "and sent folders, read receipts and unread counts. The sender and every recipient must be "
    "participants of the plan, as told by `plan.*` events; names come from `user.*` events. "
    "Recipients are answered in the order given; a repeated recipient id counts once; sending to "
    "yourself is refused (422). Subjects are 1-200 characters, bodies 1-20 000 (and the request at "
    "most MAX_BODY_BYTES, 64 KiB by default: 413). Publishes `message.created` (ids only, never the "
    "subject or body) and `message.read` (the first time a recipient reads it)."
)

OPENAPI = document("Samhandling messages", DESCRIPTION, [
    Op("POST", "/v1/messages", "Send a message to participants of a plan", ok=201,
       request=s.NewMessage, response=s.MessageOut, errors=(404,), params=(IDEMPOTENCY_KEY,)),
    Op("GET", "/v1/messages", "The caller's inbox or sent folder, newest first",
       response=s.MessagePage, errors=(422,), params=LIST_PARAMS),
    Op("GET", "/v1/messages/unread-count", "How many received messages the caller has not read",
       response=s.UnreadCount, errors=(422,),
       params=(query_param("plan_id", "count only this plan's", UUID),)),
    Op("GET", "/v1/messages/{message_id}", "The whole message (its sender and recipients only)",
       response=s.MessageOut, errors=(404, 422)),
    Op("POST", "/v1/messages/{message_id}/read", "Mark it read for the calling recipient (idempotent)",
       ok=204, errors=(404, 422)),
])
