"""Measurements over HTTP: the server's own time and query count come from the headers
that bench/middleware.py adds, so the client's overhead never enters a figure."""

import math
import statistics
import threading
import time
import uuid
from dataclasses import dataclass

import requests

from . import server


@dataclass
class Sample:
    status: int
    server_ms: float
    queries: int
    pid: int
    request_id: str
    location: str = ""


def median(values):
    return statistics.median(values)


def p95(values):
    """The 95th percentile, nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


class RoutedClient:
    """The pages through a SignedInClient; paths under `api_prefixes` with an API token
    instead, as a script sends them (so measure.pages interleaves both)."""

    def __init__(self, client, token, api_prefixes):
        self.client, self.token, self.api_prefixes = client, token, tuple(api_prefixes)

    def get(self, path):
        if path.startswith(self.api_prefixes):
            return self.client.api_get(path, self.token)
        return self.client.get(path)


class SignedInClient:
    """HTTP to one server with an Administrator's session cookie and a CSRF cookie."""

    def __init__(self, base_url, session_key):
        self.base_url = base_url
        self.csrf = uuid.uuid4().hex  # 32 letters and digits: a valid CSRF secret
        self.http = requests.Session()
        self.http.headers["Cookie"] = f"sessionid={session_key}; csrftoken={self.csrf}"

    def get(self, path):
        return self._sample(self.http.get(self.base_url + path, allow_redirects=False, timeout=60))

    def post(self, path, data, files=None):
        """A form, `files` ({field: (filename, bytes)}) making it multipart."""
        data = {**data, "csrfmiddlewaretoken": self.csrf}
        answer = self.http.post(
            self.base_url + path, data=data, files=files, allow_redirects=False, timeout=60
        )
        return self._sample(answer)

    def api_get(self, path, token):
        """As a script calls the API: the token in the header, no cookies (a session of
        its own, kept alive as the pages' is)."""
        if not hasattr(self, "api_http"):
            self.api_http = requests.Session()
        headers = {"Authorization": f"Bearer {token}"}
        answer = self.api_http.get(self.base_url + path, headers=headers, timeout=60)
        return self._sample(answer)

    @staticmethod
    def _sample(answer):
        return Sample(
            status=answer.status_code,
            server_ms=float(answer.headers["X-Server-Time-Ms"]),
            queries=int(answer.headers["X-Query-Count"]),
            pid=int(answer.headers["X-Worker-Pid"]),
            request_id=answer.headers.get("X-Request-ID", ""),
            location=answer.headers.get("Location", ""),
        )


def pages(client, paths, *, rounds, warmup=3, log=print):
    """Every path `rounds` times, interleaved (one of each per round), so drift in the
    machine's load touches every page alike. Returns {path: [Sample]}."""
    for _ in range(warmup):
        for path in paths:
            client.get(path)
    samples = {path: [] for path in paths}
    for round_number in range(rounds):
        for path in paths:
            sample = client.get(path)
            if sample.status != 200:
                raise RuntimeError(f"GET {path} answered HTTP {sample.status}, not 200")
            samples[path].append(sample)
        if (round_number + 1) % 10 == 0:
            log(f"  round {round_number + 1}/{rounds}")
    return samples


def export(client, path, *, expected_rows, pid):
    """Download the whole export; (seconds, peak RSS of the worker in MB, RSS growth in MB)."""
    server.reset_peak_memory(pid)
    before, _ = server.memory_mb(pid)
    started = time.perf_counter()
    lines = 0
    with client.http.get(client.base_url + path, stream=True, timeout=900) as answer:
        if answer.status_code != 200 or int(answer.headers["X-Worker-Pid"]) != pid:
            raise RuntimeError(f"GET {path}: HTTP {answer.status_code} from another worker?")
        for chunk in answer.iter_content(chunk_size=1 << 16):
            lines += chunk.count(b"\n")
    seconds = time.perf_counter() - started
    _, peak = server.memory_mb(pid)
    if lines != expected_rows + 1:  # the header line
        raise RuntimeError(f"the export had {lines - 1} rows, not {expected_rows}")
    return seconds, peak, peak - before


def creations(client, device_ids, count, *, warmup=3):
    """POST /groups/new/ `count` times (after `warmup` unmeasured); returns [Sample]."""
    samples = []
    for n in range(warmup + count):
        form = {
            "name": f"bench {uuid.uuid4().hex[:8]}",
            "desc": "" if n % 2 else "Created by the benchmark.",
            "device": str(device_ids[n % len(device_ids)]),
            "submission": str(uuid.uuid4()),
        }
        sample = client.post("/groups/new/", form)
        if sample.status != 302 or "/groups/" not in sample.location:
            raise RuntimeError(f"creation {n} answered HTTP {sample.status} ({sample.location})")
        if n >= warmup:
            samples.append(sample)
    return samples


def enrollments(client, group_id, person_id, upload, count, *, free_place, warmup=3):
    """POST /groups/<group_id>/voiceprints/new/ `count` times (after `warmup` unmeasured),
    enrolling `person_id` from `upload` ((filename, bytes)); after each, outside the
    measurement, `free_place(voiceprint id)` empties the place it took. Returns [Sample]."""
    samples = []
    for n in range(warmup + count):
        form = {"person": str(person_id), "name": f"bench {n}", "submission": str(uuid.uuid4())}
        sample = client.post(f"/groups/{group_id}/voiceprints/new/", form, {"audio": upload})
        if sample.status != 302 or "/voiceprints/" not in sample.location:
            raise RuntimeError(f"enrollment {n} answered HTTP {sample.status} ({sample.location})")
        free_place(int(sample.location.rstrip("/").rsplit("/", 1)[1]))
        if n >= warmup:
            samples.append(sample)
    return samples


def load(base_url, session_key, paths, *, threads, seconds):
    """`threads` clients, each requesting `paths` in turn for `seconds`; every answer
    other than HTTP 200 (or no answer) is an error."""
    deadline = time.monotonic() + seconds
    results = []  # one (answers, errors, [client-side ms]) per thread
    lock = threading.Lock()

    def client(offset):
        http = requests.Session()
        http.headers["Cookie"] = f"sessionid={session_key}"
        answers = errors = 0
        times = []
        n = offset
        while time.monotonic() < deadline:
            started = time.perf_counter()
            try:
                answer = http.get(base_url + paths[n % len(paths)], timeout=30)
                ok = answer.status_code == 200
            except requests.RequestException:
                ok = False
            times.append((time.perf_counter() - started) * 1000)
            answers += 1
            errors += not ok
            n += 1
        with lock:
            results.append((answers, errors, times))

    started = time.monotonic()
    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.monotonic() - started
    answers = sum(r[0] for r in results)
    times = [t for r in results for t in r[2]]
    return {
        "requests": answers,
        "errors": sum(r[1] for r in results),
        "seconds": round(elapsed, 1),
        "requests_per_second": round(answers / elapsed, 1),
        "client_median_ms": round(median(times), 1),
        "client_p95_ms": round(p95(times), 1),
    }
