"""Camera simulator: synthetic scenes and an RTSP server that plays media files like a live camera.

``synthetic`` writes test clips with known ground truth, ``media`` loads a clip into memory and
paces it as an endless live stream, and ``rtsp`` serves that stream to real RTSP clients.
"""
