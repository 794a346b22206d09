"""The kollegan command and the composition root."""
