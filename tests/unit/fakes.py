"""Shared test data for the pure-module tests."""

# A fingerprint as alphabench.compat.fingerprint() returns it.
ENVIRONMENT = {
    "environment": "keras3-tensorflow",
    "keras_flavour": "keras3",
    "keras_version": "3.5.0",
    "backend": "tensorflow",
    "backend_version": "2.17.0",
    "python": "3.12.3",
    "numpy": "1.26.4",
    "cpu": "Test CPU",
    "cpu_count": 2,
    "platform": "linux",
}
