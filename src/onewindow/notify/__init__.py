"""In-app notifications (站内消息): one row per recipient per event, rendered in the reader's
language when shown."""
