"""Signals sent by locations.services, so apps above `locations` can react to its changes
without `locations` importing them (the import order in ARCHITECTURE.md points one way)."""

from django.dispatch import Signal

# Sent with `location=` inside the transaction that marks the location removed; receivers'
# writes commit or roll back with the removal. `api` deactivates the location's API clients.
location_removed = Signal()

# Sent with `workspace_id=` inside the transaction of any change that makes a location start or
# stop counting for billing (created; reconnected; disconnected; removed): billing updates the
# subscription's additional-location quantity after commit.
billed_locations_changed = Signal()

# Sent with `location=` inside the transaction that creates or reconnects a GHL location; the
# inbox replays, after commit, the events that waited for it to be linked.
location_linked = Signal()
