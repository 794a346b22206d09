"""iCalendar/iMIP normalisation and (later) calendar providers."""
