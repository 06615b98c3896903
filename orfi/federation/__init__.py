"""Federation statistics: export files, their import and the consolidated view."""
