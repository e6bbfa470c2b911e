"""Messages to buyers at the moments that matter (WeChat subscribe messages): registry.py."""
