"""Early warning (预警): alerts raised by comparing a run with the previous one, and their
durable state (watchlists, alerts, cases, webhook deliveries)."""
