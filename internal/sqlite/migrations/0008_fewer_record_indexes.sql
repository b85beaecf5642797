-- An impact filter is served by the index of the other filters it comes
-- with, or by the creation-time index: impact has five values, so a page
-- of records of one impact is found after a short walk. Each index of
-- incident_records costs a page written per change of its columns and
-- about 140 bytes a record.
DROP INDEX incident_records_by_impact;
DROP INDEX incident_records_by_status_impact;
