-- The offence index cost every load one more B-tree insert per incident and served mainly the
-- classification of offence texts no map knew. Incidents are now classified as they load, so
-- the unclassified are few: a partial index holds just them (classification and the "offence
-- texts with no class" list read it); grouping by offence scans the table either way.
DROP INDEX incidents_offense;
CREATE INDEX incidents_unclassified ON incidents (offense) WHERE nibrs_code IS NULL;
