"""Server time and SQL query count of each request, in response headers (bench only)."""

import os
import time

from django.db import connection


class _QueryCounter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


class ServerTimingMiddleware:
    """First in the stack: X-Server-Time-Ms covers every middleware, the view and the
    rendering; X-Query-Count every SQL statement sent meanwhile. A streamed body is sent
    after this returns, so for the CSV export the client measures the total instead."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        counter = _QueryCounter()
        started = time.perf_counter()
        with connection.execute_wrapper(counter):
            response = self.get_response(request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        response["X-Server-Time-Ms"] = f"{elapsed_ms:.3f}"
        response["X-Query-Count"] = str(counter.count)
        response["X-Worker-Pid"] = str(os.getpid())
        return response
