"""Which WeChat Pay API this deployment speaks (KAZUO_WECHAT_PAY_API_VERSION, v3 by default) and the
gateway built for it. Payments code calls `gateway()` and sees only the PayGateway interface.

Keys: production takes every key from settings (private keys from the environment only; the settings
validator refuses to start without them). In simulator mode the missing ones default to the
simulator's: the v3 merchant key, serial, APIv3 key and WeChat Pay public key (or platform
certificates) from simulators/wechatpay_v3.py, and the v2 merchant certificate from the simulator's
test CA (simulators/wechatpay_tls.py), whose /secapi/ requires it."""
from __future__ import annotations

from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from config.settings import ConfigError, Settings
from server.integrations.simulators import wechatpay_tls
from server.integrations.simulators import wechatpay_v3 as sim_v3
from server.integrations.wechatpay import PayGateway, WeChatPayGateway
from server.integrations.wechatpay_v3 import WeChatPayV3Gateway, pkcs8_pem
from server.kit import runtime

REAL_API = "https://api.mch.weixin.qq.com/"


def build(settings: Settings, version: str | None = None) -> PayGateway:
    """The gateway of `version` (default: the deployment's setting)."""
    if (version or settings.wechat_pay_api_version) == "v2":
        return _v2(settings)
    return _v3(settings)


def _api_base(settings: Settings, sim_path: str) -> str:
    base = settings.wechat_pay_api_base or (settings.base_url + sim_path if settings.simulators_on else REAL_API)
    return base if base.endswith("/") else base + "/"


def _v3(settings: Settings) -> WeChatPayV3Gateway:
    sim = sim_v3.sim_keys(settings.data_dir) if settings.simulators_on else None
    if settings.wechat_pay_mch_private_key is not None:
        private_key = settings.wechat_pay_mch_private_key.get_secret_value()
    elif sim is not None:
        private_key = sim.merchant_private_pem()
    else:
        raise ConfigError("KAZUO_WECHAT_PAY_MCH_PRIVATE_KEY is not set")
    serial = settings.wechat_pay_mch_cert_serial or (sim.merchant_serial if sim else "")
    public_key, public_key_id, cert_dir = settings.wechat_pay_public_key, settings.wechat_pay_public_key_id, ""
    if not public_key:
        cert_dir = settings.wechat_pay_platform_cert_dir
        if not cert_dir and sim is not None:
            if settings.wechat_pay_sim_key_mode == "public_key":
                public_key, public_key_id = sim.public_key_pem(), sim.public_key_id
            else:
                cert_dir = str(Path(settings.data_dir) / "wechatpay-platform-certs")
    if not (serial and (public_key or cert_dir)):
        raise ConfigError("WeChat Pay v3 needs KAZUO_WECHAT_PAY_MCH_CERT_SERIAL and a WeChat Pay public key "
                          "or KAZUO_WECHAT_PAY_PLATFORM_CERT_DIR")
    try:
        private_key = pkcs8_pem(private_key)
    except (ValueError, TypeError):
        raise ConfigError("KAZUO_WECHAT_PAY_MCH_PRIVATE_KEY is not a PEM private key") from None
    try:
        return WeChatPayV3Gateway(
            app_id=settings.wechat_app_id, mch_id=settings.wechat_mch_id, private_key_pem=private_key,
            cert_serial=serial, apiv3_key=settings.secret("wechat_pay_apiv3_key"),
            api_base=_api_base(settings, sim_v3.PREFIX).rstrip("/"), public_key_pem=public_key,
            public_key_id=public_key_id, cert_dir=cert_dir, timeout=settings.wechat_pay_timeout_seconds,
            max_skew_seconds=settings.wechat_pay_notify_max_skew_seconds)
    except Exception as exc:  # noqa: BLE001 - the SDK raises bare Exception for a key it cannot load
        raise ConfigError(f"KAZUO_WECHAT_PAY_PUBLIC_KEY: {exc}") from None


def merchant_cert_files(settings: Settings, cert_path: str, key_path: str = "") -> tuple[str, str]:
    """The v2 merchant API certificate as PEM files for requests: a PEM cert + key as given, or a
    PKCS#12 file (password: the setting, else the merchant id) converted once under data_dir (0600)."""
    if not cert_path.lower().endswith((".p12", ".pfx")):
        if not key_path:
            raise ConfigError("KAZUO_WECHAT_PAY_V2_KEY_PATH is needed with a PEM KAZUO_WECHAT_PAY_V2_CERT_PATH")
        return cert_path, key_path
    password = (settings.wechat_pay_v2_cert_password.get_secret_value() if settings.wechat_pay_v2_cert_password
                else settings.wechat_mch_id)
    try:
        key, cert, _ = pkcs12.load_key_and_certificates(Path(cert_path).read_bytes(), password.encode())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"KAZUO_WECHAT_PAY_V2_CERT_PATH: cannot read the PKCS#12 file ({exc})") from None
    if key is None or cert is None:
        raise ConfigError("KAZUO_WECHAT_PAY_V2_CERT_PATH: the PKCS#12 file holds no key and certificate")
    out = Path(settings.data_dir) / "wechatpay-v2-cert"
    out.mkdir(parents=True, exist_ok=True)
    out.chmod(0o700)
    pem_cert, pem_key = out / "apiclient_cert.pem", out / "apiclient_key.pem"
    pem_cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pem_key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
    pem_key.chmod(0o600)
    return str(pem_cert), str(pem_key)


def _v2(settings: Settings, cert_path: str | None = None, key_path: str | None = None) -> WeChatPayGateway:
    api_key = settings.secret("wechat_pay_api_key")
    base = _api_base(settings, "/__sim__/wechatpay/")
    secapi_base, verify = settings.wechat_pay_v2_secapi_base, True
    explicit = cert_path is not None
    cert_path = settings.wechat_pay_v2_cert_path if cert_path is None else cert_path
    key_path = settings.wechat_pay_v2_key_path if key_path is None else key_path
    if settings.simulators_on and not secapi_base:
        secapi_base, pki = wechatpay_tls.ensure_front(settings, api_key)
        verify = str(pki.ca_cert)
        if not cert_path and not explicit:  # the simulator's merchant certificate stands in
            cert_path, key_path = str(pki.client_p12), ""
    cert = key = None
    if cert_path:
        cert, key = merchant_cert_files(settings, cert_path, key_path or "")
    return WeChatPayGateway(app_id=settings.wechat_app_id, mch_id=settings.wechat_mch_id, api_key=api_key,
                            api_base=base, mch_cert=cert, mch_key=key, secapi_base=secapi_base or base,
                            secapi_verify=verify, timeout=settings.wechat_pay_timeout_seconds)


def build_v2(settings: Settings, *, cert_path: str, key_path: str = "") -> WeChatPayGateway:
    """A v2 gateway with this merchant certificate ("" = none): for checks of the certificate setup."""
    return _v2(settings, cert_path, key_path)


def install(settings: Settings, rt) -> None:
    """INTEGRATION_HOOKS entry: build the deployment's gateway into runtime extras."""
    rt.extras["wechatpay"] = build(settings)


def gateway() -> PayGateway:
    return runtime.get().extras["wechatpay"]
