"""People, roles, sign-in, throttling and the admin."""
