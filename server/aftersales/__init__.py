"""After-sales (售后, issue #25): service.py (cases, windows, deadlines, returns), errors.py."""
