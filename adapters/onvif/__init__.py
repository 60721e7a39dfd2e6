"""ONVIF cameras: WS-Discovery (``wsdiscovery``, ``discovery``), the device client (``client``),
PTZ (``ptz``), PullPoint events (``events``), and the one error map (``errors``)."""
