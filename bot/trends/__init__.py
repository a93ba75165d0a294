"""Trends: the monthly support report (`/support-report`, `supportbot report`) and spike alerts."""
