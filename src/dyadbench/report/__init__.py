"""Reports: JSON (versioned schema, see ``dyadbench.evaluation``), self-contained HTML, leaderboards."""
