"""Dates in Chinese pages."""

# Dates in Chinese pages, with seconds for the audit log.
DATETIME_FORMAT = "Y年n月j日 H:i:s"
SHORT_DATETIME_FORMAT = "Y年n月j日 H:i"
DATE_FORMAT = "Y年n月j日"
