"""The notifier: a contact projection of auth's users; one-time codes and message alerts by e-mail or SMS."""
