"""A minimal RTSP server for the camera simulator.

``messages``, ``sdp`` and ``rtp`` are pure protocol functions over bytes; ``server`` holds the
asyncio networking and is the only module with state tied to connections.
"""
