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


# What production needs beyond the secrets above (issue #20): signed inbound requests, a public https
# URL, and every WeChat/Aliyun id changed from the simulator's value.
REAL_IDS = {
    "KAZUO_LIVE_CALLBACK_KEY": "a-real-looking-live-callback-key",
    "KAZUO_TRACE_SMS_INBOUND_KEY": "a-real-looking-sms-inbound-key",
    "KAZUO_PUBLIC_BASE_URL": "https://api.kazuo-pavilion.cn",
    "KAZUO_WECHAT_APP_ID": "wx5f1e2d3c4b5a6978",
    "KAZUO_WECHAT_MCH_ID": "1612345678",
    "KAZUO_ALIYUN_ACCESS_KEY_ID": "LTAI5tRealLookingKeyId",
    "KAZUO_LIVE_PUSH_DOMAIN": "push.live.kazuo-pavilion.cn",
    "KAZUO_LIVE_PLAY_DOMAIN": "play.live.kazuo-pavilion.cn",
    "KAZUO_ALIYUN_SMS_TEMPLATE_CODE": "SMS_462305001",
    "KAZUO_ALIYUN_SMS_PICKUP_TEMPLATE_CODE": "SMS_462305005",
    "KAZUO_ALIYUN_SMS_TRACE_TEMPLATE_CODE": "SMS_462305009",
    "KAZUO_ALIYUN_SMS_RECALL_TEMPLATE_CODE": "SMS_462305010",
    "KAZUO_WECHAT_PICKUP_TEMPLATE_ID": "Xo0Kq3pW9bYtR2vLm8nC4dF6gH1jK5sA7zE0uI3yT2w",
    "KAZUO_WECHAT_RECALL_TEMPLATE_ID": "Pq7Lm2Nb4Vc6Xz8As0Df1Gh3Jk5Ll9Qw2Er4Ty6Ui8o",
    # complaints and reports (#26)
    "KAZUO_ALIYUN_SMS_COMPLAINT_TEMPLATE_CODE": "SMS_462305026",
    "KAZUO_WECHAT_COMPLAINT_OUTCOME_TEMPLATE_ID": "Cm4Pl2Ou6Tc8Om0Ee1Tm3Pl5Id7Xx9Yy2Zz4Aa6Bb8c",
    # after-sales (#25)
    "KAZUO_ALIYUN_SMS_AFTERSALES_TEMPLATE_CODE": "SMS_462305025",
    "KAZUO_WECHAT_AFTERSALES_TEMPLATE_ID": "As5Kq3pW9bYtR2vLm8nC4dF6gH1jK5sA7zE0uI3yT2w",
    # pre-sale balance reminder (#28)
    "KAZUO_WECHAT_PRESALE_BALANCE_TEMPLATE_ID": "Ff1Gg2Hh3Ii4Jj5Kk6Ll7Mm8Nn9Oo0Pp1Qq2Rr3Ss4t",
    # sharing and notifications (#29)
    "KAZUO_WECHAT_ORDER_PAID_TEMPLATE_ID": "Aa1Bb2Cc3Dd4Ee5Ff6Gg7Hh8Ii9Jj0Kk1Ll2Mm3Nn4o",
    "KAZUO_WECHAT_ORDER_DISPATCHED_TEMPLATE_ID": "Bb1Cc2Dd3Ee4Ff5Gg6Hh7Ii8Jj9Kk0Ll1Mm2Nn3Oo4p",
    "KAZUO_WECHAT_OUT_FOR_DELIVERY_TEMPLATE_ID": "Cc1Dd2Ee3Ff4Gg5Hh6Ii7Jj8Kk9Ll0Mm1Nn2Oo3Pp4q",
    "KAZUO_WECHAT_REFUND_RESULT_TEMPLATE_ID": "Dd1Ee2Ff3Gg4Hh5Ii6Jj7Kk8Ll9Mm0Nn1Oo2Pp3Qq4r",
    "KAZUO_WECHAT_LIVE_STARTING_TEMPLATE_ID": "Ee1Ff2Gg3Hh4Ii5Jj6Kk7Ll8Mm9Nn0Oo1Pp2Qq3Rr4s",
    "KAZUO_ALIYUN_SMS_REFUND_TEMPLATE_CODE": "SMS_462305029",
    # review replies (gap-d)
    "KAZUO_WECHAT_REVIEW_REPLY_TEMPLATE_ID": "Rr1Ev2Ie3Ww4Re5Pl6Yy7Tt8Mm9Pp0Ll1Aa2Tt3Ee4Id5",
    # first-mile collection received (#26)
    "KAZUO_WECHAT_COLLECTION_RECEIVED_TEMPLATE_ID": "Cr1Ee2Ff3Gg4Hh5Ii6Jj7Kk8Ll9Mm0Nn1Oo2Pp3Qq4t",
    "KAZUO_ALIYUN_SMS_COLLECTION_TEMPLATE_CODE": "SMS_462305031",
}


KEPT_IN_EXAMPLE = {"KAZUO_PUBLIC_BASE_URL", "KAZUO_WECHAT_APP_ID", "KAZUO_WECHAT_MCH_ID", "KAZUO_ALIYUN_ACCESS_KEY_ID"}


def production_env(**changes: str | None) -> dict[str, str]:
    env = {
        "KAZUO_ENV": "production",
        "KAZUO_DATABASE_URL": "postgres://kazuo:pw@127.0.0.1:5432/kazuo",
        "KAZUO_REDIS_URL": "redis://127.0.0.1:6379/0",
        "KAZUO_JWT_SECRET": secrets.token_urlsafe(48),
        "KAZUO_WECHAT_APP_SECRET": "a-real-looking-app-secret",
        "KAZUO_WECHAT_PAY_MCH_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----(the merchant key)",
        "KAZUO_WECHAT_PAY_MCH_CERT_SERIAL": "5157F09EFDC096DE15EBE81A47057A7232F1B8E1",
        "KAZUO_WECHAT_PAY_APIV3_KEY": "0123456789abcdef0123456789abcdef",
        "KAZUO_WECHAT_PAY_PUBLIC_KEY": "-----BEGIN PUBLIC KEY-----(the WeChat Pay public key)",
        "KAZUO_WECHAT_PAY_PUBLIC_KEY_ID": "PUB_KEY_ID_0000000000000000000000000000",
        "KAZUO_ALIYUN_ACCESS_KEY_SECRET": "a-real-looking-aliyun-secret",
        **REAL_IDS,
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
    assert placeholders == sorted(["KAZUO_ALIYUN_ACCESS_KEY_SECRET", "KAZUO_JWT_SECRET", "KAZUO_METRICS_TOKEN",
                                   "KAZUO_WECHAT_APP_SECRET",
                                   "KAZUO_WECHAT_PAY_APIV3_KEY", "KAZUO_WECHAT_PAY_MCH_CERT_SERIAL",
                                   "KAZUO_WECHAT_PAY_MCH_PRIVATE_KEY", "KAZUO_WECHAT_PAY_PUBLIC_KEY",
                                   "KAZUO_WECHAT_PAY_PUBLIC_KEY_ID",
                                   *(k for k in REAL_IDS if k not in KEPT_IN_EXAMPLE)])
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
    filled = filled.replace("KAZUO_WECHAT_PAY_APIV3_KEY=CHANGE_ME", "KAZUO_WECHAT_PAY_APIV3_KEY=" + "k" * 32)
    filled = re.sub(r"^(KAZUO_[A-Z_]+)=CHANGE_ME$", r"\1=filled-in-secret", filled, flags=re.M)
    env_file.write_text(filled)
    s = load_settings(_env_file=str(env_file))
    assert s.env == "production" and not s.simulators_on and s.workers == 2



# ---- production start-up refuses what would fail later (issue #20) ------------------------------
@pytest.mark.parametrize("name", ["KAZUO_LIVE_CALLBACK_KEY", "KAZUO_TRACE_SMS_INBOUND_KEY"])
def test_production_without_an_inbound_key_names_it(clean_env, name):
    clean_env(production_env(**{name: None}))
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert name in str(err.value)
    assert [n for n in REAL_IDS if n in str(err.value)] == [name]  # only what is missing


@pytest.mark.parametrize("url", ["", "http://api.kazuo-pavilion.cn", "https://127.0.0.1", "https://localhost:8443",
                                 "https://[::1]/", "https://0.0.0.0", "https://127.8.0.1/kazuo",
                                 "https://shop.localhost", "ftp://api.kazuo-pavilion.cn", "https://[bad"])
def test_production_public_base_url_must_be_https_and_not_loopback(clean_env, url):
    clean_env(production_env(KAZUO_PUBLIC_BASE_URL=url))
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert "KAZUO_PUBLIC_BASE_URL" in str(err.value)


@pytest.mark.parametrize("url", ["https://api.kazuo-pavilion.cn", "https://47.92.10.8:8443/kazuo"])
def test_production_accepts_a_public_https_url(clean_env, url):
    clean_env(production_env(KAZUO_PUBLIC_BASE_URL=url))
    assert load_settings().base_url == url.rstrip("/")


@pytest.mark.parametrize("name", [n for n in REAL_IDS if n not in ("KAZUO_LIVE_CALLBACK_KEY", "KAZUO_TRACE_SMS_INBOUND_KEY",
                                                                 "KAZUO_PUBLIC_BASE_URL")])
def test_production_refuses_an_id_still_holding_the_simulator_value(clean_env, name):
    default = Settings.model_fields[name.removeprefix("KAZUO_").lower()].default
    clean_env(production_env(**{name: None}))  # unset: the default, which is the simulator's value
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert f"{name} (still the simulator's {default!r})" in str(err.value)
    clean_env(production_env(**{name: "CHANGE_ME"}))
    with pytest.raises(ConfigError) as err:
        load_settings()
    assert name in str(err.value)


def test_every_template_setting_is_checked_in_production(clean_env):
    """A moment added later (its *_template_id setting) is covered without touching the check."""
    templates = [n for n in Settings.model_fields if n.endswith(("_template_id", "_template_code"))]
    assert templates and all("KAZUO_" + n.upper() in REAL_IDS for n in templates)


def test_serve_without_the_live_callback_key_exits_2_naming_it(tmp_path):
    r = run_cli(["serve", "--port", "0"], production_env(KAZUO_LIVE_CALLBACK_KEY=None), tmp_path)
    assert r.returncode == 2, r.stderr
    assert "KAZUO_LIVE_CALLBACK_KEY" in r.stderr and "Traceback" not in r.stderr


def test_outside_production_the_same_settings_start(clean_env):
    clean_env({"KAZUO_PUBLIC_BASE_URL": "http://127.0.0.1:8000"})
    s = load_settings()
    assert s.env == "development" and s.live_callback_key is None
