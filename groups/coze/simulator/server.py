"""The simulator on a real socket: it serves the API and the control API, and records."""

import contextlib
import json
import logging
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from . import api, features
from .accounts import DEFAULT, SimulatedAccount, build_accounts, checked_accounts
from .control import control
from .faults import fault_answer
from .state import Account

log = logging.getLogger("vpadmin.cozesim")


class CozeSimulator:
    """Coze's voiceprint-group calls (create, list, update, delete), the same for the
    voiceprints in a group, speaker identification in a group, and GET /v1/users/me for
    one team and one accepted token, which belongs to a fixed user (`user`).

    It can serve more accounts beside that default one (`accounts`, or serve_accounts()):
    one token each, and each its own groups, voiceprints, quota, Coze user, range of ids
    and faults, so an id made in one account is not found from another. The simulator's
    own methods and attributes below are the default account's (but reset() and
    clear_faults() act on every account); `account(name)` gives any account's, with the
    same names (see accounts.SimulatedAccount). Any other token gets Coze's 4100.

    Identification really compares voices: each voiceprint enrolled or re-enrolled here
    keeps a few dozen numbers describing the voice in its audio (never the audio; see
    voices.py), and a clip scores from 0 to 100 against each, best first, so a person's
    own clip scores highest against their own voiceprint. Voiceprints seeded "made
    elsewhere" have no voice kept and score low (5 to 20, the same for the same clip).

    It speaks Coze's wire format (Bearer check, limits, envelope, `x-tt-logid`, quota, only
    a group's creator may change it) and injects the faults a client must survive. Faults
    apply only to requests that pass the Bearer check, so a wrong token always gets the
    4100 answer; a path Coze does not serve gets a plain 404. A small control API under
    `/_sim/` (no token, never recorded) drives it from another process: GET /_sim/state,
    POST /_sim/faults, DELETE /_sim/faults, POST /_sim/reset, POST /_sim/quota {"quota": N},
    POST /_sim/seed {"count": N, "creator_id": "<a colleague's user id>"}, POST
    /_sim/seed_voiceprints {"group_id": "<id>", "count": N, "creator_id": …}; each body may
    name an "account" (default: the default account; "*" for faults, quota and reset: every
    one), and a DELETE /_sim/faults or a reset naming none acts on all. Every fault takes
    `method`, `path` (exact), `times` and `after` (requests let through before it applies),
    e.g. {"kind": "http", "method": "GET", "after": 2} fails the third GET, and {"kind":
    "http", "path": "/v1/audio/voiceprint_groups/<id>/features"} one group's voiceprints.

    `groups` maps id to the item as the list call returns it; tests may change an item
    there (or use edit_group) to play a change made on Coze's console. `requests` has one
    record per API request: method, path, query, json (parsed body or None), form (a
    multipart body's text fields, or None), files (a multipart body's files: name,
    filename, size and, for a WAV, its format), user_agent, authorized, connection (a
    number per TCP connection) and the logid answered. `voiceprints` maps a voiceprint's id
    to its item (with group_id, `audio_format`, what the simulator read of its audio, and
    `voice`, the voice it heard in it: a list of floats, or None).
    """

    def __init__(
        self,
        token: str,
        quota: int = 1000,
        state_file: str | Path | None = None,
        *,
        accounts: dict | None = None,
    ):
        self._lock = threading.RLock()
        self.default = SimulatedAccount(self, DEFAULT, token, Account(quota, state_file))
        self.accounts: dict[str, SimulatedAccount] = {DEFAULT: self.default}
        self._server = self._thread = None
        self._open_sockets = set()
        self._connections = 0
        self.url = ""
        self.requests: list[dict] = []
        self.serve_accounts(accounts or {})

    def serve_accounts(self, accounts: dict) -> None:
        """Serve these accounts beside the default one, in place of any served before
        (emptied): {name: {"token", "quota", and optionally "state_file"}}, as vpadmin's
        settings.COZE_ACCOUNTS lists them (its "default" and "base" are left aside).
        Names are lowercase [a-z0-9_]; tokens each their own. ValueError otherwise."""
        others = {name: account for name, account in accounts.items() if name != DEFAULT}
        served = build_accounts(self, checked_accounts(others, self.default.token))
        with self._lock:
            for account in self.accounts.values():
                if account is not self.default:
                    account.generation += 1  # a request of theirs sleeping in a delay: dropped
            self.accounts = {DEFAULT: self.default, **served}

    def account(self, name: str) -> SimulatedAccount:
        """The account served by that name ("default": the simulator's own)."""
        try:
            return self.accounts[name]
        except KeyError:
            raise ValueError(f"no account {name!r} is served") from None

    @property
    def groups(self) -> dict[str, dict]:
        return self.default.groups

    @property
    def voiceprints(self) -> dict[str, dict]:
        return self.default.voiceprints

    @property
    def user(self) -> dict:
        """The user the token belongs to, as GET /v1/users/me answers (a copy)."""
        return self.default.user

    @property
    def quota(self) -> int:
        return self.default.quota

    @quota.setter
    def quota(self, value: int):
        self.default.quota = value

    # Serving

    def start(self, host="127.0.0.1", port=0) -> "CozeSimulator":
        """Serve in a daemon thread (port 0: any free port); `url` says where."""
        self._bind(host, port)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self, host, port, *, on_ready=None) -> None:
        """Serve in this thread until interrupted; `on_ready(url)` is called once bound."""
        self._bind(host, port)
        if on_ready:
            on_ready(self.url)
        try:
            self._server.serve_forever(poll_interval=0.2)
        finally:
            self._close()

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._close()
            self._thread.join(timeout=5)
            self._thread = None

    def _bind(self, host, port):
        self._server = _Server((host, port), self)
        bound_host, bound_port = self._server.server_address[:2]
        self.url = f"http://{bound_host}:{bound_port}"

    def _close(self):
        self._server.server_close()
        with self._lock:
            sockets = list(self._open_sockets)
        for sock in sockets:  # idle keep-alive connections would otherwise linger
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    # State and faults (the default account's, unless said otherwise)

    def reset(self) -> None:
        """Forget every account's groups and faults, and all requests; quotas return to
        their first values. The accounts served stay served.

        A request still sleeping in a delay fault is then dropped, not applied.
        """
        with self._lock:
            for account in self.accounts.values():
                account.reset()
            self.requests.clear()

    def add_fault(
        self,
        kind: str,
        *,
        method: str | None = None,
        path: str | None = None,
        times: int | None = 1,
        after: int = 0,
        **params,
    ):
        """Queue a fault for the next `times` API requests (None: until cleared) of
        `method` on `path` (None: any), after letting `after` of them through untouched.

        Faults are a queue: a request is taken by the first fault that matches its method
        and path, whether that fault applies or is still letting requests through. Each
        account has its own queue: this is the default account's.
        """
        self.default.add_fault(kind, method=method, path=path, times=times, after=after, **params)

    def clear_faults(self) -> None:
        """Clear the faults of every account."""
        with self._lock:
            for account in self.accounts.values():
                account.clear_faults()

    def seed_groups(
        self, count: int, *, name_prefix="remote group", desc="", created_at=None, creator_id=None
    ) -> list[str]:
        """Add `count` groups as if made elsewhere (Coze's console, another tool), named
        "<prefix> <n>"; `created_at` (Unix seconds or a datetime) sets Coze's time of
        creation, else they are one second apart, the last one now. `creator_id` makes
        them a colleague's (another Coze user id), whom the token may not change."""
        return self.default.seed_groups(
            count, name_prefix=name_prefix, desc=desc, created_at=created_at, creator_id=creator_id
        )

    def seed_voiceprints(
        self, group_id: str, count: int, *, name_prefix="remote voiceprint", creator_id=None
    ) -> list[str]:
        """Add `count` voiceprints to a group as if made elsewhere, named "<prefix> <n>";
        `creator_id` makes them a colleague's, whom the token may not change or delete."""
        return self.default.seed_voiceprints(
            group_id, count, name_prefix=name_prefix, creator_id=creator_id
        )

    def edit_group(self, group_id: str, **changes) -> dict:
        """Change a group as Coze's console would: name, desc, feature_count, created_at or
        updated_at (Unix seconds). updated_at becomes now unless given. Returns the item."""
        return self.default.edit_group(group_id, **changes)

    def edit_voiceprint(self, feature_id: str, **changes) -> dict:
        """Change a voiceprint as Coze's console would (its creator there, whoever it is):
        name, desc or updated_at (Unix seconds; now unless given), which its group's
        updated_at follows. Returns the item as the list call shows it."""
        return self.default.edit_voiceprint(feature_id, **changes)

    def delete_voiceprint(self, feature_id: str) -> None:
        """Delete a voiceprint as Coze's console would; its group counts one fewer."""
        self.default.delete_voiceprint(feature_id)

    def state(self) -> dict:
        """The default account's groups, quota and faults, the number of requests (all
        accounts', and those with no account's token), and each account's own state."""
        with self._lock:
            return {
                **self.default.state(),
                "requests": len(self.requests),
                "accounts": {name: account.state() for name, account in self.accounts.items()},
            }

    # The API

    def _answer(self, handler, method, path, query, raw):
        """The (status, body, content type, logid) for one API request; None to drop it."""
        body = api.json_or_none(raw)
        form = features.parse_form(handler.headers.get("Content-Type", ""), raw)
        fields, files = features.recorded(form)
        authorization = handler.headers.get("Authorization", "")
        with self._lock:
            account = next(
                (a for a in self.accounts.values() if authorization == f"Bearer {a.token}"), None
            )
        record = {
            "method": method,
            "path": path,
            "query": query,
            "json": body,
            "form": fields,
            "files": files,
            "user_agent": handler.headers.get("User-Agent", ""),
            "authorized": account is not None,
            "account": account and account.name,  # whose token it carried; None: nobody's
            "connection": handler.connection_number,
            "logid": "",
        }
        with self._lock:
            self.requests.append(record)
            applies = account is not None and api.served(method, path)
            fault = account.take_fault(method, path) if applies else None
            generation = account and account.generation
        call = (method, path, query, body, raw, form)
        answer = self._respond(account, fault, call, generation)
        record["logid"] = answer[3] if answer else ""
        return answer

    def _respond(self, account, fault, call, generation):
        method, path = call[:2]
        if not api.served(method, path):
            # [inf] Whatever the token: a gateway answers a path it has no route for.
            return api.not_found_page()
        if account is None:
            return api.unauthorized()
        if fault and (answer := fault_answer(fault)):
            return answer
        kind = fault and fault["kind"]
        if kind == "delay":
            time.sleep(fault["seconds"])
            if generation != account.generation:
                return None  # reset while sleeping: this request belongs to a finished test
        if kind == "drop":
            if fault["perform"]:
                self._route(account, *call)
            return None
        return api.envelope(*self._route(account, *call))

    def _route(self, account, method, path, query, body, raw, form):
        with self._lock:
            return api.route(account.store, method, path, query, body, raw, form)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, sim):
        self.sim = sim
        super().__init__(address, _Handler)

    def handle_error(self, request, client_address):
        # A client that gave up (timeout, dropped connection) is expected here.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as Coze's gateway does
    server_version = "CozeSimulator"
    disable_nagle_algorithm = True  # else each small answer waits ~40 ms for a delayed ACK

    def setup(self):
        super().setup()
        sim = self.server.sim
        with sim._lock:
            sim._connections += 1
            self.connection_number = sim._connections
            sim._open_sockets.add(self.connection)

    def finish(self):
        with self.server.sim._lock:
            self.server.sim._open_sockets.discard(self.connection)
        super().finish()

    def do_GET(self):
        url = urlsplit(self.path)
        try:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        except ValueError:
            self.send_error(400, "bad Content-Length")
            return
        sim = self.server.sim
        if url.path.startswith("/_sim/"):
            status, payload = control(sim, self.command, url.path, raw)
            self._send(status, json.dumps(payload).encode(), api.JSON_TYPE, None)
            return
        query = dict(parse_qsl(url.query, keep_blank_values=True))
        answer = sim._answer(self, self.command, url.path, query, raw)
        if answer is None:  # the "drop" fault: close without a word
            self.close_connection = True
            return
        self._send(*answer)

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def _send(self, status, body, content_type, logid):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if logid:
            self.send_header("x-tt-logid", logid)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):
        log.info("%s " + format, self.address_string(), *args)
