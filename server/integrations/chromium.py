"""Headless Chromium as a printer: an HTML document in, a PDF out (the statement PDFs). Debian's
`chromium` package runs it; the Chinese text needs a CJK font (Debian `fonts-wqy-zenhei`), which
Chromium embeds (subset, with its text map) into the PDF.

Each print is one short-lived browser process with its own profile in a temporary directory, with
networking off: the document must carry everything it shows (inline styles, no external files).
A few prints at a time per process (a semaphore): each browser is some 100 MB of memory."""
from __future__ import annotations

import asyncio
import logging
import os
import shutil
import tempfile
from pathlib import Path

from server.kit import runtime
from server.kit.errors import ServiceUnavailable
from server.integrations.errors import IntegrationCode

log = logging.getLogger("kazuo.chromium")
_PRINTS = asyncio.Semaphore(2)
_ARGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-extensions",
         "--disable-background-networking", "--no-first-run", "--no-default-browser-check", "--mute-audio",
         "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>", "--no-pdf-header-footer")


def available() -> bool:
    path = runtime.settings().pdf_chromium_path
    return os.path.isfile(path) and os.access(path, os.X_OK)


async def print_pdf(html: str) -> bytes:
    """The PDF of an HTML document (A4, backgrounds printed); 503 when Chromium is absent or too slow."""
    s = runtime.settings()
    if not available():
        raise ServiceUnavailable("PDF printing is not available here (install Debian's chromium and "
                                 "fonts-wqy-zenhei)", code=IntegrationCode.PDF_UNAVAILABLE)
    async with _PRINTS:
        tmp = Path(tempfile.mkdtemp(prefix="kazuo-pdf-"))
        try:
            page, out = tmp / "page.html", tmp / "out.pdf"
            page.write_text(html, encoding="utf-8")
            proc = await asyncio.create_subprocess_exec(
                s.pdf_chromium_path, *_ARGS, f"--user-data-dir={tmp / 'profile'}", f"--print-to-pdf={out}",
                page.as_uri(), stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE)
            try:
                _, err = await asyncio.wait_for(proc.communicate(), s.pdf_timeout_seconds)
            except asyncio.TimeoutError:
                proc.kill()
                await proc.wait()
                raise ServiceUnavailable("printing the PDF took too long; try again", code=IntegrationCode.PDF_UNAVAILABLE) from None
            if proc.returncode != 0 or not out.exists() or out.stat().st_size == 0:
                log.error("chromium print failed", extra={"returncode": proc.returncode,
                                                          "stderr": err.decode(errors="replace")[-2000:]})
                raise ServiceUnavailable("printing the PDF failed; try again", code=IntegrationCode.PDF_UNAVAILABLE)
            return out.read_bytes()
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
