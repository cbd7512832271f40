"""Salesforce and HubSpot: accounts, owners, deals and owner history."""
