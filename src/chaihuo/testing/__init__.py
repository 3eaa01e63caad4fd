"""Test harnesses: run every party of a job from one test (threads; memory or gRPC federation)."""

from chaihuo.testing._parties import PartyFailedError, run_parties
from chaihuo.testing._sessions import local_sessions

__all__ = ["PartyFailedError", "local_sessions", "run_parties"]
