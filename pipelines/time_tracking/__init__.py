"""Toggl Track and Clockify: users, clients, projects, tags and time entries."""
