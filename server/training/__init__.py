"""Training and incubation (培训与孵化): courses, sessions, sign-in, archive, trainees, outcomes."""
