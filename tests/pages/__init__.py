"""Pages: query counts, errors, hostile input, languages, headers, charts."""
