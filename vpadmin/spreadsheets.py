"""CSV files that open cleanly in spreadsheets: UTF-8 with a BOM (so Excel reads Chinese),
cells a spreadsheet would run as formulas made inert, streamed in pieces of many rows."""

import csv
import io
import itertools

from django.http import StreamingHttpResponse
from django.utils import translation

CHUNK_ROWS = 2000  # rows written to the client at a time
# What makes a spreadsheet read a cell as a formula (or, after a tab or return, a new cell).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert(value):
    """A text cell a spreadsheet would run as a formula gets a leading apostrophe."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def _inert_row(row):
    # inert() on every cell, inlined: a million rows of twenty cells call it 20 million
    # times. Most cells are numbers, None or empty; a text cell is looked at by its first
    # character only.
    return [
        f"'{cell}" if cell.__class__ is str and cell[:1] in _FORMULA_FIRST else cell for cell in row
    ]


_FORMULA_FIRST = frozenset(FORMULA_STARTS)


def csv_chunks(header, rows, chunk_rows=CHUNK_ROWS, made_inert=False):
    """The CSV text of `header` and `rows` (iterables of cells), BOM first, in pieces of
    `chunk_rows` rows: a piece per row would make the server write (and the network send)
    100,000 tiny pieces. `made_inert`: the rows' text cells are inert already."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    buffer.write("\ufeff")
    writer.writerow([inert(cell) for cell in header])
    rows = iter(rows)
    while True:
        piece = list(itertools.islice(rows, chunk_rows))
        if not made_inert:
            piece = [_inert_row(row) for row in piece]
        writer.writerows(piece)
        if len(piece) < chunk_rows:
            break
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
    yield buffer.getvalue()


def csv_response(filename, header, rows, chunk_rows=CHUNK_ROWS, made_inert=False):
    """A streamed CSV download named `filename`. Rows are read as the response is sent,
    in the language of the request that made it (the thread may serve another by then)."""
    language = translation.get_language()

    def in_language():
        with translation.override(language):
            yield from csv_chunks(header, rows, chunk_rows, made_inert)

    response = StreamingHttpResponse(in_language(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
