"""The unit spreadsheet template definitions (package data: *.toml)."""
