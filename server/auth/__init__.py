"""Users, roles, passwords, tokens and single sign-on."""
