"""Auth publishes user.created, user.updated and otp.requested through its outbox; it consumes none."""

QUEUES: tuple[str, ...] = ()
