"""Background jobs: thin functions that call server services. Composition root: jobs/worker.py."""
