"""Alerts: threshold rules with hysteresis (pure) and the MQTT publisher (asyncio, aiomqtt).

Importing this package imports nothing else; import the submodules (the engine stays free of asyncio).

Public API:

- :class:`monitor.alerts.rules.AlertEngine` — ``AlertEngine(config.alerts.rules, history=128)``; pure, one per
  process, for every market.

  - ``engine.evaluate(market, block, timestamp, {rule_name: value | None})`` -> :class:`~monitor.alerts.model.
    Evaluation` ``(events, state)``: the events to send, in order, and the market's state afterwards. A rule
    fires when its value crosses ``threshold`` in direction ``op`` (``above``: >, ``below``: <) and resolves
    after ``reset_blocks`` consecutive evaluations with data past ``reset`` (``above``: <, ``below``: >). A
    value in the band, or back past the threshold, restarts the count. ``None``/NaN (or a missing key) means
    no data: never fires or resolves, counted in ``RuleStatus.no_data``, neither advances nor breaks a reset
    count. A key that is not a rule raises :class:`~monitor.errors.DataError`.
  - ``engine.rollback(market, fork_block)`` after a reorg: reset counts go back to the fork block; alerts
    first fired after it become ``unconfirmed``. The next evaluation with data re-confirms each one silently
    (same id, no event) when its value is still past the threshold, else resolves it with an event of reason
    ``reorg``. Evaluating a block not above the last evaluated one implies ``rollback(market, block - 1)``.
    A resolution sent on an orphaned block stands (a new crossing fires a new alert with a new id).
    Between blocks (``data_age_s`` grows while no block arrives), evaluate the same block again on a timer
    with every rule's value: it replaces that block's evaluation, nothing is counted twice, and alerts that
    still hold stay silent under their ids.
  - ``engine.state(market)`` -> :class:`~monitor.alerts.model.MarketState` (per rule:
    :class:`~monitor.alerts.model.RuleStatus`: state ok|firing, unconfirmed, alert id, last value, levels,
    fired block, reset progress, no-data count); ``engine.active()`` -> firing alerts by rule name across
    markets (every rule present, 0 when quiet): the "alerts active by rule" metric.
  - ``engine.to_dict()`` / ``AlertEngine.from_dict(rules, data)``: JSON-ready state to persist across
    restarts. Restored under a changed config, alerts of removed rules resolve (reason ``rule_removed``) at the
    market's next evaluation; malformed data raises :class:`~monitor.errors.AlertStateError`.

- :class:`monitor.alerts.model.AlertEvent` — frozen: ``id`` (one per alert instance, firing to resolution: a
  hash of market, rule, first-firing block and the rule's firing count), ``rule``, ``kind``, ``severity``,
  ``market``, ``state`` firing|resolved, ``reason`` threshold|reset|reorg|rule_removed, ``value``,
  ``threshold``, ``block``, ``timestamp``, ``fired_block``. ``to_dict()`` / ``to_json()`` are the MQTT payload
  (non-finite numbers as null).

- :class:`monitor.alerts.mqtt.MqttPublisher` — ``MqttPublisher(config.mqtt, backoff_initial_s=0.5,
  backoff_max_s=30, keepalive_s=30, timeout_s=10, shutdown_grace_s=2)``; a bad ``ca_file`` or a wildcard in
  ``topic_prefix`` raises :class:`~monitor.errors.ConfigError`.

  - ``await publisher.run()`` as a named task until cancelled; never raises for broker trouble (it logs,
    counts and reconnects with capped exponential backoff, a refused login included). Cancelled, it flushes
    for up to ``shutdown_grace_s``, publishes ``offline`` and disconnects.
  - ``publisher.publish(event)`` (QoS 1 on ``<prefix>/<market>/alerts/<rule>``) and
    ``publisher.publish_state(state)`` (retained, QoS 1 on ``<prefix>/<market>/state``; only the newest per
    market waits): non-blocking, call from the loop's thread. Events wait in a FIFO outbox of ``outbox_size``
    while the broker is down (full: the oldest is dropped and counted) and go out in order, one at a time,
    each removed on PUBACK; the one in flight at a break is sent again (a QoS 1 duplicate with the same id).
  - ``<prefix>/status``: retained ``online`` on connect, ``offline`` as last will and on shutdown.
  - ``publisher.stats()`` -> :class:`~monitor.alerts.mqtt.MqttStats` (frozen): ``connected``, ``published``,
    ``state_published``, ``dropped``, ``queued``, ``reconnects``, ``connect_failures``, ``auth_failures``,
    ``last_error`` — for the Prometheus exporter.
  - mqtt:// or mqtts:// (verifying TLS against ``ca_file`` or the system CAs), username/password from the
    config (or the URL's user info); logs show URLs only via :func:`monitor.config.redact_url`, never the
    password.

Wiring, per market and block: ``ev = engine.evaluate(...)``; ``for e in ev.events: publisher.publish(e)``;
``publisher.publish_state(ev.state)``; persist ``engine.to_dict()`` with the checkpoint.
"""
