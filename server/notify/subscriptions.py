"""A buyer's subscribe choices (订阅授权): what wx.requestSubscribeMessage answered, reported by the
mini-program right after the tap. Each "accept" of a one-time template allows one message; "reject"
or "ban" (the buyer turned the template off) means no message is sent for it (outbox.deliver checks),
and a moment where the buyer must act reaches them by SMS instead."""
from __future__ import annotations

from tortoise.expressions import F

from server.kit.db import atomic
from server.kit.errors import AppError
from server.models.notify import SubscribeChoice
from server.notify import registry
from server.notify.errors import NotifyCode
from server.notify.schemas import SubscribeChoiceOut, SubscribeChoicesOut, SubscribeResultsIn

MAX_ACCEPTED = 50  # WeChat keeps at most this many unused one-time acceptances of a template per user


def _known_templates() -> set[str]:
    return {m.template_id() for m in registry.MOMENTS.values()}


async def record(user_id: int, data: SubscribeResultsIn) -> SubscribeChoicesOut:
    """Record the answers of one wx.requestSubscribeMessage call (at most 3 templates)."""
    known = _known_templates()
    for tid in data.results:
        if tid not in known:
            raise AppError("not one of our subscribe templates", code=NotifyCode.UNKNOWN_TEMPLATE, status=422,
                           details=[{"field": f"results.{tid}", "message": "unknown template id"}])
    async with atomic() as conn:
        for tid, answer in sorted(data.results.items()):
            if answer == "filter":  # WeChat filtered the template out (not shown): no answer from the buyer
                continue
            await SubscribeChoice.bulk_create([SubscribeChoice(user_id=user_id, template_id=tid)],
                                              ignore_conflicts=True, using_db=conn)
            q = SubscribeChoice.filter(user_id=user_id, template_id=tid).using_db(conn)
            if answer == "accept":
                await q.filter(accepted__lt=MAX_ACCEPTED).update(accepted=F("accepted") + 1, declined=False)
                await q.update(declined=False)
            else:
                await q.update(declined=True)
    return await choices(user_id)


async def choices(user_id: int) -> SubscribeChoicesOut:
    """The caller's recorded choices, one per template."""
    rows = await SubscribeChoice.filter(user_id=user_id).order_by("template_id")
    return SubscribeChoicesOut(items=[SubscribeChoiceOut(template_id=r.template_id, accepted=r.accepted,
                                                         declined=r.declined) for r in rows])
