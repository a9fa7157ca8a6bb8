"""Organisation: org units in three tiers, staff and applicants, roles, login and permission checks."""
