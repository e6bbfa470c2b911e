"""Configuration: misconfigurations fail at start naming the variable; the env examples document
every setting with its real default."""
from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

from config.settings import ConfigError, Settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = {kind: ROOT / "config" / f"{kind}.env.example" for kind in ("embedded", "production")}
VAR_LINE = re.compile(r"^(#\s*)?(KAZUO_[A-Z0-9_]+)=(.*)$")


def production_env(**changes: str | None) -> dict[str, str]:
    env = {
        "KAZUO_ENV": "production",
        "KAZUO_DATABASE_URL": "postgres://kazuo:pw@127.0.0.1:5432/kazuo",
        "KAZUO_REDIS_URL": "redis://127.0.0.1:6379/0",
        "KAZUO_JWT_SECRET": secrets.token_urlsafe(48),
        "KAZUO_WECHAT_APP_SECRET": "a-real-looking-app-secret",
        "KAZUO_WECHAT_PAY_API_KEY": "0123456789abcdef0123456789abcdef",
        "KAZUO_ALIYUN_ACCESS_KEY_SECRET": "a-real-looking-aliyun-secret",
    }
    for k, v in changes.items():
        if v is None:
            env.pop(k, None)
        else:
            env[k] = v
    return env


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No KAZUO_* from the outside and no .env in the working directory."""
    for k in list(os.environ):
        if k.startswith("KAZUO_"):
            monkeypatch.delenv(k)
    monkeypatch.chdir(tmp_path)

    def _set(env: dict[str, str]) -> None:
        for k, v in env.items():
            monkeypatch.setenv(k, v)
    return _set


def run_cli(args: list[str], env: dict[str, str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith("KAZUO_")}
    base["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "server", *args], env={**base, **env}, cwd=cwd,
                          capture_output=True, text=True, timeout=timeout)


def test_complete_production_configuration_loads(clean_env):
    clean_env(production_env())
    s = load_settings()
    assert s.env == "production" and not s.simulators_on and not s.embedded_db and not s.inline_worker


def test_production_without_wechat_app_secret_names_the_variable(clean_env):
    clean_env(production_env(KAZUO_WECHAT_APP_SECRET=None))
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "KAZUO_WECHAT_APP_SECRET" in str(err.value)
    assert "KAZUO_ALIYUN_ACCESS_KEY_SECRET" not in str(err.value)  # only what is missing


def test_serve_without_wechat_app_secret_exits_2_naming_it(tmp_path):
    r = run_cli(["serve", "--port", "0"], production_env(KAZUO_WECHAT_APP_SECRET=None), tmp_path)
    assert r.returncode == 2, r.stderr
    assert "KAZUO_WECHAT_APP_SECRET" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("secret", ["short", "x" * 31, "密" * 10])
def test_a_short_jwt_secret_is_refused(clean_env, secret):
    clean_env({"KAZUO_JWT_SECRET": secret})
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "KAZUO_JWT_SECRET" in str(err.value)


def test_a_32_byte_jwt_secret_is_enough(clean_env):
    clean_env({"KAZUO_JWT_SECRET": "k" * 32})
    assert load_settings().jwt_key() == "k" * 32


def test_short_jwt_secret_stops_the_server(tmp_path):
    r = run_cli(["serve"], {"KAZUO_JWT_SECRET": "too-short", "KAZUO_DATA_DIR": str(tmp_path)}, tmp_path)
    assert r.returncode == 2 and "KAZUO_JWT_SECRET" in r.stderr and "Traceback" not in r.stderr


def test_several_workers_need_postgres_and_redis(tmp_path, clean_env):
    from server.app import create_app

    with pytest.raises(ConfigError) as err:
        create_app(Settings(_env_file=None, workers=2, data_dir=tmp_path), name="kazuo_cfg_test")
    assert "KAZUO_WORKERS" in str(err.value)
    r = run_cli(["serve"], {"KAZUO_WORKERS": "2", "KAZUO_DATA_DIR": str(tmp_path)}, tmp_path)
    assert r.returncode == 2, r.stderr
    assert "KAZUO_WORKERS" in r.stderr and "Traceback" not in r.stderr
    r = run_cli(["serve", "--workers", "2"], {"KAZUO_DATA_DIR": str(tmp_path)}, tmp_path)
    assert r.returncode == 2 and "KAZUO_WORKERS" in r.stderr


@pytest.mark.parametrize("name, value", [("KAZUO_PORT", "eighty"), ("KAZUO_PORT", "70000"),
                                         ("KAZUO_WORKERS", "0"), ("KAZUO_ENV", "staging"),
                                         ("KAZUO_SMS_PER_PHONE_PER_DAY", "0"),
                                         ("KAZUO_ALIYUN_TIMEOUT_SECONDS", "-1")])
def test_bad_values_name_the_variable(clean_env, name, value):
    clean_env({name: value})
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert name in str(err.value)


@pytest.mark.parametrize("name", ["KAZUO_WECHAT_APP_SECRET", "KAZUO_ALIYUN_ACCESS_KEY_SECRET"])
@pytest.mark.parametrize("value", ["CHANGE_ME", "", "   "])
def test_placeholder_or_empty_secrets_are_refused(clean_env, name, value):
    clean_env(production_env(**{name: value}))
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert name in str(err.value)


# ---- the env examples -------------------------------------------------------------------------
def parse_example(path: Path) -> tuple[dict[str, str], dict[str, str]]:
    """(set variables, commented-out variables) of an env example."""
    active, commented = {}, {}
    for line in path.read_text().splitlines():
        m = VAR_LINE.match(line)
        if m:
            (commented if m.group(1) else active)[m.group(2)] = m.group(3)
    return active, commented


@pytest.mark.parametrize("kind", ["embedded", "production"])
def test_examples_document_every_setting(kind):
    active, commented = parse_example(EXAMPLES[kind])
    documented = set(active) | set(commented)
    expected = {"KAZUO_" + name.upper() for name in Settings.model_fields}
    missing = sorted(expected - documented)
    assert not missing, f"run `python -m config.envdoc`: {missing} missing from {EXAMPLES[kind].name}"
    assert not sorted(documented - expected), "documents variables that do not exist"
    text = EXAMPLES[kind].read_text()
    for var in expected:  # each has a meaning and a default line right above it
        block = text.split(f"{var}=")[0].rsplit("\n\n", 1)[-1]
        assert "# Default:" in block and len(block.splitlines()) >= 2, var


def test_embedded_example_sets_nothing_and_its_defaults_are_the_real_ones(clean_env):
    active, commented = parse_example(EXAMPLES["embedded"])
    assert active == {}
    # Uncommenting every line changes nothing: the documented defaults are the actual defaults.
    clean_env({k: v for k, v in commented.items() if v != ""})
    documented, default = load_settings(), Settings(_env_file=None)
    for name in Settings.model_fields:
        assert getattr(documented, name) == getattr(default, name), name


def test_production_example_refuses_its_placeholders_until_filled(clean_env, tmp_path):
    active, commented = parse_example(EXAMPLES["production"])
    placeholders = sorted(k for k, v in active.items() if v == "CHANGE_ME")
    assert placeholders == ["KAZUO_ALIYUN_ACCESS_KEY_SECRET", "KAZUO_JWT_SECRET", "KAZUO_METRICS_TOKEN",
                            "KAZUO_WECHAT_APP_SECRET", "KAZUO_WECHAT_PAY_API_KEY"]
    # Secrets are placeholders or commented out: never a value in the example.
    for name, f in Settings.model_fields.items():
        var = "KAZUO_" + name.upper()
        if "SecretStr" in str(f.annotation):
            assert active.get(var, "CHANGE_ME") == "CHANGE_ME" and commented.get(var, "CHANGE_ME") == "CHANGE_ME"
    env_file = tmp_path / ".env"
    env_file.write_text(EXAMPLES["production"].read_text())
    with pytest.raises(ConfigError) as err:
        load_settings(_env_file=str(env_file))
    assert any(p in str(err.value) for p in placeholders)
    filled = EXAMPLES["production"].read_text()
    filled = filled.replace("KAZUO_JWT_SECRET=CHANGE_ME", "KAZUO_JWT_SECRET=" + secrets.token_urlsafe(48))
    filled = re.sub(r"^(KAZUO_[A-Z_]+)=CHANGE_ME$", r"\1=filled-in-secret", filled, flags=re.M)
    env_file.write_text(filled)
    s = load_settings(_env_file=str(env_file))
    assert s.env == "production" and not s.simulators_on and s.workers == 2

