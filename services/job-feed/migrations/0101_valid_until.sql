-- The day a posting stops being valid (from its content), so the hourly sweep finds expired
-- postings without reading every posting's JSON.
ALTER TABLE postings ADD COLUMN valid_until date;
UPDATE postings SET valid_until = (content::jsonb ->> 'valid_until')::date;
ALTER TABLE postings ALTER COLUMN valid_until SET NOT NULL;
CREATE INDEX postings_expiring ON postings (valid_until) WHERE NOT withdrawn;
