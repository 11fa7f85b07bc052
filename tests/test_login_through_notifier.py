"""The whole login: auth → outbox → RabbitMQ → notifier → real SMTP server or SMS gateway → code → tokens."""

from __future__ import annotations

from services.common.web import CONSUMERS
from services.notifier.app import create_app as create_notifier
from services.notifier.config import Settings as NotifierSettings
from services.notifier.events import QUEUES
from tests.servers import SmsGateway, SmtpServer, find_code, wait_until
from tests.support import AuthHarness, bearer, start_app


async def test_a_person_logs_in_with_a_code_by_email_and_by_sms(
    auth: AuthHarness, service_env, smtp_server: SmtpServer, sms_gateway: SmsGateway
) -> None:
    notifier = create_notifier(NotifierSettings.from_env(
        service_env("notifier", **smtp_server.env(), **sms_gateway.env())))
    client = await start_app(notifier)
    try:
        await wait_until(lambda: len(notifier[CONSUMERS]) == len(QUEUES), 10, "notifier consumers")
        await auth.create_user("ola", email="ola@example.no")
        await auth.create_user("kari", phone="+4791234567", notify_channel="sms", locale="en")

        challenge = await auth.start_login("ola")
        mail = (await smtp_server.wait_for(1, to="ola@example.no"))[0]
        code = find_code(mail.text)
        assert code is not None and code not in mail.subject
        verified = await auth.client.post(
            "/v1/auth/verify", json={"challenge_id": challenge["challenge_id"], "code": code})
        assert verified.status == 200

        challenge = await auth.start_login("kari")
        sms = (await sms_gateway.wait_for(1, to="+4791234567"))[0]
        code = find_code(sms.text)
        assert code is not None
        tokens = await (await auth.client.post(
            "/v1/auth/verify", json={"challenge_id": challenge["challenge_id"], "code": code})).json()
        me = await (await auth.client.get("/v1/users/me", headers=bearer(tokens["access_token"]))).json()
        assert me["username"] == "kari"
    finally:
        await client.close()
