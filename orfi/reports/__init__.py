"""Facts: the field form, the lists, the detail page and qualification."""
