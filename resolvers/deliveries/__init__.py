"""Notification delivery outside the app (docs/notifications.md): which channels a notification goes
to (`planning`), the job queue it waits in (`queue`), sending one delivery once (`sending`), the
channels themselves (`email`, `webhook`), members' preferences and webhooks, and unsubscribing."""
