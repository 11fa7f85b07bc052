"""One module per scenario: its data setup, its load levels, its floor and its target."""
