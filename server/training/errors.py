"""Error codes of training sessions and trainees:
the strings clients see in error.code (the catalogue: /docs/error-codes)."""
from __future__ import annotations

from server.kit.errors import DeclaredCode


class TrainingCode(DeclaredCode):
    ALREADY_ATTENDED = "already_attended", 409
    ALREADY_LECTURER = "already_lecturer", 409
    ALREADY_SIGNED_IN = "already_signed_in", 409
    INCUBATION_EXISTS = "incubation_exists", 409
    INVALID_SIGNIN_CODE = "invalid_signin_code", 422
    NO_TRAINEE_PROFILE = "no_trainee_profile", 409
    NOT_A_SESSION_DAY = "not_a_session_day", 409
    NOT_ENROLLED = "not_enrolled", 403
    SESSION_CANCELLED = "session_cancelled", 409
    SESSION_FULL = "session_full", 409
    SESSION_HELD = "session_held", 409
    SESSION_OVER = "session_over", 409
    SIGNIN_CODE_EXPIRED = "signin_code_expired", 410
    SIGNINS_OUTSIDE = "signins_outside", 409
    TRAINEE_EXISTS = "trainee_exists", 409
