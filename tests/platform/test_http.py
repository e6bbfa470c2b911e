async def test_health_ready_and_request_id(client):
    r = await client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert r.status_code == 200 and r.headers["X-Request-ID"] == "abc-123"
    r = await client.get("/readyz")
    assert r.status_code == 200 and r.json()["database"] == "ok"
    generated = (await client.get("/healthz")).headers["X-Request-ID"]
    assert len(generated) == 32
    bad = (await client.get("/healthz", headers={"X-Request-ID": "x" * 200})).headers["X-Request-ID"]
    assert bad != "x" * 200
    # errors carry it too: Sanic's own (no such route), ours (validation), a handler's raised error
    for r in [await client.get("/no/such/path", headers={"X-Request-ID": "e-1"}),
              await client.post("/api/v1/auth/wechat-login", json=["a"], headers={"X-Request-ID": "e-1"}),
              await client.get("/api/v1/me", headers={"X-Request-ID": "e-1"})]:
        assert r.status_code in (401, 404, 422) and r.headers["X-Request-ID"] == "e-1", (r.status_code, r.headers)


async def test_errors_use_the_envelope(client):
    r = await client.get("/no/such/path")
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = await client.post("/api/v1/auth/wechat-login", content=b"{not json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"
    r = await client.post("/api/v1/auth/wechat-login", json=["a"])
    assert r.status_code == 422
    r = await client.post("/api/v1/auth/wechat-login", json={"code": "a\u0000b"})
    assert r.status_code == 422
    r = await client.get("/api/v1/console/users/99999999999999999999999")
    assert r.status_code in (401, 404)


async def test_openapi_document_has_schemas_with_required(client):
    spec = (await client.get("/docs/openapi.json")).json()
    assert spec["openapi"].startswith("3.")
    op = spec["paths"]["/api/v1/auth/wechat-login"]["post"]
    ref = op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    schema = spec["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert schema["required"] == ["code"]
    assert "200" in op["responses"] and "422" in op["responses"]
    assert (await client.get("/docs")).status_code == 200


async def test_control_characters_name_the_field(client):
    r = await client.post("/api/v1/auth/wechat-login", json={"code": "ab\u0000c"})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["field"] == "code"


async def test_a_cursor_that_is_not_an_id_is_a_422(admin):
    from server.kit.schemas import encode_cursor

    for cursor in (encode_cursor(["abc"]), "!!not-base64!!", encode_cursor([1, 2])):
        r = await admin.get("/api/v1/console/stations", params={"cursor": cursor})
        assert r.status_code == 422, r.text
        assert r.json()["error"]["details"][0]["field"] == "cursor"


async def test_every_answer_says_nosniff_and_production_adds_hsts(client, app, settings):
    """JSON, errors and HTML carry X-Content-Type-Options: nosniff; HSTS only in production."""
    for r in (await client.get("/healthz"), await client.get("/no/such/path"),
              await client.get("/api/v1/me"), await client.get("/docs")):
        assert r.headers["x-content-type-options"] == "nosniff", r.url
        assert "strict-transport-security" not in r.headers
    from server.app import create_app

    prod = settings.model_copy(update={"env": "production"})
    assert ("Strict-Transport-Security", "max-age=31536000; includeSubDomains") in \
        create_app(prod, name="kazuo_prod_headers").ctx.response_headers
    saved = app.ctx.response_headers
    app.ctx.response_headers = create_app(prod, name="kazuo_prod_headers2").ctx.response_headers
    try:
        for r in (await client.get("/healthz"), await client.get("/no/such/path")):
            assert r.headers["strict-transport-security"].startswith("max-age=31536000")
            assert r.headers["x-content-type-options"] == "nosniff"
    finally:
        app.ctx.response_headers = saved
