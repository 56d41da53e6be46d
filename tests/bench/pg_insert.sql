-- pgbench script: one durable one-row INSERT per transaction (synchronous_commit on).
INSERT INTO bench_rows (v) VALUES ('strongroom-bench-row');
