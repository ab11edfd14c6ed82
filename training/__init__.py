"""Offline training and evaluation; logs to MLflow. Never imported by the API."""
