"""Agent empowerment: pre-approved actions with limits, grants and approvals, and escalation
decision trees that agents walk from a ticket."""
