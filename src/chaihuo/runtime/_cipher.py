"""The job's crypto policy as algorithms see it: key sizes, fixed point, keyring, worker pool."""

from __future__ import annotations

import threading

from pydantic import BaseModel, ConfigDict, Field, field_validator

from chaihuo.core import ConfigError
from chaihuo.crypto.paillier import (
    MIN_KEY_BITS,
    FixedPoint,
    PaillierKeyPair,
    PaillierPool,
    generate_keypair,
)
from chaihuo.serde import Keyring

__all__ = ["CipherSuite", "SecurityPolicy"]


class SecurityPolicy(BaseModel):
    """The `security:` block of a job file."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    paillier_bits: int = Field(2048, description="Paillier modulus size for this job.")
    fixed_point_exponent: int = Field(24, ge=0, le=64, description="Fractional bits.")
    crypto_workers: int = Field(0, ge=0, le=512, description="Crypto processes; 0 = per core.")
    allow_insecure_test_keys: bool = Field(
        False, description="Test-only: accept Paillier keys below 2048 bits (refused in prod)."
    )

    @field_validator("paillier_bits")
    @classmethod
    def _size(cls, bits: int) -> int:
        if bits < 256 or bits % 2:
            raise ValueError("paillier_bits must be an even number of at least 2048")
        return bits

    def check_profile(self, profile: str) -> None:
        """Refuse small keys unless explicitly allowed outside the production profile."""
        if self.paillier_bits < MIN_KEY_BITS and not self.allow_insecure_test_keys:
            raise ConfigError(
                f"paillier_bits={self.paillier_bits} refused: at least {MIN_KEY_BITS} bits"
            )
        if self.allow_insecure_test_keys and profile == "prod":
            raise ConfigError("allow_insecure_test_keys is refused by the production profile")


class CipherSuite:
    """Per-party crypto handles of one job (ctx.cipher): keys by policy, shared keyring, pool."""

    def __init__(self, policy: SecurityPolicy, keyring: Keyring | None = None) -> None:
        self.policy = policy
        self.keyring = keyring or Keyring(allow_insecure_test_keys=policy.allow_insecure_test_keys)
        self._pool: PaillierPool | None = None
        self._lock = threading.Lock()

    @property
    def codec(self) -> FixedPoint:
        """The protocol-wide fixed-point encoding."""
        return FixedPoint(self.policy.fixed_point_exponent)

    def paillier(self, key_bits: int | None = None) -> PaillierKeyPair:
        """A fresh Paillier key pair of the job's size (a larger size may be asked for)."""
        bits = key_bits or self.policy.paillier_bits
        if bits < self.policy.paillier_bits:
            raise ConfigError(f"{bits}-bit keys are below this job's policy")
        keys = generate_keypair(bits, allow_insecure_test_key=self.policy.allow_insecure_test_keys)
        self.keyring.add(keys.public_key)
        return keys

    @property
    def pool(self) -> PaillierPool:
        """This party's crypto worker pool, started on first use and closed with the job."""
        with self._lock:
            if self._pool is None:
                self._pool = PaillierPool(self.policy.crypto_workers or None)
            return self._pool

    def close(self) -> None:
        """Stop the worker pool if it was started."""
        with self._lock:
            if self._pool is not None:
                self._pool.close()
                self._pool = None
