"""The SQL repository: SQLAlchemy models and ``SqlImageRepository`` over an oslo.db engine."""
