"""Plans' OpenAPI document, built from the same shapes the handlers validate with."""

from services.common.openapi import IDEMPOTENCY_KEY, Op, document, query_param
from services.plans import schemas as s

PAGE = (
    query_param("limit", "Items per page (default 50)", {"type": "integer", "minimum": 1,
                                                         "maximum": 200}),
    query_param("cursor", "next_cursor of the page before", {"type": "string"}),
)
RANGE = (
    query_param("from", "Only events that end after this RFC 3339 time",
                {"type": "string", "format": "date-time"}),
    query_param("to", "Only events that start before this RFC 3339 time (after `from`)",
                {"type": "string", "format": "date-time"}),
)
CREATE = (IDEMPOTENCY_KEY,)
PLAN = "/v1/plans/{plan_id}"

DESCRIPTION = """\
Plans, their participants, goals with activities, comments and status updates, calendar events,
assessments (kartlegging) and the access log.

**Access.** Only a plan's participants (roles `owner`, `coordinator`, `participant`) see it or
anything in it: for anyone else every path under `/v1/plans/{plan_id}` answers 404, never 403.
A participant who is removed loses access at once. Coordinators add and remove participants and
create and change goals, activities, calendar events and assessments; others get 403 for those.
Every participant may comment on goals and activities: a comment with a `status` also sets the
goal's or activity's status. Administrators create plans (without taking part in them).

**Names** (display name, e-mail, phone) come from this service's copy of auth's users, kept by
consuming `user.created` and `user.updated`. A user id this copy does not know yet is a 422
naming the field.

**Events** (through the outbox): `plan.created` {plan_id, title, owner_id, coordinator_id};
`plan.participant_added` and `plan.participant_removed` {plan_id, user_id, role}. When a plan is
created, `plan.participant_added` is also emitted for its owner and its coordinator, so that
membership can be built from `plan.participant_*` events alone.

**Access log.** Every read of a plan's content (the home page and every list inside a plan,
including the access log itself) is recorded with who, `action` (`read`), `resource` (`plan`,
`participants`, `goals`, `goals/{id}/comments`, `activities/{id}/comments`, `events`,
`assessments`, `access-log`) and when, in the same statement as the read. The list of one's
plans (`GET /v1/plans`) is not recorded. The owner and the coordinators can list it.

**Lists** take `limit` (1-200, default 50) and an opaque `cursor`, and answer
`{"items": [...], "next_cursor": ...}` (null on the last page). Orders: plans, the most recently
joined first; participants, in the order they joined; goals, activities and comments, oldest
first; events, by start; assessments and the access log, newest first.

The home page's `coordinator` is the plan's longest-serving coordinator; `upcoming_events` are
the next events (those not yet ended), by start. The owner cannot be removed from the plan, nor
its last coordinator (409). Times are RFC 3339 in UTC; ids are UUIDs.
"""

OPENAPI = document(
    "Samhandling plans",
    DESCRIPTION,
    [
        Op("POST", "/v1/plans", "Create a plan (admin); owner and coordinator are its first "
           "participants", ok=201, request=s.NewPlan, response=s.PlanOut, errors=(403,),
           params=CREATE),
        Op("GET", "/v1/plans", "The caller's plans", response=s.PlanPage, errors=(422,),
           params=PAGE),
        Op("GET", PLAN, "The plan's home page", response=s.PlanHome, errors=(404, 422)),
        Op("GET", PLAN + "/participants", "The plan's participants", response=s.ParticipantPage,
           errors=(404, 422), params=PAGE),
        Op("POST", PLAN + "/participants", "Add a participant (coordinator)", ok=201,
           request=s.NewParticipant, response=s.ParticipantOut, errors=(403, 404, 409),
           params=CREATE),
        Op("DELETE", PLAN + "/participants/{user_id}", "Remove a participant (coordinator)",
           ok=204, errors=(403, 404, 409, 422)),
        Op("GET", PLAN + "/goals", "Goals with their activities", response=s.GoalPage,
           errors=(404, 422), params=PAGE),
        Op("POST", PLAN + "/goals", "Add a goal (coordinator)", ok=201, request=s.NewGoal,
           response=s.GoalOut, errors=(403, 404), params=CREATE),
        Op("PATCH", PLAN + "/goals/{goal_id}", "Change a goal (coordinator)",
           request=s.GoalChange, response=s.GoalOut, errors=(403, 404)),
        Op("POST", PLAN + "/goals/{goal_id}/activities", "Add an activity to a goal "
           "(coordinator); the responsible must take part in the plan", ok=201,
           request=s.NewActivity, response=s.ActivityOut, errors=(403, 404), params=CREATE),
        Op("PATCH", PLAN + "/activities/{activity_id}", "Change an activity (coordinator)",
           request=s.ActivityChange, response=s.ActivityOut, errors=(403, 404)),
        Op("GET", PLAN + "/goals/{goal_id}/comments", "Comments on a goal",
           response=s.CommentPage, errors=(404, 422), params=PAGE),
        Op("POST", PLAN + "/goals/{goal_id}/comments", "Comment on a goal; a status sets the "
           "goal's status", ok=201, request=s.NewComment, response=s.CommentOut,
           errors=(404,), params=CREATE),
        Op("GET", PLAN + "/activities/{activity_id}/comments", "Comments on an activity",
           response=s.CommentPage, errors=(404, 422), params=PAGE),
        Op("POST", PLAN + "/activities/{activity_id}/comments", "Comment on an activity; a "
           "status sets the activity's status", ok=201, request=s.NewComment,
           response=s.CommentOut, errors=(404,), params=CREATE),
        Op("GET", PLAN + "/events", "Calendar events overlapping [from, to)",
           response=s.EventPage, errors=(404, 422), params=RANGE + PAGE),
        Op("POST", PLAN + "/events", "Add a calendar event (coordinator)", ok=201,
           request=s.NewEvent, response=s.EventOut, errors=(403, 404), params=CREATE),
        Op("PATCH", PLAN + "/events/{event_id}", "Change a calendar event (coordinator)",
           request=s.EventChange, response=s.EventOut, errors=(403, 404)),
        Op("GET", PLAN + "/assessments", "Assessments (kartlegging)",
           response=s.AssessmentPage, errors=(404, 422), params=PAGE),
        Op("POST", PLAN + "/assessments", "Add an assessment (coordinator)", ok=201,
           request=s.NewAssessment, response=s.AssessmentOut, errors=(403, 404), params=CREATE),
        Op("PATCH", PLAN + "/assessments/{assessment_id}", "Change an assessment (coordinator)",
           request=s.AssessmentChange, response=s.AssessmentOut, errors=(403, 404)),
        Op("GET", PLAN + "/access-log", "Who has read what in the plan (owner, coordinator)",
           response=s.AccessLogPage, errors=(403, 404, 422), params=PAGE),
    ],
)
