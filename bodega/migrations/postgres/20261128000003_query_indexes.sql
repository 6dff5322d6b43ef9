-- Indexes for the query API: district windows (crime view, daily snapshot, aggregates) and
-- calls for service by district.
CREATE INDEX incidents_district_time ON incidents (district_code, occurred_at);
CREATE INDEX calls_district_time ON calls_for_service (district_code, received_at);
