"""A small RTSP/1.0 server for the camera simulator.

Pure protocol functions over bytes: ``messages`` (requests, responses, Transport), ``sdp``,
``rtp`` (H.264 and H.265 packetization, RTCP) and ``auth`` (Basic and Digest). The asyncio side:
``server`` (listening, connections, session time-outs), ``methods`` (one answer per request),
``session`` (a client's session and its TCP or UDP way onto the wire), ``udp`` (the server's RTP
and RTCP ports) and ``streams`` (one camera stream: its playback, fault hooks and versions).
"""
