"""2AFC human evaluation: study design, the rating web app, and its statistics."""
