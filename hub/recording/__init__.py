"""Recording: the pre-roll ring buffer of encoded packets, event clips, and MP4 remuxing."""
