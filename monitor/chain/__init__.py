"""Talking to the chain: ABI encoding (pure) and the one RPC owner every reader asks.

Public API:

- :class:`monitor.chain.rpc.RpcClient` — the one async JSON-RPC client (aiohttp, raw JSON-RPC, no web3).
  ``async with RpcClient(config.chain) as rpc:`` checks every endpoint's chain id (a mismatch raises
  :class:`~monitor.errors.ChainIdMismatchError`; no endpoint answering raises
  :class:`~monitor.errors.RpcTransportError`). Then:

  - ``await rpc.call(method, params)`` / ``await rpc.batch([(method, params), ...], return_errors=False)``
    — raw requests; batches go out in chunks of ``batch_size``, concurrently;
  - ``eth_call(to, data, block, state_override=None)``, ``eth_calls([(to, data), ...], block)`` (batched),
    ``get_logs(LogFilter)``, ``block(number_or_tag)``, ``blocks([numbers])``, ``block_number()``,
    ``get_code(address, block)``, ``chain_id()``. Reads of a refresh take an explicit block number.
  - ``rpc.stats()`` — an immutable :class:`~monitor.chain.stats.RpcStats` snapshot: ``requests`` and
    ``retries`` by (method, endpoint), ``errors`` by (method, endpoint, kind) with kind in transport, timeout,
    http_status, malformed, rpc_error, chain_id; ``http_requests``/``http_seconds`` by endpoint; ``failovers``.

  Behaviour: at most ``max_concurrency`` HTTP requests in flight; optional ``requests_per_second`` token
  bucket (a batch costs one token per item); a hard ``request_timeout_s`` per HTTP request; idempotent reads
  (:data:`monitor.chain.retry.IDEMPOTENT_METHODS`) retried up to ``max_retries`` times with capped exponential
  backoff and full jitter (Retry-After honoured), moving to the next endpoint in ``rpc_urls`` order while a
  failed one cools down; anything else (eth_sendTransaction, ...) is sent once, except that a refused
  connection (never delivered) may move to the next endpoint. Malformed answers (not JSON, wrong types,
  missing result, batch of the wrong length or ids) raise :class:`~monitor.errors.MalformedResponseError`
  and count as errors (and are retried); JSON-RPC error objects (reverts) raise
  :class:`~monitor.errors.RpcResponseError` and are never retried. Endpoints appear in messages, logs and
  stats only as :func:`monitor.config.redact_url` labels.
- :class:`monitor.chain.model.Block`, :class:`~monitor.chain.model.Log`, :class:`~monitor.chain.model.LogFilter`
  — the plain values the client returns and takes.
- :mod:`monitor.chain.abi` — build call -> execute -> decode: ``Abi``, ``AbiFunction``, ``AbiEvent``.
- :mod:`monitor.chain.follow` — the reorg-safe log follower of one market (sans-I/O state machine, driver,
  checkpoint), protocol-neutral.
- Pure helpers: :mod:`~monitor.chain.jsonrpc` (envelopes, typed results; the devnet's sync client uses them
  too), :mod:`~monitor.chain.retry` (the one retry policy: RPC retries, MQTT reconnects, failed cycles),
  :mod:`~monitor.chain.ratelimit`, :mod:`~monitor.chain.endpoints`, :mod:`~monitor.chain.stats`.
"""
