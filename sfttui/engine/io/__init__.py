"""Files in and out: record formats, reading inputs into one row frame with bad-line
records, each row's original line, atomic writes, output directories."""
