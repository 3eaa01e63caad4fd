"""The store's schema revisions, written by hand, oldest first."""
