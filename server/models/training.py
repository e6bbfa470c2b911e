"""Training and incubation (培训与孵化): courses, sessions (班次), lecturers, trainees, enrolments,
sign-ins, the archive's files, incubation links and milestones."""
from tortoise import fields
from tortoise.models import Model


class Course(Model):
    """A course in one track: basic | intermediate | advanced | cadre | cross_border | livestream |
    lecturer (基础/中级/高级/领导干部/跨境/直播人才/讲师培训)."""
    id = fields.BigIntField(primary_key=True)
    track = fields.CharField(16, db_index=True)
    name = fields.CharField(64)
    description = fields.TextField(default="")
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "training_courses"


class Lecturer(Model):
    """A lecturer (讲师): a user with a recorded qualification — a certification or real shop
    results (a merchant whose sales are on record)."""
    id = fields.BigIntField(primary_key=True)
    user = fields.OneToOneField("models.User", related_name="lecturer", on_delete=fields.RESTRICT)
    name = fields.CharField(32)
    # certification | shop_results
    qualification_kind = fields.CharField(16)
    certificate_name = fields.CharField(64, default="")
    certificate_no = fields.CharField(64, default="")
    certificate_issuer = fields.CharField(64, default="")
    merchant = fields.ForeignKeyField("models.Merchant", null=True, related_name="lecturers",
                                      on_delete=fields.RESTRICT)
    bio = fields.TextField(default="")
    is_active = fields.BooleanField(default=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "training_lecturers"


class TrainingSession(Model):
    """A training session (培训班次): a course held on a span of days at a venue or online."""
    id = fields.BigIntField(primary_key=True)
    course = fields.ForeignKeyField("models.Course", related_name="sessions", on_delete=fields.RESTRICT)
    title = fields.CharField(64)
    starts_on = fields.DateField()
    ends_on = fields.DateField()
    online = fields.BooleanField(default=False)
    venue_station = fields.ForeignKeyField("models.Station", null=True, related_name="training_sessions",
                                           on_delete=fields.RESTRICT)
    venue_detail = fields.CharField(200, default="")
    capacity = fields.IntField(default=0)  # 0 = no limit
    status = fields.CharField(16, default="open", db_index=True)  # open | cancelled
    created_by = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "training_sessions"
        indexes = (("starts_on", "ends_on"),)


class SessionLecturer(Model):
    id = fields.BigIntField(primary_key=True)
    session = fields.ForeignKeyField("models.TrainingSession", related_name="lecturer_links",
                                     on_delete=fields.CASCADE)
    lecturer = fields.ForeignKeyField("models.Lecturer", related_name="session_links", on_delete=fields.RESTRICT)

    class Meta:
        table = "training_session_lecturers"
        unique_together = (("session", "lecturer"),)


class SessionFile(Model):
    """An archive file (培训档案) of a session: plan | notice | syllabus | material | slides | photo |
    video. The bytes live in the media storage; this row keeps the reference."""
    id = fields.BigIntField(primary_key=True)
    session = fields.ForeignKeyField("models.TrainingSession", related_name="files", on_delete=fields.CASCADE)
    kind = fields.CharField(16, db_index=True)
    media_key = fields.CharField(300)
    url = fields.CharField(500, default="")
    filename = fields.CharField(200, default="")
    content_type = fields.CharField(100, default="")
    size = fields.BigIntField(default=0)
    uploaded_by = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "training_session_files"


class Trainee(Model):
    """A trainee (学员) profile. Personal data: visible only to the county office and the trainee."""
    id = fields.BigIntField(primary_key=True)
    user = fields.OneToOneField("models.User", null=True, related_name="trainee", on_delete=fields.SET_NULL)
    name = fields.CharField(32)
    phone = fields.CharField(20, default="")
    town = fields.CharField(32, default="", db_index=True)
    village = fields.CharField(32, default="")
    # The village's station, when known: links the trainee to a (poor) village for the 电商能手 report.
    village_station = fields.ForeignKeyField("models.Station", null=True, related_name="trainees",
                                             on_delete=fields.SET_NULL)
    groups = fields.JSONField(default=list)
    is_poor_household = fields.BooleanField(default=False)  # 建档立卡贫困户
    consent = fields.BooleanField(default=False)  # agreed to have their outcomes tracked
    consent_at = fields.DatetimeField(null=True)
    created_by = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "training_trainees"


class Enrolment(Model):
    id = fields.BigIntField(primary_key=True)
    session = fields.ForeignKeyField("models.TrainingSession", related_name="enrolments", on_delete=fields.CASCADE)
    trainee = fields.ForeignKeyField("models.Trainee", related_name="enrolments", on_delete=fields.CASCADE)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "training_enrolments"
        unique_together = (("session", "trainee"),)


class SignIn(Model):
    """One sign-in (签到) per trainee per session day: the unique constraint is the guarantee."""
    id = fields.BigIntField(primary_key=True)
    session = fields.ForeignKeyField("models.TrainingSession", related_name="signins", on_delete=fields.CASCADE)
    trainee = fields.ForeignKeyField("models.Trainee", related_name="signins", on_delete=fields.CASCADE)
    day = fields.DateField()  # Asia/Shanghai calendar day
    method = fields.CharField(8)  # qr | manual
    signed_by = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    reason = fields.CharField(200, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "training_signins"
        unique_together = (("session", "trainee", "day"),)


class Incubation(Model):
    """What a trainee became (孵化): a merchant member, a livestreamer or station staff, with a mentor."""
    id = fields.BigIntField(primary_key=True)
    trainee = fields.ForeignKeyField("models.Trainee", related_name="incubations", on_delete=fields.CASCADE)
    kind = fields.CharField(16)  # merchant | livestreamer | station_staff
    merchant = fields.ForeignKeyField("models.Merchant", null=True, related_name="incubations",
                                      on_delete=fields.RESTRICT)
    station = fields.ForeignKeyField("models.Station", null=True, related_name="incubations",
                                     on_delete=fields.RESTRICT)
    mentor = fields.ForeignKeyField("models.Lecturer", null=True, related_name="mentees", on_delete=fields.SET_NULL)
    note = fields.CharField(200, default="")
    # kind:merchant:station — unique per trainee (NULLs would not collide in a UNIQUE index).
    scope_key = fields.CharField(80)
    created_by = fields.ForeignKeyField("models.User", null=True, related_name=False, on_delete=fields.SET_NULL)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "training_incubations"
        unique_together = (("trainee", "scope_key"),)


class Milestone(Model):
    """A milestone as it happened: first_product | first_sale | first_live_session | first_gmv_month."""
    id = fields.BigIntField(primary_key=True)
    trainee = fields.ForeignKeyField("models.Trainee", related_name="milestones", on_delete=fields.CASCADE)
    kind = fields.CharField(24)
    occurred_at = fields.DatetimeField()
    data = fields.JSONField(default=dict)
    recorded_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "training_milestones"
        unique_together = (("trainee", "kind"),)


class TrainingScanMark(Model):
    """The milestone scanner's watermark (so a lost or repeated run re-scans, never skips)."""
    id = fields.BigIntField(primary_key=True)
    name = fields.CharField(32, unique=True)
    scanned_to = fields.DatetimeField()

    class Meta:
        table = "training_scan_marks"
