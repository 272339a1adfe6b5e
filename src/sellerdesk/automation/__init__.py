"""Automation: business-hours calendars and SLA policies (rules, macros, routing, pre-approved
actions and escalation trees join here as they are built)."""
