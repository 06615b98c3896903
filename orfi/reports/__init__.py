"""Facts: their records, services and forms, history, and the fact page they render."""
