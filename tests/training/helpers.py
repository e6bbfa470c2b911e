"""HTTP helpers for the training tests."""
from server.kit import clock
from tests.conftest import login


async def make_course(admin, track="basic", name="电商基础班"):
    r = await admin.post("/api/v1/console/training/courses", json={"track": track, "name": name})
    assert r.status_code == 201, r.text
    return r.json()


async def make_session(admin, course_id, *, starts=None, ends=None, online=True, **extra):
    today = clock.local_today()
    body = {"course_id": course_id, "title": "第1期", "starts_on": str(starts or today),
            "ends_on": str(ends or starts or today), "online": online, **extra}
    r = await admin.post("/api/v1/console/training/sessions", json=body)
    assert r.status_code == 201, r.text
    return r.json()


async def make_trainee_user(client, **profile):
    """A logged-in user with a trainee profile (consenting unless told otherwise)."""
    user = await login(client)
    poor = profile.pop("is_poor_household", False)
    body = {"name": "学员", "groups": [], "consent": True, **profile}
    r = await user.put("/api/v1/training/me", json=body)
    assert r.status_code == 200, r.text
    user.trainee = r.json()
    if poor:  # the registration is the office's to record
        from server.training import service
        from server.training.schemas import TraineeOfficeIn

        out = await service.update_trainee(user.trainee["id"], TraineeOfficeIn(**body, is_poor_household=True),
                                           actor_id=user.id)
        user.trainee = out.model_dump(mode="json")
    return user


async def enrolled(client, admin, session_id, **profile):
    user = await make_trainee_user(client, **profile)
    r = await user.post(f"/api/v1/training/sessions/{session_id}/enrol")
    assert r.status_code == 201, r.text
    return user


async def qr(admin, session_id):
    r = await admin.get(f"/api/v1/console/training/sessions/{session_id}/signin-qr")
    assert r.status_code == 200, r.text
    return r.json()["payload"]

