"""Events: stored rule events, their media, and the tickets they raise for the grid system."""
