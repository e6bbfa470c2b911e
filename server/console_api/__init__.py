"""HTTP for the county office (admins) and the county warehouse."""
