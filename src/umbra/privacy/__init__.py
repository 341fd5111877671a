"""Differential privacy: accounting, the privacy ledger, private preprocessing."""
