"""asyncio glue: sockets, timers, control API, config, metrics, persistence."""
