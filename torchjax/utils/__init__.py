"""Utilities shared by the package (torch.utils equivalents that the nn system relies on)."""
