"""Mail out: compose, render templates, send."""
