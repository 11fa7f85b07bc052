"""The notifier: a contact projection of auth's users, and deliveries of one-time codes by e-mail or SMS."""
