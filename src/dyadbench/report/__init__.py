"""Reports: JSON (versioned schema, ``report.files``), self-contained HTML, leaderboards."""
