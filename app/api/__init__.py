"""The JSON API for partner agencies: bearer tokens with scopes."""
