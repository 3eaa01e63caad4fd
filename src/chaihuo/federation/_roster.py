"""The roster of a job: which party ids play which roles, in a fixed order every party agrees on."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from chaihuo.core import InvalidInputError, PartyId, Role, parse_party_id
from chaihuo.federation._interface import Party

__all__ = ["Roster"]

_SINGLE_ROLES = frozenset({Role.GUEST, Role.ARBITER, Role.SERVER, Role.LOCAL})


@dataclass(frozen=True)
class Roster:
    """Role → ordered party ids. `guest`, `arbiter`, `server` have at most one party each."""

    roles: tuple[tuple[Role, tuple[PartyId, ...]], ...]

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, object]) -> Roster:
        """Parse `{guest: 9999, host: [10000, 10001], arbiter: 10000}` (job-file form)."""
        roles: list[tuple[Role, tuple[PartyId, ...]]] = []
        for raw_role, raw_ids in mapping.items():
            try:
                role = Role(raw_role)
            except ValueError as exc:
                raise InvalidInputError(f"unknown role {raw_role!r} in parties") from exc
            listed = raw_ids if isinstance(raw_ids, list | tuple) else [raw_ids]
            ids = tuple(parse_party_id(item) for item in listed)
            if not ids:
                raise InvalidInputError(f"role {role.value} lists no party")
            if len(set(ids)) != len(ids):
                raise InvalidInputError(f"role {role.value} lists a party twice")
            if role in _SINGLE_ROLES and len(ids) > 1:
                raise InvalidInputError(f"role {role.value} takes exactly one party")
            roles.append((role, ids))
        if not roles:
            raise InvalidInputError("a job needs at least one party")
        return cls(tuple(sorted(roles, key=lambda item: list(Role).index(item[0]))))

    def to_mapping(self) -> dict[str, list[str]]:
        """JSON-friendly form: role → list of party ids."""
        return {role.value: list(ids) for role, ids in self.roles}

    def members(self, role: Role) -> list[Party]:
        """Parties playing `role`, in roster order (empty if the role is absent)."""
        for candidate, ids in self.roles:
            if candidate == role:
                return [Party(role, party_id) for party_id in ids]
        return []

    def __iter__(self) -> Iterator[Party]:
        for role, ids in self.roles:
            for party_id in ids:
                yield Party(role, party_id)

    def __contains__(self, party: object) -> bool:
        return any(party == member for member in self)

    @property
    def party_ids(self) -> list[PartyId]:
        """Distinct party ids in first-appearance order (one node each)."""
        seen: dict[PartyId, None] = {}
        for party in self:
            seen.setdefault(party.party_id, None)
        return list(seen)

    def roles_of(self, party_id: PartyId) -> list[Role]:
        """Every role `party_id` plays in this job."""
        return [party.role for party in self if party.party_id == party_id]
