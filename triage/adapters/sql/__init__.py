"""SQL storage (SQLAlchemy 2 Core) for SQLite and PostgreSQL: tables, repositories, the unit of work."""
