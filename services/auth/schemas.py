"""Request shapes for auth, validated with pydantic; unknown fields are refused."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, field_validator

Username = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=64,
                                            pattern=r"^[A-Za-z0-9._@-]+$")]
LoginUsername = Annotated[str, StringConstraints(min_length=1, max_length=200)]
LoginPassword = Annotated[str, StringConstraints(min_length=1, max_length=1024)]
NewPassword = Annotated[str, StringConstraints(min_length=10, max_length=1024)]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Phone = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\+[1-9][0-9]{6,14}$")]
Address = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
Code = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{6}$")]
Channel = Literal["sms", "email", "none"]
Locale = Literal["nb", "nn", "en"]
Role = Literal["admin"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginRequest(Strict):
    username: LoginUsername
    password: LoginPassword


class VerifyRequest(Strict):
    challenge_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    code: Code


class ResendRequest(Strict):
    challenge_id: Annotated[str, StringConstraints(min_length=1, max_length=64)]


class RefreshRequest(Strict):
    refresh_token: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class PasswordChange(Strict):
    current_password: LoginPassword
    new_password: NewPassword


class ProfileUpdate(Strict):
    display_name: DisplayName | None = None
    email: EmailStr | None = None
    phone: Phone | None = None
    address: Address | None = None
    notify_channel: Channel | None = None
    locale: Locale | None = None

    @field_validator("display_name", "email", "notify_channel", "locale", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # phone and address may be cleared with null; these always need a value.
        if value is None:
            raise ValueError("cannot be null")
        return value


class NewUser(Strict):
    username: Username
    password: NewPassword
    display_name: DisplayName
    email: EmailStr
    phone: Phone | None = None
    address: Address | None = None
    notify_channel: Channel = "email"
    locale: Locale = "nb"
    roles: list[Role] = Field(default_factory=list, max_length=5)


class UserOut(BaseModel):
    id: str
    username: str
    display_name: str
    email: str | None
    phone: str | None
    address: str | None
    notify_channel: Channel
    locale: Locale
    roles: list[str]


class UserCard(BaseModel):
    id: str
    display_name: str


class ChallengeOut(BaseModel):
    challenge_id: str
    channel: Literal["sms", "email"]
    expires_at: str


class TokensOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"]
    expires_in: int
