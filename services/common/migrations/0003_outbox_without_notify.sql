-- NOTIFY takes a lock that serialises the commits of every transaction that sent one, across the
-- whole PostgreSQL cluster: on the hot path (a message sent) that cost more than it saved. The
-- process that wrote an event now wakes its own relay; others see it at the relay's next poll.
drop trigger outbox_inserted on outbox;
drop function outbox_notify();
