"""vpadmin's own settings, plus what the benchmark needs to read a server from outside.

Production settings unchanged (DEBUG off, manifest static files, the same middleware),
except: the timing middleware first in the stack, bench/urls.py (the floor view), plain
HTTP on loopback, and static files collected into a temporary directory.
"""

import os
import tempfile
from pathlib import Path

from vpadmin.settings import *  # noqa: F403
from vpadmin.settings import MIDDLEWARE, TEMPLATES

BENCH_DIR = Path(__file__).resolve().parent

# Outermost, so the time and query count cover every other middleware too.
MIDDLEWARE = ["bench.middleware.ServerTimingMiddleware", *MIDDLEWARE]
ROOT_URLCONF = "bench.urls"
TEMPLATES[0]["DIRS"] = [*TEMPLATES[0]["DIRS"], BENCH_DIR / "templates"]

# The server is reached over plain HTTP on 127.0.0.1.
SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
SECURE_HSTS_SECONDS = 0

# collectstatic writes here (run.py sets it), never into the working tree's staticfiles/.
STATIC_ROOT = (
    os.environ.get("BENCH_STATIC_ROOT") or Path(tempfile.gettempdir()) / "vpadmin-bench-static"
)

# Django admin's change lists show 50 rows, as vpadmin's lists do (bench/urls.py sets it).
BENCH_ADMIN_PAGE_SIZE = 50
