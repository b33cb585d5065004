"""Publishing to an MQTT broker: topics, payload contract, client, offline queue, spool, discovery, sink.

paho-mqtt is imported only by :mod:`.client`, so the rest of edgecv imports on machines without it.
"""
