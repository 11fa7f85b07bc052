"""Every path auth serves."""

from __future__ import annotations

from aiohttp import web

from services.auth.handlers import sessions, users


def add_routes(app: web.Application) -> None:
    app.router.add_post("/v1/auth/login", sessions.login)
    app.router.add_post("/v1/auth/verify", sessions.verify)
    app.router.add_post("/v1/auth/resend", sessions.resend)
    app.router.add_post("/v1/auth/refresh", sessions.refresh)
    app.router.add_post("/v1/auth/logout", sessions.logout)
    app.router.add_get("/.well-known/jwks.json", sessions.jwks)
    app.router.add_get("/v1/users/me", users.get_me)
    app.router.add_patch("/v1/users/me", users.update_me)
    app.router.add_post("/v1/users/me/password", users.change_password)
    app.router.add_post("/v1/users", users.create_user)
    app.router.add_get("/v1/users/{user_id}", users.get_user)
