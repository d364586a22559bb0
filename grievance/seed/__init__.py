"""Seed data: the taxonomy and partners from the domain files, and demo data."""
