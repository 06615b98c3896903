"""The field form as an installable, offline-first web app (manifest, worker)."""
