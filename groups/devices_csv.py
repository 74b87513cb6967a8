"""The devices CSV, both ways: the file an import reads (UTF-8 with or without a BOM, as
Excel's "CSV UTF-8" saves it with CRLF; Excel's plain "CSV" in GB18030 on Chinese Windows;
a comma, semicolon or tab between cells) and the register's export, which an import takes
back unchanged."""

import csv
import io
from dataclasses import dataclass

from django.conf import settings

from vpadmin.spreadsheets import FORMULA_STARTS

COLUMNS = ("serial", "name", "location", "notes", "group_name", "group_desc", "account")
REQUIRED = ("serial", "name", "location", "notes")
DELIMITERS = (",", ";", "\t")


class UnreadableFile(Exception):
    """The file cannot be imported as a whole: `facts` say why (groups.wording)."""

    def __init__(self, say, **values):
        super().__init__(say)
        self.facts = {"say": say, **values}


@dataclass(frozen=True)
class Table:
    columns: tuple  # the file's columns, in COLUMNS' names, in the file's order
    rows: list  # (line, {column: text}) for every row with something in it
    encoding: str


def read(content: bytes) -> Table:
    """The rows of an uploaded devices CSV, or UnreadableFile saying what is wrong."""
    if len(content) > settings.IMPORT_MAX_BYTES:
        raise UnreadableFile("import_too_large", limit=settings.IMPORT_MAX_BYTES // 1000)
    text, encoding = _decoded(content)
    if not text.strip():
        raise UnreadableFile("import_empty")
    # newline="": line breaks inside quoted cells (a device's notes) are kept as they are.
    records = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        header = next(records)
        columns = _columns(header)
        rows = []
        for line, cells in enumerate(records, start=2):
            if not any(cell.strip() for cell in cells):
                continue  # an empty line (Excel leaves some after the last row)
            if len(cells) > len(columns) and any(c.strip() for c in cells[len(columns) :]):
                raise UnreadableFile("import_extra_cells", line=line, columns=len(columns))
            if len(rows) >= settings.IMPORT_MAX_ROWS:
                raise UnreadableFile("import_too_many_rows", limit=settings.IMPORT_MAX_ROWS)
            values = {name: _uninert(cell) for name, cell in zip(columns, cells, strict=False)}
            rows.append((line, {name: values.get(name, "") for name in COLUMNS}))
    except csv.Error as error:
        raise UnreadableFile("import_not_csv", error=str(error)) from None
    if not rows:
        raise UnreadableFile("import_no_rows")
    return Table(columns=columns, rows=rows, encoding=encoding)


def _decoded(content):
    """UTF-8 (its BOM dropped), else GB18030, what Excel's plain "CSV" is on Chinese Windows."""
    if b"\x00" in content:  # no text file holds one; GB18030 would read a picture as words
        raise UnreadableFile("import_not_utf8")
    try:
        return content.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return content.decode("gb18030"), "gb18030"
    except UnicodeDecodeError:
        raise UnreadableFile("import_not_utf8") from None


def _delimiter(text):
    """The delimiter that splits the header line into the most known column names."""
    first = text.splitlines()[0] if text else ""

    def known(delimiter):
        return sum(_name(cell) in COLUMNS for cell in first.split(delimiter))

    return max(DELIMITERS, key=known)


def _name(cell):
    return cell.strip().strip('"').strip().lower()


def _columns(header):
    names = [_name(cell) for cell in header]
    while names and not names[-1]:
        names.pop()  # empty cells after the last column
    unknown = [name or "—" for name in names if name not in COLUMNS]
    missing = [name for name in REQUIRED if name not in names]
    twice = sorted({name for name in names if names.count(name) > 1 and name in COLUMNS})
    if unknown or missing or twice:
        raise UnreadableFile(
            "import_bad_columns",
            unknown=unknown,
            missing=missing,
            twice=twice,
            expected=list(COLUMNS),
        )
    return tuple(names)


def _uninert(cell):
    """A cell as written before a spreadsheet export made it inert (vpadmin.spreadsheets:
    a leading apostrophe before what would start a formula), so an export comes back as
    it went out."""
    if cell.startswith("'") and cell[1:2] and cell[1:].startswith(FORMULA_STARTS):
        return cell[1:]
    return cell


def export_rows(devices):
    """The export's rows: one per device and active group (a device without one: one row
    with the group's cells empty), in COLUMNS' order. `devices` carry `active_groups` and
    their `account` (its name, always written: empty for a device that has none yet)."""
    for device in devices:
        common = [device.serial, device.name, device.location, device.notes]
        account = device.account.name if device.account_id else ""
        groups = device.active_groups or [None]
        for group in groups:
            yield [*common, group.name if group else "", group.desc if group else "", account]
