"""Core layer: values, findings, rules, template; imports nothing from sources/sync/outputs/ops."""
