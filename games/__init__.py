"""Game sessions and stores: who plays where, who watches, and what is kept; no widgets, no SQL in the UI."""
