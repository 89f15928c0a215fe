"""The pure estimator core."""
