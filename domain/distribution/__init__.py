"""Distribution (分销): KOC distributors, their share links, and which distributor a customer is bound to (锁客)."""
