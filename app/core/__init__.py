"""Shared foundations: UTC time and the clock, column types, the working-day calendar, identifiers, audit."""
