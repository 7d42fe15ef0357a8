"""guichet test: golden cases, rule coverage, JUnit reports and case selection."""
