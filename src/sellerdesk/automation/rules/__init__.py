"""Rules (triggers): conditions on a ticket event → actions, ordered, loop-safe, audited."""
