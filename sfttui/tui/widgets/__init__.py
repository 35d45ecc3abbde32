"""Widgets the tabs share: a cursor over any number of rows (RowList), a detail pane
drawn once at its width (Rendered), the key-aware table, the footer, and widgets that
show text from data literally."""
