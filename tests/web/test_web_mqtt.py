"""With an MQTT sink beside it, the web view reports the broker connection: /metrics' MQTT gauges and
/api/stats' mqtt block follow a real mosquitto going away and coming back."""

from __future__ import annotations

from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from ..mqtt.conftest import Broker
from .conftest import get, web_config


def mqtt_gauges(url: str) -> dict[str, float]:
    text = get(url + "metrics").body.decode()
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name.startswith("edgecv_mqtt_")
    }


def test_mqtt_state_in_metrics_and_stats(web_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    broker = Broker(tmp_path)
    broker.start()
    try:
        config = web_config()
        config["mqtt"] = {"host": "127.0.0.1", "port": broker.port, "spool": False}
        run = web_run(config)
        url = run.wait_url()
        run.wait_for(lambda: mqtt_gauges(url).get("edgecv_mqtt_connected") == 1.0, what="MQTT connected")
        assert "edgecv_mqtt_queue_depth" in mqtt_gauges(url)
        stats = get(url + "api/stats").json()
        assert stats["mqtt"]["enabled"] is True and stats["mqtt"]["connected"] is True  # type: ignore[index]
        broker.stop()
        run.wait_for(lambda: mqtt_gauges(url).get("edgecv_mqtt_connected") == 0.0, what="MQTT disconnected")
        # Detections keep coming while the broker is away: they wait in the queue.
        run.wait_for(lambda: mqtt_gauges(url)["edgecv_mqtt_queue_depth"] > 0, what="a queue")
        broker.start()
        run.wait_for(lambda: mqtt_gauges(url).get("edgecv_mqtt_connected") == 1.0, what="MQTT reconnected")
    finally:
        broker.stop()
