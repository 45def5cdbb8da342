"""GET /: the playground page, one self-contained HTML file (no build step, nothing from a CDN).

The page itself is public, like /healthz: it holds no data. Every call it makes (/info, /augment,
/jobs, /classify) sends the key typed into it, and the API checks that as for any client.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

router = APIRouter()

PAGE = Path(__file__).resolve().parents[1] / "static" / "playground.html"
# The browser may load nothing from elsewhere: the page's promise of "no CDN", enforced.
CSP = "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:"


@router.get("/", include_in_schema=False, response_class=HTMLResponse)
def playground() -> HTMLResponse:
    return HTMLResponse(
        PAGE.read_text(encoding="utf-8"),
        headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"},
    )
