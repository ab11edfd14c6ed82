"""ML building blocks shared by training and serving: encoders, estimators, artifact loading."""
