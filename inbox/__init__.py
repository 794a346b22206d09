"""Mail in: SMTP gateway, Mailgun webhook, parsing, acceptance rules, routing."""
