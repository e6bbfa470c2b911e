"""Complaints and reports (投诉举报): filing (buyers, station staff for villagers, anyone from a trace
page), the office's triage with deadlines and outcomes carried out through the owning services, the
answer of the side complained about, the outcome told to the reporter, and the figures."""
