"""Plain RTSP cameras, read with PyAV (FFmpeg's RTSP demuxer)."""
