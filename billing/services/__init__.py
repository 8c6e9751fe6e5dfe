"""Every write in billing, one module per job: `payment_methods` (the Stripe customer and its
cards), `holds` (call pre-authorisations and their settlement) and `subscriptions` (premium,
and its invoices)."""
