"""Camera-facing side of the hub: stream sources (RTSP via PyAV), ONVIF, and the camera simulator."""
