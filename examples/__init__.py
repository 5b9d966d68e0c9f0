"""Examples of the SDK; ``make demo`` runs them all against a fake conductor."""
