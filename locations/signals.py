"""Signals sent by locations.services, so apps above `locations` can react to its changes
without `locations` importing them (the import order in ARCHITECTURE.md points one way)."""

from django.dispatch import Signal

# Sent with `location=` inside the transaction that marks the location removed; receivers'
# writes commit or roll back with the removal. `api` deactivates the location's API clients.
location_removed = Signal()

# Sent with `location=` inside the transaction that creates or reconnects a GHL location; the
# inbox replays, after commit, the events that waited for it to be linked.
location_linked = Signal()
