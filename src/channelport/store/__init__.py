"""Storage: the only package that writes SQL. SQLite by default, PostgreSQL to scale out."""
