"""Stale edit forms (optimistic concurrency without a version column): an object's `version` is a
fingerprint of what an editor sees of it. A form carries the version it was loaded with; the service
compares it, under the row lock, with the object's version now and refuses the write (409
stale_object) when someone changed the object in between, instead of silently overwriting their
change. Two saves of the same form (a double click) are told the same way once the first changed it.

An API client that sends no version is not checked (the JSON API stays as it was)."""
from __future__ import annotations

import hashlib
from typing import Any, ClassVar

import orjson
from pydantic import Field, computed_field

from server.kit.errors import Conflict, KitCode
from server.kit.schemas import Out

STALE = KitCode.STALE_OBJECT
VERSION_FIELD = Field(None, max_length=64,
                      description="the `version` you read; if the object changed since, 409 stale_object")


def fingerprint(values: dict[str, Any]) -> str:
    return hashlib.sha256(orjson.dumps(values, option=orjson.OPT_SORT_KEYS)).hexdigest()[:16]


class VersionedOut(Out):
    """An object an editor changes; `version` names what it holds now (fields in _unversioned change
    on their own, e.g. a station's pickup lock, and are left out)."""
    _unversioned: ClassVar[tuple[str, ...]] = ()

    @computed_field(description="what the object holds now; send it back when you change the object")
    @property
    def version(self) -> str:
        names = [n for n in type(self).model_fields if n not in self._unversioned]
        return fingerprint(self.model_dump(mode="json", include=set(names)))


def check(expected: str | None, current: VersionedOut) -> None:
    """Refuse a write made from a stale copy (expected: the version the editor saw; None: unchecked)."""
    if expected is not None and expected != current.version:
        raise Conflict("changed by someone else since you loaded it", code=STALE,
                       details={"version": current.version})
