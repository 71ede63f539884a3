"""The transactional outbox (事件发件箱): events written in the caller's transaction and
delivered to consumers after commit by the worker."""
