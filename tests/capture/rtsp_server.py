"""A loopback RTSP camera for the stream tests, run by the system ``/usr/bin/python3`` (its GStreamer
bindings: Debian's ``gir1.2-gst-rtsp-server-1.0``, which the venv does not see).

``rtsp_server.py CODEC [USER:PASSWORD]`` serves a 160x120, 10 fps test pattern at ``/cam`` on a free
loopback port and prints that port on its first line. CODEC is ``vp8`` (FFmpeg decodes it) or ``x-gst``
(GStreamer's own payload, which FFmpeg cannot decode: the unsupported-codec case). With credentials, the
server asks for them (Basic). It stops when its stdin closes, so it never outlives the test.
"""

from __future__ import annotations

import sys
import threading

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402 - after require_version, as gi requires

PAYLOADERS = {
    "vp8": "vp8enc deadline=1 keyframe-max-dist=10 ! rtpvp8pay name=pay0 pt=96",
    "x-gst": "rtpgstpay name=pay0 pt=96",
}


def main() -> int:
    codec = sys.argv[1]
    Gst.init(None)
    server = GstRtspServer.RTSPServer()
    server.set_address("127.0.0.1")
    server.set_service("0")  # a free port, read back below
    factory = GstRtspServer.RTSPMediaFactory()
    factory.set_launch(
        "( videotestsrc is-live=true pattern=ball ! video/x-raw,width=160,height=120,framerate=10/1 ! "
        f"{PAYLOADERS[codec]} )"
    )
    factory.set_shared(True)
    if len(sys.argv) > 2:
        user, _, password = sys.argv[2].partition(":")
        auth = GstRtspServer.RTSPAuth()
        token = GstRtspServer.RTSPToken()
        token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, "user")
        auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
        server.set_auth(auth)
        permissions = GstRtspServer.RTSPPermissions()
        permissions.add_role("user")
        permissions.add_permission_for_role("user", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
        permissions.add_permission_for_role("user", GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True)
        factory.set_permissions(permissions)
    server.get_mount_points().add_factory("/cam", factory)
    if server.attach(None) == 0:
        print("could not listen", file=sys.stderr)
        return 1
    print(server.get_bound_port(), flush=True)
    loop = GLib.MainLoop()
    threading.Thread(target=lambda: (sys.stdin.read(), loop.quit()), daemon=True).start()
    loop.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
