"""Auth's HTTP handlers: sessions (login to logout) and users."""
