"""kit.http: a frozen model's parsed body (or query) is kept per bytes and shared; any other model is
parsed afresh each time; bad input is refused every time, never remembered."""
from types import SimpleNamespace

import pytest
from pydantic import ConfigDict

from server.kit.errors import ValidationFailed
from server.kit.http import parse_body
from server.kit.schemas import Schema


class Frozen(Schema):
    model_config = ConfigDict(extra="forbid", frozen=True)
    sku_id: int
    quantity: int = 1


class Mutable(Schema):
    sku_id: int


def _req(body: bytes):
    return SimpleNamespace(body=body)


def test_a_frozen_body_is_parsed_once_per_bytes():
    a = parse_body(_req(b'{"sku_id": 7}'), Frozen)
    assert parse_body(_req(b'{"sku_id": 7}'), Frozen) is a
    assert parse_body(_req(b'{"sku_id": 8}'), Frozen).sku_id == 8
    assert parse_body(_req(b'{"sku_id": 7}'), Mutable) is not parse_body(_req(b'{"sku_id": 7}'), Mutable)


def test_a_bad_frozen_body_is_refused_every_time():
    for _ in range(2):
        with pytest.raises(ValidationFailed) as e:
            parse_body(_req(b'{"sku_id": "x"}'), Frozen)
        assert e.value.details[0]["field"] == "sku_id"
