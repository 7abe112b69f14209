"""The sales console's static files (``leadscore/console/``), as the API serves them at /console."""

from __future__ import annotations

from pathlib import Path

from leadscore.errors import NotFound

CONSOLE_DIR = Path(__file__).parent / "console"
INDEX = "index.html"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
}
# The page loads only its own files and calls only its own API: nothing else may run or frame it.
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def console_asset(name: str = INDEX) -> tuple[bytes, str]:
    """A file of the console (no sub-directories, no other files) and its content type."""
    path = CONSOLE_DIR / name
    content_type = CONTENT_TYPES.get(path.suffix)
    if "/" in name or "\\" in name or name.startswith(".") or content_type is None or not path.is_file():
        raise NotFound(f"the console has no file {name!r}")
    return path.read_bytes(), content_type
