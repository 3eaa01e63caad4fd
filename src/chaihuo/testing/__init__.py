"""Test harnesses: run every party of a job from one test (threads; memory or gRPC federation)."""

from chaihuo.testing._parties import PartyFailedError, run_parties
from chaihuo.testing._recording import RecordingFederation, recording_context
from chaihuo.testing._sessions import local_sessions

__all__ = [
    "PartyFailedError",
    "RecordingFederation",
    "local_sessions",
    "recording_context",
    "run_parties",
]
