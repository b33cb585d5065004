"""Regenerate docs/mqtt.md and docs/schemas/*.json from the MQTT payload models (``--check``: verify)."""

import sys

from edgecv.mqtt.docs import main

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
