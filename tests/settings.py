"""Settings for the test suite: the real settings with safe, fixed test values."""

import os
import tempfile

os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production-" + "x" * 20)
os.environ["COZE_API_TOKEN"] = "pat_test"
os.environ["COZE_API_BASE"] = "http://127.0.0.1:9"  # replaced per test by the simulator's address
os.environ["COZE_ACCOUNTS"] = ""  # one account; tests that need more use coze_accounts

from vpadmin.settings import *  # noqa: E402,F403

SECURE_SSL_REDIRECT = False
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
COZE_TIMEOUT = 2.0
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
WHITENOISE_AUTOREFRESH = True  # serve from the finders; no collectstatic in tests
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not memory, so threads in the race tests have their own real connections;
    # one per test run, so two runs at once do not share it.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": os.path.join(tempfile.gettempdir(), f"vpadmin-test-{os.getpid()}.sqlite3")
    }
