"""HTTP for mini-program users (consumers, merchants, station staff, trainees)."""
