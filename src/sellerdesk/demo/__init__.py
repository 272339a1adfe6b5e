"""Demo data for `sellerdesk demo` and the first run of `sellerdesk serve` (synthetic)."""

from sellerdesk.demo.seed import AgentLogin, DemoSummary, print_summary, seed_demo

__all__ = ["AgentLogin", "DemoSummary", "print_summary", "seed_demo"]
