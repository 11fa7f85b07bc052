"""Logs never carry a password, a one-time code or a token, even at debug level."""

from __future__ import annotations

import logging

import pytest

from services.common.logging import JsonFormatter, quiet_client_libraries
from tests.support import DEFAULT_PASSWORD, AuthHarness, bearer


async def test_a_whole_session_logs_no_secret(auth: AuthHarness, caplog: pytest.LogCaptureFixture
                                              ) -> None:
    quiet_client_libraries()  # as configure_logging does in every service, at any LOG_LEVEL
    caplog.set_level(logging.DEBUG)
    await auth.create_user("kari")
    await auth.client.post("/v1/auth/login", json={"username": "kari", "password": "wrong pass"})
    challenge = await auth.start_login("kari")
    code = await auth.code_for(challenge["challenge_id"])
    await auth.client.post("/v1/auth/verify",
                           json={"challenge_id": challenge["challenge_id"], "code": "000000"})
    tokens = await (await auth.client.post(
        "/v1/auth/verify", json={"challenge_id": challenge["challenge_id"], "code": code})).json()
    refreshed = await (await auth.client.post(
        "/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})).json()
    await auth.client.post("/v1/users/me/password", headers=bearer(refreshed["access_token"]),
                           json={"current_password": DEFAULT_PASSWORD, "new_password": "new secret 99"})
    await auth.client.post("/v1/auth/logout", headers=bearer(refreshed["access_token"]))

    formatter = JsonFormatter("test")
    logged = "\n".join(formatter.format(record) for record in caplog.records)
    assert "request" in logged  # the run did log
    secrets = [DEFAULT_PASSWORD, "wrong pass", "new secret 99", code, tokens["access_token"],
               tokens["refresh_token"], refreshed["access_token"], refreshed["refresh_token"]]
    for secret in secrets:
        assert secret not in logged


def test_the_formatter_redacts_secret_fields_passed_by_mistake() -> None:
    record = logging.LogRecord("x", logging.INFO, "", 0, "sending", None, None)
    record.code = "908172"
    record.data = {"password": "hunter22", "destination": "+4791234567"}
    line = JsonFormatter("test").format(record)
    assert "908172" not in line and "hunter22" not in line and "[redacted]" in line
