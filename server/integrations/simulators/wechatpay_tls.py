"""The v2 simulator's /secapi/ over two-way TLS, as WeChat serves it: a TLS port that requires a client
certificate issued by the simulator's CA (the merchant API certificate; CN = the merchant id).

A small TLS front on its own port checks the certificate in the handshake and passes each request on
to the simulator's route on the main port with the certificate's CN and a proof that it came through
the front (an HMAC of the simulator's v2 key: the same in every process). The /secapi/ route refuses
requests without that proof, so a refund made without the merchant certificate fails here as it would
at WeChat. The CA, the front's server certificate and a merchant client certificate (PEM and PKCS#12,
password = the merchant id, as WeChat issues apiclient_cert.p12) are generated once under
data_dir/wechatpay-sim-pki/ (at test time, in a fresh data_dir)."""
from __future__ import annotations

import asyncio
import fcntl
import hashlib
import hmac
import ipaddress
import logging
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

log = logging.getLogger("kazuo.sim.wechatpay.tls")
CN_HEADER = "X-Kazuo-Sim-Client-Cn"
PROOF_HEADER = "X-Kazuo-Sim-Mtls"


@dataclass(frozen=True)
class Pki:
    ca_cert: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    client_p12: Path


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write_key(path: Path, key) -> None:
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)


def issue(ca_key, ca_cert, cn: str, *, server: bool) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    """A certificate signed by the CA: for the TLS front (server) or for a merchant (client)."""
    key, now = _key(), datetime.now(timezone.utc)
    b = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)]))
         .issuer_name(ca_cert.subject).public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=3650)))
    if server:
        b = b.add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                         x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
    else:
        b = b.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
    return key, b.sign(ca_key, hashes.SHA256())


def new_ca(cn: str) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key, now = _key(), datetime.now(timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(hours=1))
            .not_valid_after(now + timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), True).sign(key, hashes.SHA256()))
    return key, cert


def ensure_pki(data_dir: Path, mch_id: str) -> Pki:
    d = Path(data_dir) / "wechatpay-sim-pki"
    d.mkdir(parents=True, exist_ok=True)
    pki = Pki(d / "ca.pem", d / "server.pem", d / "server.key", d / "apiclient_cert.pem", d / "apiclient_key.pem",
              d / "apiclient_cert.p12")
    with open(d / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if pki.client_p12.exists():
            return pki
        ca_key, ca = new_ca("Kazuo WeChat Pay simulator CA")
        pki.ca_cert.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
        skey, scert = issue(ca_key, ca, "127.0.0.1", server=True)
        pki.server_cert.write_bytes(scert.public_bytes(serialization.Encoding.PEM))
        _write_key(pki.server_key, skey)
        ckey, ccert = issue(ca_key, ca, mch_id, server=False)
        pki.client_cert.write_bytes(ccert.public_bytes(serialization.Encoding.PEM))
        _write_key(pki.client_key, ckey)
        pki.client_p12.write_bytes(pkcs12.serialize_key_and_certificates(
            b"apiclient", ckey, ccert, None, serialization.BestAvailableEncryption(mch_id.encode())))
        pki.client_p12.chmod(0o600)
    return pki


def proof(v2_key: str) -> str:
    return hmac.new(v2_key.encode(), b"secapi-tls-front", hashlib.sha256).hexdigest()


# ---- the TLS front --------------------------------------------------------------------------------
_fronts: dict[tuple, int] = {}
_servers: list = []


async def _read_message(reader: asyncio.StreamReader) -> tuple[bytes, bytes] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        return None
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip() or 0)
    body = await reader.readexactly(length) if length else b""
    return head, body


def _handler(upstream_port: int, token: str):
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        cert = writer.get_extra_info("peercert") or {}
        cn = next((v for rdn in cert.get("subject", ()) for k, v in rdn if k == "commonName"), "")
        up_r = up_w = None
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", upstream_port)
            while True:
                msg = await _read_message(reader)
                if msg is None:
                    break
                head, body = msg
                line, _, rest = head.partition(b"\r\n")
                extra = f"{CN_HEADER}: {cn}\r\n{PROOF_HEADER}: {token}\r\n".encode()
                up_w.write(line + b"\r\n" + extra + rest + body)
                await up_w.drain()
                answer = await _read_message(up_r)
                if answer is None:
                    break
                writer.write(answer[0] + answer[1])
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError) as exc:
            log.info("secapi TLS front: %r", exc)
        finally:
            for w in (up_w, writer):
                if w is not None:
                    w.close()
    return handle


def ensure_front(settings, v2_key: str) -> tuple[str, Pki]:
    """Start (once per process) the TLS front before the simulator's /secapi/; its base URL and the PKI."""
    pki = ensure_pki(settings.data_dir, settings.wechat_mch_id)
    ident = (str(settings.data_dir), settings.port)
    if ident not in _fronts:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(pki.server_cert, pki.server_key)
        ctx.verify_mode = ssl.CERT_REQUIRED  # no merchant certificate, no handshake
        ctx.load_verify_locations(pki.ca_cert)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", settings.wechat_pay_sim_tls_port))
        sock.listen(64)
        _fronts[ident] = sock.getsockname()[1]

        async def serve():
            _servers.append(await asyncio.start_server(_handler(settings.port, proof(v2_key)), sock=sock, ssl=ctx))

        task = asyncio.get_running_loop().create_task(serve())
        _servers.append(task)  # keep a reference to the task until the server object replaces it
    return f"https://127.0.0.1:{_fronts[ident]}/__sim__/wechatpay/", pki
