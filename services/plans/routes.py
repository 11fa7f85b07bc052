"""Every path plans serves."""

from __future__ import annotations

from aiohttp import web

from services.plans.handlers import assessments, calendar, comments, goals, participants, plans

PLAN = "/v1/plans/{plan_id}"


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_post("/v1/plans", plans.create_plan)
    r.add_get("/v1/plans", plans.list_plans)
    r.add_get(PLAN, plans.get_plan)
    r.add_get(PLAN + "/access-log", plans.get_access_log)
    r.add_get(PLAN + "/participants", participants.list_participants)
    r.add_post(PLAN + "/participants", participants.add_participant)
    r.add_delete(PLAN + "/participants/{user_id}", participants.remove_participant)
    r.add_get(PLAN + "/goals", goals.list_goals)
    r.add_post(PLAN + "/goals", goals.create_goal)
    r.add_patch(PLAN + "/goals/{goal_id}", goals.update_goal)
    r.add_post(PLAN + "/goals/{goal_id}/activities", goals.create_activity)
    r.add_patch(PLAN + "/activities/{activity_id}", goals.update_activity)
    r.add_get(PLAN + "/goals/{goal_id}/comments", comments.list_goal_comments)
    r.add_post(PLAN + "/goals/{goal_id}/comments", comments.comment_on_goal)
    r.add_get(PLAN + "/activities/{activity_id}/comments", comments.list_activity_comments)
    r.add_post(PLAN + "/activities/{activity_id}/comments", comments.comment_on_activity)
    r.add_get(PLAN + "/events", calendar.list_events)
    r.add_post(PLAN + "/events", calendar.create_event)
    r.add_patch(PLAN + "/events/{event_id}", calendar.update_event)
    r.add_get(PLAN + "/assessments", assessments.list_assessments)
    r.add_post(PLAN + "/assessments", assessments.create_assessment)
    r.add_patch(PLAN + "/assessments/{assessment_id}", assessments.update_assessment)
