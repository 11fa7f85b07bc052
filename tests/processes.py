"""Services as separate processes in tests (the same helper the local runner uses)."""

from devtools.processes import ROOT, ServiceProcess, free_port

__all__ = ["ROOT", "ServiceProcess", "free_port"]
