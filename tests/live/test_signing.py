"""Aliyun Live type-A URL auth against Aliyun's published example, key rotation, callback signature."""
import hashlib

from config.settings import Settings
from live import signing


def test_published_example():
    # STACK_NOTES: /video/standard-1622194197-0-0-aliyunliveexp1234 hashes to 5552ff52...
    assert hashlib.md5(b"/video/standard-1622194197-0-0-aliyunliveexp1234").hexdigest() == \
        "5552ff52b5e4e20387c6dc18afce206b"
    assert signing.auth_key("/video/standard", "aliyunliveexp1234", 1622194197) == \
        "1622194197-0-0-5552ff52b5e4e20387c6dc18afce206b"
    assert signing.verify_auth_key("/video/standard", "1622194197-0-0-5552ff52b5e4e20387c6dc18afce206b",
                                   ["aliyunliveexp1234"], now=1622194000)


def test_expiry_uri_and_key_rotation():
    value = signing.auth_key("/kazuo/s1.flv", "old-key", 2000)
    assert signing.verify_auth_key("/kazuo/s1.flv", value, ["new-key", "old-key"], now=1999)
    assert not signing.verify_auth_key("/kazuo/s1.flv", value, ["new-key", "old-key"], now=2001)  # expired
    assert not signing.verify_auth_key("/kazuo/s1.m3u8", value, ["old-key"], now=1000)  # other URI
    assert not signing.verify_auth_key("/kazuo/s1.flv", value, ["new-key"], now=1000)  # key retired
    for bad in ("", "2000-0-0", "x-0-0-abc", "2000-0-0-" + "0" * 32):
        assert not signing.verify_auth_key("/kazuo/s1.flv", bad, ["old-key"], now=1000)


def test_signed_urls_verify_with_primary_and_backup():
    s = Settings(_env_file=None, simulators="on", live_push_auth_key="primary-k",
                 live_push_auth_key_backup="backup-k", live_play_auth_key="play-k")
    url, exp = signing.push_url(s, "sabc", now=1_000_000)
    assert url.startswith("rtmp://push.live.kazuo.example/kazuo/sabc?auth_key=")
    assert exp == 1_000_000 + s.live_push_url_ttl_seconds
    assert signing.verify_url(url, ["backup-k", "primary-k"], now=1_000_001)
    assert not signing.verify_url(url, ["backup-k"], now=1_000_001)
    play = signing.play_urls(s, "sabc", now=1_000_000, uid=7)
    assert play["flv"].split("?")[0].endswith("/kazuo/sabc.flv")
    assert play["hls"].split("?")[0].endswith("/kazuo/sabc.m3u8")
    for k in ("rtmp", "flv", "hls"):
        assert signing.verify_url(play[k], ["play-k"], now=1_000_001)
        assert "-7-" in play[k]  # the viewer's uid is part of the signed value


def test_callback_signature():
    s = Settings(_env_file=None, simulators="off", live_callback_key="cb-key", live_push_domain="push.example")
    sig = hashlib.md5(b"push.example|1700000000|cb-key").hexdigest()
    assert signing.callback_signature("push.example", "1700000000", "cb-key") == sig
    hdr = {"ali-live-timestamp": "1700000000", "ali-live-signature": sig}
    assert signing.verify_callback(s, hdr, now=1700000100) is None
    assert signing.verify_callback(s, {**hdr, "ali-live-signature": "0" * 32}, now=1700000100) == "bad signature"
    assert signing.verify_callback(s, hdr, now=1700009999) == "stale timestamp"
    assert signing.verify_callback(s, {}, now=1700000100) == "missing signature headers"
    unkeyed = Settings(_env_file=None, simulators="off")
    assert signing.verify_callback(unkeyed, {}, now=0) is None
