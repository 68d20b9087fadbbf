"""Data and lookups, no constructs: hosting instances, Deep Learning Container images, pipeline tasks."""
