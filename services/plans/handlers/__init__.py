"""HTTP handlers of the plans service, one module per area."""
