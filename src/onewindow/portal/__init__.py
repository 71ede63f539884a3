"""The citizen-facing portal pages (门户): layout, display preferences, home."""
