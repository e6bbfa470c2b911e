"""After-sales (售后, issue #25): service.py (cases, windows, deadlines, returns), steps.py (the steps as
the buyer is told them), errors.py."""
