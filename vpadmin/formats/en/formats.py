"""Dates in English pages."""

# Dates in English pages: unambiguous and sortable-looking, with seconds for the audit log.
DATETIME_FORMAT = "M j, Y, H:i:s"
SHORT_DATETIME_FORMAT = "M j, Y, H:i"
DATE_FORMAT = "M j, Y"
