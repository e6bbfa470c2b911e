"""Request and response schemas of training and incubation (培训与孵化)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints, field_validator

from server.kit.schemas import Name, Out, QuerySchema, Schema, ShortText, Text
from server.kit.versions import VERSION_FIELD, VersionedOut

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
Track = Literal["basic", "intermediate", "advanced", "cadre", "cross_border", "livestream", "lecturer"]
TRACKS: tuple[str, ...] = Track.__args__  # type: ignore[attr-defined]
# Trainee groups from the county plan: 返乡大学生, 返乡农民工, 退役军人, 留守妇女, 残疾人, 贫困户, 村干部, 站长.
Group = Literal["returning_graduate", "returning_migrant", "veteran", "left_behind_woman", "disabled",
                "poor_household", "village_cadre", "station_head"]
GROUPS: tuple[str, ...] = Group.__args__  # type: ignore[attr-defined]
FileKind = Literal["plan", "notice", "syllabus", "material", "slides", "photo", "video"]
FILE_KINDS: tuple[str, ...] = FileKind.__args__  # type: ignore[attr-defined]
IncubationKind = Literal["merchant", "livestreamer", "station_staff"]
ShortName = Annotated[str, StringConstraints(min_length=1, max_length=32)]
Place = Annotated[str, StringConstraints(max_length=32)]
PhoneOrEmpty = Annotated[str, StringConstraints(pattern=r"^(1[3-9]\d{9})?$")]
Reason = Annotated[str, StringConstraints(min_length=2, max_length=200)]
# Session days: anything outside this range is a typo, not a training.
MIN_DAY, MAX_DAY = date(2015, 1, 1), date(2099, 12, 31)
MAX_SESSION_DAYS = 60


def _check_day(v: date) -> date:
    if not (MIN_DAY <= v <= MAX_DAY):
        raise ValueError(f"must be between {MIN_DAY} and {MAX_DAY}")
    return v


Day = Annotated[date, AfterValidator(_check_day)]


# ---- courses ------------------------------------------------------------------------------------
class CourseIn(Schema):
    track: Track
    name: Name
    description: Text = ""


class CoursePatch(Schema):
    name: Name | None = None
    description: Text | None = None
    is_active: bool | None = None


class CourseOut(Out):
    id: int
    track: str
    name: str
    description: str
    is_active: bool
    created_at: datetime


class CourseQuery(QuerySchema):
    track: Track | None = None


# ---- lecturers ----------------------------------------------------------------------------------
class LecturerIn(Schema):
    user_id: Id
    name: ShortName
    qualification_kind: Literal["certification", "shop_results"] = Field(
        description="certification: a certificate on record; shop_results: a merchant with real sales")
    certificate_name: ShortText = ""
    certificate_no: Annotated[str, StringConstraints(max_length=64)] = ""
    certificate_issuer: Annotated[str, StringConstraints(max_length=64)] = ""
    merchant_id: Id | None = None
    bio: Text = ""


class LecturerPatch(Schema):
    name: ShortName | None = None
    bio: Text | None = None
    is_active: bool | None = Field(None, description="a retired lecturer runs no sessions and cannot be assigned")
    version: str | None = VERSION_FIELD


class LecturerOut(VersionedOut):
    id: int
    user_id: int
    name: str
    qualification_kind: str
    certificate_name: str
    certificate_no: str
    certificate_issuer: str
    merchant_id: int | None
    bio: str
    is_active: bool
    created_at: datetime


class LecturerBrief(Out):
    id: int
    name: str


# ---- sessions -----------------------------------------------------------------------------------
class SessionIn(Schema):
    course_id: Id
    title: Name
    starts_on: Day
    ends_on: Day
    online: bool = False
    venue_station_id: Id | None = None
    venue_detail: ShortText = ""
    capacity: int = Field(0, ge=0, le=100_000, description="0 = no limit")
    lecturer_ids: list[Id] = Field(default_factory=list, max_length=20)


class SessionPatch(Schema):
    title: Name | None = None
    starts_on: Day | None = None
    ends_on: Day | None = None
    online: bool | None = None
    venue_station_id: Id | None = None
    venue_detail: ShortText | None = None
    capacity: int | None = Field(None, ge=0, le=100_000)
    lecturer_ids: list[Id] | None = Field(None, max_length=20)


class SessionFileOut(Out):
    id: int
    kind: str
    url: str
    filename: str
    content_type: str
    size: int
    created_at: datetime


class SessionOut(Out):
    id: int
    course_id: int
    course_name: str
    track: str
    title: str
    starts_on: date
    ends_on: date
    online: bool
    venue_station_id: int | None
    venue_name: str
    venue_detail: str
    capacity: int
    status: str
    enrolled: int
    lecturers: list[LecturerBrief]
    files: list[SessionFileOut] = Field(default_factory=list)


class SessionQuery(QuerySchema):
    course_id: Id | None = None
    track: Track | None = None
    from_day: Day | None = Field(None, alias="from")
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(20, ge=1, le=100)


# ---- trainees -----------------------------------------------------------------------------------
class TraineeFields(Schema):
    name: ShortName
    phone: PhoneOrEmpty = ""
    town: Place = ""
    village: Place = ""
    village_station_id: Id | None = None
    groups: list[Group] = Field(default_factory=list, max_length=8)
    consent: bool = Field(False, description="agrees to have their sales outcomes tracked")

    @field_validator("groups")
    @classmethod
    def _unique(cls, v: list[str]) -> list[str]:
        return sorted(set(v))


class TraineeOfficeIn(TraineeFields):
    """The office's view: it alone records the registered-poor-household status (建档立卡)."""
    is_poor_household: bool = False


class TraineeIn(TraineeOfficeIn):
    user_id: Id | None = Field(None, description="the trainee's WeChat account, if they have one")


class TraineeSelfIn(TraineeFields):
    """A trainee's own profile. The poor-household registration is the office's to record."""

    @field_validator("groups")
    @classmethod
    def _no_registration(cls, v: list[str]) -> list[str]:
        if "poor_household" in v:
            raise ValueError("poor_household is recorded by the county office")
        return v


class TraineeOut(Out):
    id: int
    user_id: int | None
    name: str
    phone: str
    town: str
    village: str
    village_station_id: int | None
    groups: list[str]
    is_poor_household: bool
    consent: bool
    consent_at: datetime | None
    created_at: datetime


class TrainingRecord(Out):
    session_id: int
    course_id: int
    track: str
    title: str
    starts_on: date
    ends_on: date
    days_signed: list[date]


class TraineeDetailOut(TraineeOut):
    trainings: list[TrainingRecord]
    person_times: int


class TraineeQuery(QuerySchema):
    q: Annotated[str, StringConstraints(max_length=32)] | None = None
    group: Group | None = None
    cursor: str | None = Field(None, max_length=200)
    limit: int = Field(20, ge=1, le=100)


class EnrolIn(Schema):
    trainee_id: Id


class EnrolmentOut(Out):
    session_id: int
    trainee_id: int
    created_at: datetime


# ---- sign-in ------------------------------------------------------------------------------------
class SignInQrOut(Out):
    session_id: int
    day: date
    payload: str = Field(description="encode as a QR code; a trainee scans it in the mini-program")
    valid_until: datetime
    refresh_after: datetime = Field(description="fetch a new payload at this time")
    signed_today: int = Field(0, description="trainees signed in today (for the screen: 已签到 n/enrolled)")
    enrolled: int = 0


class SignInIn(Schema):
    payload: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class ManualSignInIn(Schema):
    trainee_id: Id
    day: Day | None = Field(None, description="defaults to today (Asia/Shanghai)")
    reason: Reason


class SignInOut(Out):
    id: int
    session_id: int
    trainee_id: int
    day: date
    method: str
    created_at: datetime


class SignInSheetRow(Out):
    trainee_id: int
    name: str
    phone: str
    town: str
    village: str
    day: date
    method: str
    reason: str
    signed_at: datetime


class SignInSheetOut(Out):
    session_id: int
    days: list[date]
    rows: list[SignInSheetRow]
    person_times: int


# ---- incubation and outcomes --------------------------------------------------------------------
class IncubationIn(Schema):
    kind: IncubationKind
    merchant_id: Id | None = None
    station_id: Id | None = None
    mentor_id: Id | None = Field(None, description="a lecturer id")
    note: ShortText = ""


class IncubationOut(Out):
    id: int
    trainee_id: int
    kind: str
    merchant_id: int | None
    station_id: int | None
    mentor_id: int | None
    note: str
    created_at: datetime


class MilestoneOut(Out):
    kind: str
    occurred_at: datetime
    data: dict


class OutcomeOut(Out):
    trainee_id: int
    tracked: bool = Field(description="false without the trainee's consent: no figures are computed")
    since: date | None = Field(None, description="the first training day; figures count from here")
    products_listed: int = 0
    orders: int = 0
    gmv_fen: int = 0
    live_sessions: int = 0
    live_gmv_fen: int = 0
    commission_fen: int = 0
    milestones: list[MilestoneOut] = Field(default_factory=list)


class CohortRow(Out):
    key: str
    label: str
    trainees: int = Field(description="trained (signed in at least once) and consenting")
    sellers: int = Field(description="of them, made at least one sale since their first training")
    seller_share_bp: int = Field(description="sellers / trainees in basis points")
    gmv_fen: int


class CohortQuery(QuerySchema):
    by: Literal["course", "session", "group", "track"] = "course"


class VillageRow(Out):
    station_id: int
    town: str
    village: str
    has_expert: bool
    experts: list[dict]


class VillagesOut(Out):
    threshold_fen: int
    villages: list[VillageRow]
    lacking: list[VillageRow]


class ProgressRow(Out):
    key: str
    label: str
    target: int | None
    actual: int
    percent: float | None


class ProgressOut(Out):
    total: ProgressRow
    tracks: list[ProgressRow]
    groups: list[ProgressRow]


class ArchiveRow(Out):
    session_id: int
    title: str
    starts_on: Day
    ends_on: Day
    ended: bool
    present: list[str]
    missing: list[str]
    complete: bool


class ArchiveQuery(QuerySchema):
    incomplete_only: bool = False
