"""Tickets for the grid-management system: payload, signature, outbox and the delivery worker.

An event's ticket is written to the outbox (the ``tickets`` table) in the same transaction that
closes the event, and :class:`hub.tickets.delivery.TicketDeliverer` posts it until the grid
system acknowledges it. A ticket is never dropped: every failure is a retry with back-off.
"""
