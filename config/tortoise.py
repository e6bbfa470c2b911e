"""Tortoise config for aerich (`aerich -t config.tortoise.TORTOISE_ORM ...`), from the same Settings."""
from config.settings import get_settings
from server.kit.db import tortoise_config

TORTOISE_ORM = tortoise_config(get_settings().db_url)
