"""Test harnesses: run every party of a job from one test (threads; memory or gRPC federation)."""

from chaihuo.testing._parties import PartyFailedError, run_parties

__all__ = ["PartyFailedError", "run_parties"]
