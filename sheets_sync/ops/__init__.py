"""Operator tasks built on the library: setup, health checks, provisioning."""
