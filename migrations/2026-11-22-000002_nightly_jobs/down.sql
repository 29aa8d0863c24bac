DROP TABLE lookup_sources;
DROP TABLE job_runs;
