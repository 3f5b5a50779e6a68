"""Running the heavy work across machines (Ray)."""
