"""The messages service: messages between a plan's participants, their recipients and read state."""
