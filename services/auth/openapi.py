"""Auth's OpenAPI document, built from the same shapes the handlers validate with."""

from services.auth import schemas as s
from services.common.openapi import IDEMPOTENCY_KEY, Op, document

JWKS = {"type": "object", "properties": {"keys": {"type": "array", "items": {"type": "object"}}}}

OPENAPI = document(
    "Samhandling auth",
    "Users, password + one-time-code login, sessions, refresh tokens and signing keys.",
    [
        Op("POST", "/v1/auth/login", "Start a login; a one-time code goes out", request=s.LoginRequest,
           response=s.ChallengeOut, errors=(401, 429), auth=False),
        Op("POST", "/v1/auth/verify", "Exchange the code for tokens", request=s.VerifyRequest,
           response=s.TokensOut, errors=(401,), auth=False),
        Op("POST", "/v1/auth/resend", "Send a new code for the challenge", ok=204,
           request=s.ResendRequest, errors=(404, 429), auth=False),
        Op("POST", "/v1/auth/refresh", "Rotate the refresh token", request=s.RefreshRequest,
           response=s.TokensOut, errors=(401,), auth=False),
        Op("POST", "/v1/auth/logout", "End the session", ok=204),
        Op("GET", "/v1/users/me", "The caller's profile", response=s.UserOut),
        Op("PATCH", "/v1/users/me", "Change the caller's profile", request=s.ProfileUpdate,
           response=s.UserOut),
        Op("POST", "/v1/users/me/password", "Change password; other sessions end", ok=204,
           request=s.PasswordChange),
        Op("POST", "/v1/users", "Create a user (admin)", ok=201, request=s.NewUser, response=s.UserOut,
           errors=(403, 409), params=(IDEMPOTENCY_KEY,)),
        Op("GET", "/v1/users/{user_id}", "A user's public card; admins see all fields",
           response=s.UserCard, errors=(404, 422)),
        Op("GET", "/.well-known/jwks.json", "Public keys that verify access tokens", response=JWKS,
           auth=False),
    ],
)
