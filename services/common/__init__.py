"""What every Samhandling service needs and none owns: config, logs, database, broker, tokens, web."""
