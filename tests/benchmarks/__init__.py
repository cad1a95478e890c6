"""Training throughput with pytest-benchmark."""
