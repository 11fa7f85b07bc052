"""Tools for running the system on one machine: the local runner, demo data, the dev outbox."""
