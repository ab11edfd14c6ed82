"""HTTP service (FastAPI). Routes arrive with the intake/service issue; the core it will call is `triage.engine.factory.build_pipeline`."""
