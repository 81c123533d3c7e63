"""SLO reports: data read from a backend (or the demo) and rendered as a table, JSON or HTML."""
