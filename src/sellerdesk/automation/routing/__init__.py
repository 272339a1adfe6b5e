"""Routing: who gets a ticket that enters a team (round-robin, least load, language/skills),
within each agent's capacity per channel type, and only while the agent is online."""
