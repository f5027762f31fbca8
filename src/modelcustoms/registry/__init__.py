"""The registry: the inventory of inspected models, reports, passports and repositories."""
