"""config/deploy/: the systemd units pass `systemd-analyze verify`; the nginx site passes `nginx -t` and
proxies a request under a temporary prefix (never the system's nginx), with TLS from a self-signed
certificate made here, the client's address reaching the server's per-IP limits, and media from disk."""
from __future__ import annotations

import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from server.kit import redis as kr
from tests.conftest import _free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "config" / "deploy"
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_units_verify(tmp_path):
    for unit in (DEPLOY / "systemd").glob("*.service"):
        text = unit.read_text()
        assert "/opt/kazuo-pavilion/.venv/bin/python -m server " in text
        # The paths of this checkout stand in for /opt/kazuo-pavilion (verify checks ExecStart exists).
        text = text.replace("/opt/kazuo-pavilion/.venv/bin/python", sys.executable)
        text = text.replace("WorkingDirectory=/opt/kazuo-pavilion", f"WorkingDirectory={ROOT}")
        (tmp_path / unit.name).write_text(text)
    r = subprocess.run(["systemd-analyze", "verify", "--man=no", "./kazuo-serve.service", "./kazuo-worker@1.service"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    # Unknown keys are only warnings to systemd: none allowed here.
    assert "kazuo" not in (r.stdout + r.stderr), r.stdout + r.stderr
    assert "ExecStart=" in (tmp_path / "kazuo-worker@.service").read_text()
    assert "-m server worker" in (tmp_path / "kazuo-worker@.service").read_text()


def _site(tmp: Path, upstream: int, http_port: int, https_port: int) -> str:
    """The committed site with this test's ports, certificate and media folder."""
    text = (DEPLOY / "nginx" / "kazuo-pavilion.conf").read_text()
    replacements = [
        (r"server 127\.0\.0\.1:8000;", f"server 127.0.0.1:{upstream};"),
        (r"\n\s*listen \[::\]:\d+[^;]*;", ""),
        (r"listen 80;", f"listen 127.0.0.1:{http_port};"),
        (r"listen 443 ssl http2;", f"listen 127.0.0.1:{https_port} ssl http2;"),
        (r"/etc/ssl/kazuo-pavilion/", f"{tmp}/ssl/"),
        (r"alias /var/lib/kazuo-pavilion/media/;", f"alias {tmp}/media/;"),
    ]
    for pattern, repl in replacements:
        text, n = re.subn(pattern, repl, text)
        assert n >= 1, pattern
    return text


@pytest.fixture
def nginx_site(tmp_path, settings):
    if NGINX is None:
        pytest.skip("nginx is not installed (.ci/run installs Debian's)")
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    (tmp_path / "ssl").mkdir()
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=api.kazuo.example", "-keyout", str(tmp_path / "ssl" / "privkey.pem"),
                    "-out", str(tmp_path / "ssl" / "fullchain.pem")], check=True, capture_output=True, timeout=60)
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "hello.txt").write_text("喀左")
    http_port, https_port = _free_port(), _free_port()
    (tmp_path / "site.conf").write_text(_site(tmp_path, settings.port, http_port, https_port))
    (tmp_path / "nginx.conf").write_text(f"""
user root;
worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {tmp_path}/access.log;
    client_body_temp_path {tmp_path}/body;
    proxy_temp_path {tmp_path}/proxy;
    fastcgi_temp_path {tmp_path}/fastcgi;
    uwsgi_temp_path {tmp_path}/uwsgi;
    scgi_temp_path {tmp_path}/scgi;
    include {tmp_path}/site.conf;
}}
""")
    base = [NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", str(tmp_path / "error.log")]
    test = subprocess.run(base + ["-t"], capture_output=True, text=True, timeout=60)
    assert test.returncode == 0, test.stderr
    assert "syntax is ok" in test.stderr and "test is successful" in test.stderr
    proc = subprocess.Popen(base + ["-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(https_port)
        yield {"http": http_port, "https": https_port}
    finally:
        proc.terminate()
        proc.wait(10)


async def test_nginx_site_proxies_with_tls_and_the_clients_address(nginx_site, app, client):
    # The client on another loopback address than nginx's own connection to the server (127.0.0.1).
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2", verify=False)
    async with httpx.AsyncClient(transport=transport, base_url=f"https://127.0.0.1:{nginx_site['https']}",
                                 timeout=10) as proxied:
        r = await proxied.get("/healthz")
        assert r.status_code == 200 and r.json() == {"status": "ok"}
        assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])  # nginx's $request_id, passed on
        assert r.headers["strict-transport-security"].startswith("max-age=")
        media = await proxied.get("/media/hello.txt")
        assert media.status_code == 200 and media.text == "喀左"
        # KAZUO_PROXIES_COUNT=1 (the production example's value): the per-IP login limit counts the
        # client nginx saw, not nginx and not what the client wrote in X-Forwarded-For.
        app.config.PROXIES_COUNT = 1
        try:
            code = (await client.post("/__sim__/wechat/login-code",
                                      json={"openid": "o-" + secrets.token_hex(6)})).json()["code"]
            r = await proxied.post("/api/v1/auth/wechat-login", json={"code": code},
                                   headers={"X-Forwarded-For": "198.51.100.77"})
            assert r.status_code == 200, r.text
        finally:
            app.config.PROXIES_COUNT = 0
        assert await kr.redis().get(kr.key("rl", "login", "127.0.0.2")) is not None
        assert await kr.redis().get(kr.key("rl", "login", "198.51.100.77")) is None
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{nginx_site['http']}") as plain:
        r = await plain.get("/healthz")
        assert r.status_code == 301 and r.headers["location"].startswith("https://")
